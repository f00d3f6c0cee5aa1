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

/* The store_event of m in room (as spelled), its strings pointing into m
 * and the caller's buffers (target: ROOM_LEN_MAX + 1, sender:
 * HUB_MASK_MAX). */
static void
history_event(const struct msg *m, enum store_kind kind, const char *room,
    char *target, char *sender, struct store_event *e)
{
	memset(e, 0, sizeof *e);
	memcpy(e->msgid, m->id, sizeof e->msgid);
	e->at_ms = m->at_ms;
	e->kind = kind;
	snprintf(target, ROOM_LEN_MAX + 1, "%s", room);
	name_fold(target, target);
	e->target = target;
	snprintf(sender, HUB_MASK_MAX, "%s!%s@%s", m->from, m->ident != NULL ? m->ident : "",
	    m->host != NULL ? m->host : "");
	e->sender = sender;
	e->tags = m->client_tags;
	e->bot = m->from_bot;
}

static void
history_append(struct history *h, const struct msg *m, enum store_kind kind,
    const char *room, const char *text, const char *extra)
{
	char target[ROOM_LEN_MAX + 1], sender[HUB_MASK_MAX];
	struct store_event e;
	history_event(m, kind, room, target, sender, &e);
	e.text = text;
	e.extra = extra;
	/* A full batch (the disk far behind) loses the event, counted by
	 * the store; the pending batch is not empty then anyway. */
	if (store_append(h->store, &e) == 0)
		h->pending++;
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
		history_append(h, m, kind, r->name, text, extra);
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

static void
history_observe(void *ctx, struct msg *m, const struct audience *to)
{
	struct history *h = ctx;
	/* Room events only: a private message or notice has no room. */
	int in_room = m->room != NULL && (to->shape == AUD_ROOM);
	switch (m->kind) {
	case MSG_SAY:
		if (in_room)
			history_append(h, m, SK_PRIVMSG, m->room, m->text, NULL);
		break;
	case MSG_ACTION:
		if (in_room)
			history_append(h, m, SK_ACTION, m->room, m->text, NULL);
		break;
	case MSG_NOTICE:
		if (in_room)
			history_append(h, m, SK_NOTICE, m->room, m->text, NULL);
		break;
	case MSG_TAGMSG:
		if (in_room && tagmsg_kept(m->client_tags))
			history_append(h, m, SK_TAGMSG, m->room, NULL, NULL);
		break;
	case MSG_JOIN:
		if (in_room)
			history_append(h, m, SK_JOIN, m->room, NULL, NULL);
		break;
	case MSG_PART:
		if (in_room)
			history_append(h, m, SK_PART, m->room, m->text, NULL);
		break;
	case MSG_TOPIC:
		if (in_room)
			history_append(h, m, SK_TOPIC, m->room, m->text, NULL);
		break;
	case MSG_KICK:
		if (in_room)
			history_append(h, m, SK_KICK, m->room, m->text, m->target);
		break;
	case MSG_MODE:
		if (in_room)
			history_append(h, m, SK_MODE, m->room, m->text, NULL);
		break;
	case MSG_QUIT:
		history_each_room(h, m, to, SK_QUIT, m->text, NULL);
		break;
	case MSG_NICK:
		history_each_room(h, m, to, SK_NICK, NULL, m->target);
		break;
	case MSG_REDACT:
		if (in_room && store_redact(h->store, m->ref) == 0)
			h->pending++;
		break;
	default:
		/* Private messages (issue 13), away, setname, chghost,
		 * invites, arrivals and user modes are not history. */
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
	return h->pending > 0;
}

uint64_t
history_seal(struct history *h)
{
	h->pending = 0;
	return store_seal(h->store);
}
