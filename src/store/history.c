/* The history observer (history.h): hub events in, store events out. */
#include "store/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/hub.h"
#include "chat/names.h"
#include "store/store.h"

struct history {
	struct store *store;
	uint64_t pending;             /* appends and redactions since the seal */
};

/* s at at, cut where end is; where the next goes. By hand, as
 * snprintf cost more than the rest of making the event. */
static char *
put(char *at, const char *end, const char *s)
{
	size_t n = strlen(s);
	if (n > (size_t)(end - at))
		n = (size_t)(end - at);
	memcpy(at, s, n);
	return at + n;
}

/* s at at, then the character after (when there is room for it). */
static char *
put_then(char *at, const char *end, const char *s, char after)
{
	at = put(at, end, s);
	if (at < end)
		*at++ = after;
	return at;
}

/* The store_event of m under target (a room's key: its folded name, as
 * the hub keeps it; or a private conversation's key), its strings
 * pointing into m and the caller's sender buffer (HUB_MASK_MAX). */
static void
history_event(const struct msg *m, enum store_kind kind, const char *target,
    char *sender, struct store_event *e)
{
	memset(e, 0, sizeof *e);
	memcpy(e->msgid, m->id, sizeof e->msgid);
	e->at_ms = m->at_ms;
	e->kind = kind;
	e->target = target;
	e->account = m->account[0] != '\0' ? m->account : NULL;
	const char *end = sender + HUB_MASK_MAX - 1;
	char *at = put_then(sender, end, m->from, '!');
	at = put_then(at, end, m->ident != NULL ? m->ident : "", '@');
	*put(at, end, m->host != NULL ? m->host : "") = '\0';
	e->sender = sender;
	e->tags = m->client_tags;
	e->bot = m->from_bot;
}

static void
history_append(struct history *h, const struct msg *m, enum store_kind kind,
    const char *target, const char *text, const char *extra)
{
	char sender[HUB_MASK_MAX];
	struct store_event e;
	history_event(m, kind, target, sender, &e);
	e.text = text;
	e.extra = extra;
	/* A full batch (the disk far behind) loses the event, counted by
	 * the store; the pending batch is not empty then anyway. */
	if (store_append(h->store, &e) == 0)
		h->pending++;
}

/* A room event's target: its room's key, which the hub folded once
 * (name_fold(m->room): the room was found by it, or made with it); m's
 * room folded into buf when the audience names no room. */
static const char *
room_target(const struct msg *m, const struct audience *to, char buf[STORE_TARGET_MAX + 1])
{
	if (to->room != NULL)
		return to->room->key;
	snprintf(buf, STORE_TARGET_MAX + 1, "%s", m->room);
	name_fold(buf, buf);
	return buf;
}

static void
history_room(struct history *h, const struct msg *m, const struct audience *to,
    enum store_kind kind, const char *text, const char *extra)
{
	char buf[STORE_TARGET_MAX + 1];
	history_append(h, m, kind, room_target(m, to, buf), text, extra);
}

/* A quit or a nick change is stored in each room its user was in (it
 * still is, while the observers hear of it). */
static void
history_each_room(struct history *h, const struct msg *m, const struct audience *to,
    enum store_kind kind, const char *text, const char *extra)
{
	if (to->shape != AUD_NEIGHBOURS || to->user == NULL)
		return;
	const struct room *r;
	for (unsigned i = 0; (r = hub_user_room(to->user, i)) != NULL; i++)
		history_append(h, m, kind, r->key, text, extra);
}

/* A TAGMSG is history when it carries something besides typing
 * notifications (a reaction, a reply): those would be most of the rows. */
static int
tagmsg_kept(const char *tags)
{
	static const char *const fleeting[] = { "+typing", "+draft/typing" };
	for (const char *p = tags; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ";"), key = strcspn(p, "=;");
		int typing = 0;
		for (size_t i = 0; i < sizeof fleeting / sizeof fleeting[0]; i++)
			if (key == strlen(fleeting[i]) && strncmp(p, fleeting[i], key) == 0)
				typing = 1;
		if (!typing)
			return 1;
		p += n + (p[n] == ';');
	}
	return 0;
}

/* A private message, notice, action or TAGMSG (extra: the recipient's
 * nick as it was, to show it again as it was sent). Between two
 * logged-in users: under their accounts' pair. Between a logged-in user
 * and a nick that is not: under the logged-in account only, the other
 * side by nick (store_half_target), for that account alone to read: a
 * nickname is nobody's identity. Between two who are not logged in:
 * nothing. */
/* The key a private message from m's sender to to's user is kept
 * under: the pair of their accounts, or the one-sided key of the one
 * logged in; -1 when neither is (nothing is kept). */
static int
private_key(const struct msg *m, const struct audience *to, char key[STORE_TARGET_MAX + 1])
{
	if (m->account[0] != '\0' && to->user->account[0] != '\0')
		store_pair_target(m->account, to->user->account, key);
	else if (m->account[0] != '\0')
		store_half_target(m->account, to->user->nick, key);
	else if (to->user->account[0] != '\0')
		store_half_target(to->user->account, m->from, key);
	else
		return -1;
	return 0;
}

static void
history_private(struct history *h, const struct msg *m, const struct audience *to,
    enum store_kind kind)
{
	if (m->room != NULL || to->shape != AUD_USER || to->user == NULL || m->target == NULL)
		return;
	if (kind == SK_TAGMSG && !tagmsg_kept(m->client_tags))
		return;
	char key[STORE_TARGET_MAX + 1];
	if (private_key(m, to, key) == 0)
		history_append(h, m, kind, key, kind == SK_TAGMSG ? NULL : m->text, m->target);
}

/* A room's message taken back, or a private one (kept or not: a msgid
 * the store does not hold changes nothing), found by its target and
 * msgid: the key it was kept under, its sender's and recipient's as
 * history_private made it. */
static void
history_redact(struct history *h, const struct msg *m, const struct audience *to,
    int in_room)
{
	char buf[STORE_TARGET_MAX + 1];
	const char *target = buf;
	if (in_room)
		target = room_target(m, to, buf);
	else if (to->shape != AUD_USER || to->user == NULL || private_key(m, to, buf) != 0)
		return;
	if (store_redact(h->store, target, m->ref) == 0)
		h->pending++;
}

static void
history_observe(void *ctx, struct msg *m, const struct audience *to)
{
	struct history *h = ctx;
	/* Room events, and private messages between accounts. */
	int in_room = m->room != NULL && (to->shape == AUD_ROOM);
	switch (m->kind) {
	case MSG_PRIVATE:
		history_private(h, m, to, SK_PRIVMSG);
		break;
	case MSG_SAY:
		if (in_room)
			history_room(h, m, to, SK_PRIVMSG, m->text, NULL);
		break;
	case MSG_ACTION:
		if (in_room)
			history_room(h, m, to, SK_ACTION, m->text, NULL);
		else
			history_private(h, m, to, SK_ACTION);
		break;
	case MSG_NOTICE:
		if (in_room)
			history_room(h, m, to, SK_NOTICE, m->text, NULL);
		else
			history_private(h, m, to, SK_NOTICE);
		break;
	case MSG_TAGMSG:
		if (in_room && tagmsg_kept(m->client_tags))
			history_room(h, m, to, SK_TAGMSG, NULL, NULL);
		else if (!in_room)
			history_private(h, m, to, SK_TAGMSG);
		break;
	case MSG_JOIN:
		if (in_room)
			history_room(h, m, to, SK_JOIN, NULL,
			    m->account[0] != '\0' ? m->account : NULL);
		break;
	case MSG_PART:
		if (in_room)
			history_room(h, m, to, SK_PART, m->text, NULL);
		break;
	case MSG_TOPIC:
		if (in_room)
			history_room(h, m, to, SK_TOPIC, m->text, NULL);
		break;
	case MSG_KICK:
		if (in_room)
			history_room(h, m, to, SK_KICK, m->text, m->target);
		break;
	case MSG_MODE:
		if (in_room)
			history_room(h, m, to, SK_MODE, m->text, NULL);
		break;
	case MSG_QUIT:
		history_each_room(h, m, to, SK_QUIT, m->text, NULL);
		break;
	case MSG_NICK:
		history_each_room(h, m, to, SK_NICK, NULL, m->target);
		break;
	case MSG_REDACT:
		history_redact(h, m, to, in_room);
		break;
	default:
		/* Away, setname, chghost, invites, arrivals, logins and
		 * user modes are not history. */
		break;
	}
}

struct history *
history_new(struct hub *hub, struct store *s)
{
	struct history *h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	h->store = s;
	if (hub_observe(hub, history_observe, h) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

void
history_free(struct history *h)
{
	free(h);
}

int
history_pending(const struct history *h)
{
	/* Registered rooms' saves (rooms.c) go in the same batch. */
	return h->pending > 0 || store_pending(h->store);
}

uint64_t
history_seal(struct history *h)
{
	h->pending = 0;
	return store_seal(h->store);
}
