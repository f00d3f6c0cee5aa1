/* Room modes: who may change them, what each does to the room, and the
 * MODE events that tell the room what changed (and, from elsewhere, the
 * changes such an event tells of: hub_modes_apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "chat/hub.h"
#include "chat/hub_emit.h"
#include "chat/hub_state.h"

static const struct {
	char letter;
	uint8_t bit;
} room_flags[] = {
	{ 'i', RMODE_INVITE },
	{ 'm', RMODE_MODERATED },
	{ 'n', RMODE_NOEXTERNAL },
	{ 's', RMODE_SECRET },
	{ 't', RMODE_TOPIC },
};

#define NFLAGS (sizeof room_flags / sizeof room_flags[0])

static uint8_t
flag_bit(char letter)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (room_flags[i].letter == letter)
			return room_flags[i].bit;
	return 0;
}

void
hub_room_mode_string(const struct room *room, int show_key, char *buf, size_t cap)
{
	char letters[16] = "+", args[128] = "";
	size_t n = 1;
	for (size_t i = 0; i < NFLAGS; i++)
		if (room->modes & room_flags[i].bit)
			letters[n++] = room_flags[i].letter;
	if (room->password != NULL) {
		letters[n++] = 'k';
		snprintf(args + strlen(args), sizeof args - strlen(args), " %s",
		    show_key ? room->password : "*");
	}
	if (room->limit > 0) {
		letters[n++] = 'l';
		snprintf(args + strlen(args), sizeof args - strlen(args), " %u", room->limit);
	}
	letters[n] = '\0';
	snprintf(buf, cap, "%s%s", letters, args);
}

static enum hub_status
member_mode(struct hub *hub, struct room *room, struct hub_mode *m)
{
	if (m->arg == NULL)
		return HUB_ENEEDARG;
	struct user *target = hub_user_find(hub, m->arg);
	if (target == NULL)
		return HUB_ENONICK;
	struct member *mem = hub_member(room, target);
	if (mem == NULL)
		return HUB_EUSERNOTIN;
	uint8_t bit = m->letter == 'o' ? MEMBER_OP : MEMBER_VOICE;
	if (bit == MEMBER_OP)
		hub_room_op_changed(room, target, m->on);
	if (m->on)
		mem->modes |= bit;
	else
		mem->modes &= (uint8_t)~bit;
	m->arg = target->nick; /* announced as the room knows it */
	return HUB_OK;
}

int
hub_room_list(struct room *room, char letter, struct ban ***list, uint32_t **n)
{
	switch (letter) {
	case 'b':
		*list = &room->bans;
		*n = &room->nbans;
		return 0;
	case 'e':
		*list = &room->excepts;
		*n = &room->nexcepts;
		return 0;
	case 'I':
		*list = &room->invexes;
		*n = &room->ninvexes;
		return 0;
	}
	return -1;
}

/* A mask must fit its bound and survive being announced in a MODE line:
 * no spaces or control characters, no leading ':' (which would make it the
 * line's last parameter), not empty. */
static int
mask_valid(const char *mask)
{
	size_t n = strlen(mask);
	if (n == 0 || n > HUB_LIST_MASK_MAX || mask[0] == ':')
		return 0;
	for (; *mask; mask++)
		if ((unsigned char)*mask <= ' ' || *mask == 0x7F)
			return 0;
	return 1;
}

/* +b, +e or +I: a mask added to or taken from its list. The three lists
 * of a room share HUB_MASKS_PER_ROOM, and all rooms HUB_MASKS_TOTAL. */
static enum hub_status
list_mode(struct hub *hub, struct room *room, struct hub_mode *m, const struct user *by)
{
	if (m->arg == NULL)
		return HUB_ENEEDARG;
	struct ban **list;
	uint32_t *n;
	if (hub_room_list(room, m->letter, &list, &n) < 0)
		return HUB_EUNKNOWNMODE;
	for (uint32_t i = 0; i < *n; i++) {
		if (strcmp((*list)[i].mask, m->arg) != 0)
			continue;
		if (m->on)
			return HUB_EALREADY;
		free((*list)[i].mask);
		(*list)[i] = (*list)[--*n];
		hub->nmasks--;
		return HUB_OK;
	}
	if (!m->on)
		return HUB_EALREADY;
	if (!mask_valid(m->arg))
		return HUB_ENEEDARG;
	if (room->nbans + room->nexcepts + room->ninvexes >= HUB_MASKS_PER_ROOM ||
	    hub->nmasks >= HUB_MASKS_TOTAL)
		return HUB_EBANLIST;
	struct ban *grown = realloc(*list, (*n + 1) * sizeof *grown);
	if (grown == NULL)
		return HUB_ENOMEM;
	*list = grown;
	struct ban *b = &grown[*n];
	if ((b->mask = strdup(m->arg)) == NULL)
		return HUB_ENOMEM;
	snprintf(b->by, sizeof b->by, "%s", by->nick);
	b->at = clock_now_s();
	++*n;
	hub->nmasks++;
	return HUB_OK;
}

void
hub_room_clear_masks(struct hub *hub, struct room *room)
{
	struct ban **lists[3] = { &room->bans, &room->excepts, &room->invexes };
	uint32_t *counts[3] = { &room->nbans, &room->nexcepts, &room->ninvexes };
	for (int l = 0; l < 3; l++) {
		for (uint32_t i = 0; i < *counts[l]; i++)
			free((*lists[l])[i].mask);
		hub->nmasks -= *counts[l];
		*counts[l] = 0;
	}
}

int
hub_room_restore_mask(struct hub *hub, struct room *room, char letter, const char *mask,
    const char *by, time_t at)
{
	struct hub_mode m = { .letter = letter, .on = 1, .arg = mask };
	if (list_mode(hub, room, &m, &hub_service) != HUB_OK)
		return -1;
	struct ban **list = NULL;
	uint32_t *n = NULL;
	if (hub_room_list(room, letter, &list, &n) < 0 || *n == 0)
		return -1;
	struct ban *b = &(*list)[*n - 1];
	snprintf(b->by, sizeof b->by, "%s",
	    hub_word_valid(by, sizeof b->by - 1) ? by : hub_service.nick);
	b->at = at;
	return 0;
}

static enum hub_status
key_mode(struct room *room, struct hub_mode *m)
{
	if (!m->on) {
		if (room->password == NULL)
			return HUB_EALREADY;
		free(room->password);
		room->password = NULL;
		m->arg = "*";
		return HUB_OK;
	}
	if (!hub_key_valid(m->arg))
		return HUB_ENEEDARG;
	char *key = strdup(m->arg);
	if (key == NULL)
		return HUB_ENOMEM;
	free(room->password);
	room->password = key;
	return HUB_OK;
}

static enum hub_status
limit_mode(struct room *room, struct hub_mode *m)
{
	if (!m->on) {
		if (room->limit == 0)
			return HUB_EALREADY;
		room->limit = 0;
		m->arg = NULL;
		return HUB_OK;
	}
	if (m->arg == NULL)
		return HUB_ENEEDARG;
	char *end;
	long n = strtol(m->arg, &end, 10);
	if (*end != '\0' || n <= 0 || n > HUB_LIMIT_MAX)
		return HUB_ENEEDARG;
	room->limit = (uint32_t)n;
	/* Announced as the number, not as typed ("0000...05"). */
	snprintf(m->num, sizeof m->num, "%ld", n);
	m->arg = m->num;
	return HUB_OK;
}

static enum hub_status
apply(struct hub *hub, struct room *room, struct hub_mode *m, const struct user *by)
{
	switch (m->letter) {
	case 'o':
	case 'v':
		return member_mode(hub, room, m);
	case 'b':
	case 'e':
	case 'I':
		return list_mode(hub, room, m, by);
	case 'k':
		return key_mode(room, m);
	case 'l':
		return limit_mode(room, m);
	}
	uint8_t bit = flag_bit(m->letter);
	if (bit == 0)
		return HUB_EUNKNOWNMODE;
	if (!!(room->modes & bit) == !!m->on)
		return HUB_EALREADY;
	if (m->on)
		room->modes |= bit;
	else
		room->modes &= (uint8_t)~bit;
	m->arg = NULL;
	return HUB_OK;
}

/* The MODE text being built: "+o-v" and " bob carol", told to the room
 * when it is full or done. */
struct mode_text {
	char letters[HUB_MODE_TEXT_MAX + 1];
	char args[HUB_MODE_TEXT_MAX + 1];
	size_t nl, na;
	int sign;
};

static void
mode_flush(struct hub *hub, struct user *u, struct room *room, struct mode_text *t)
{
	if (t->nl == 0)
		return;
	char change[2 * HUB_MODE_TEXT_MAX + 2];
	snprintf(change, sizeof change, "%.*s%.*s", (int)t->nl, t->letters, (int)t->na, t->args);
	t->nl = t->na = 0;
	t->sign = -1;
	struct msg *msg = hub_msg(hub, MSG_MODE, u, room->name, NULL, change);
	if (msg == NULL)
		return;
	hub_emit(hub, msg, &(struct audience){ .shape = AUD_ROOM, .room = room });
	msg_unref(msg);
}

/* Adds one applied change; a change that would make the text longer than
 * HUB_MODE_TEXT_MAX goes in the next MODE event, so every applied change
 * is told, and every MODE line fits 512 bytes. */
static void
mode_add(struct hub *hub, struct user *u, struct room *room, struct mode_text *t,
    const struct hub_mode *m)
{
	size_t arg = m->arg != NULL ? strlen(m->arg) + 1 : 0;
	if (t->nl + 2 + t->na + arg > HUB_MODE_TEXT_MAX)
		mode_flush(hub, u, room, t);
	if (t->sign != m->on) {
		t->letters[t->nl++] = m->on ? '+' : '-';
		t->sign = m->on;
	}
	t->letters[t->nl++] = m->letter;
	if (arg > 0) {
		t->args[t->na++] = ' ';
		memcpy(t->args + t->na, m->arg, arg - 1);
		t->na += arg - 1;
	}
}

void
hub_room_modes(struct hub *hub, struct user *u, struct room *room,
    struct hub_mode *modes, int n)
{
	const struct member *me = hub_member(room, u);
	int op = me != NULL && (me->modes & MEMBER_OP);
	struct mode_text t = { .sign = -1 };
	for (int i = 0; i < n; i++) {
		struct hub_mode *m = &modes[i];
		if (flag_bit(m->letter) == 0 && strchr("ovbeIkl", m->letter) == NULL)
			m->result = HUB_EUNKNOWNMODE;
		else if (!op)
			m->result = HUB_ECHANOP;
		else
			m->result = apply(hub, room, m, u);
		if (m->result == HUB_OK)
			mode_add(hub, u, room, &t, m);
	}
	mode_flush(hub, u, room, &t);
}

/* Whether a letter's change carries an argument in a MODE event's text,
 * as mode_add writes it. */
static int
takes_arg(char letter, int on)
{
	return strchr("ovbeIk", letter) != NULL || (letter == 'l' && on);
}

void
hub_modes_apply(struct hub *hub, struct user *by, struct room *room, const char *text)
{
	char copy[2 * HUB_MODE_TEXT_MAX + 2];
	snprintf(copy, sizeof copy, "%s", text);
	char *args = strchr(copy, ' ');
	if (args != NULL)
		*args++ = '\0';
	int on = 1;
	for (const char *p = copy; *p; p++) {
		if (*p == '+' || *p == '-') {
			on = *p == '+';
			continue;
		}
		struct hub_mode m = { .letter = *p, .on = on };
		if (takes_arg(*p, on)) {
			m.arg = args != NULL ? strsep(&args, " ") : NULL;
			if (m.arg == NULL)
				return;
		}
		apply(hub, room, &m, by);
	}
}
