/* ChanServ, for registered rooms (issue 13): "/msg ChanServ REGISTER
 * #room" by a logged-in operator of the room, DROP by its founder (or a
 * server operator), INFO by anyone who may see the room; answered as
 * NOTICEs from ChanServ. Nobody can hold the nickname ChanServ
 * (names.c), so what is said to it never reaches a user. The hub keeps
 * the registration; store/rooms.h saves it through the history writer,
 * in the same epoch as the events around it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "doors/irc/irc.h"
#include "store/rooms.h"

static void cs_say(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cs_say(struct conn *c, const char *fmt, ...)
{
	char text[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	irc_send(c, ":%s!%s@%s NOTICE %s :%s", IRC_CHANSERV, IRC_CHANSERV,
	    irc_server_name(c), irc_target(c), text);
}

static const char *const help[] = {
	"ChanServ keeps registered rooms: their topic, modes, key, limit, lists and",
	"operators last when they are empty and across restarts; the founder's account,",
	"and the accounts an operator gives +o, get +o on joining.",
	"REGISTER <#room>   register a room you are an operator of (log in first)",
	"DROP <#room>       unregister it (its founder, or a server operator)",
	"INFO <#room>       who founded it, and when",
};

/* The room named by word, as the user may see it; NULL with a reply. */
static struct room *
room_of(struct conn *c, const char *word)
{
	if (word == NULL || *word == '\0') {
		cs_say(c, "Which room? HELP lists the commands");
		return NULL;
	}
	struct room *room = hub_room_seen(door_hub(c), c->user, word);
	if (room == NULL)
		cs_say(c, "%s does not exist", word);
	return room;
}

static void
cs_register(struct conn *c, const char *word)
{
	struct room *room = room_of(c, word);
	if (room == NULL)
		return;
	switch (hub_room_register(door_hub(c), c->user, room)) {
	case HUB_OK:
		break;
	case HUB_ENOACCOUNT:
		cs_say(c, "You must be logged in to register a room (NickServ IDENTIFY, or SASL)");
		return;
	case HUB_ENOTIN:
		cs_say(c, "You are not in %s", room->name);
		return;
	case HUB_ECHANOP:
		cs_say(c, "You must be an operator of %s to register it", room->name);
		return;
	case HUB_EALREADY:
		cs_say(c, "%s is already registered (to %s)", room->name, room->reg->founder);
		return;
	default:
		cs_say(c, "%s could not be registered: out of memory", room->name);
		return;
	}
	if (rooms_save(door_env(c)->store, room) < 0) {
		/* Registered while the server runs; saved with its next change. */
		cs_say(c, "%s is registered to %s, but could not be saved yet", room->name,
		    room->reg->founder);
		return;
	}
	cs_say(c, "%s is registered to %s", room->name, room->reg->founder);
}

static void
cs_drop(struct conn *c, const char *word)
{
	struct room *room = room_of(c, word);
	if (room == NULL)
		return;
	char name[ROOM_LEN_MAX + 1];
	snprintf(name, sizeof name, "%s", room->name);
	switch (hub_room_drop(door_hub(c), c->user, room)) {
	case HUB_OK:
		cs_say(c, "%s is not registered any more", name);
		return;
	case HUB_ENOROOM:
		cs_say(c, "%s is not registered", name);
		return;
	default:
		cs_say(c, "Only the founder of %s (or a server operator) may drop it", name);
		return;
	}
}

static void
cs_info(struct conn *c, const char *word)
{
	struct room *room = room_of(c, word);
	if (room == NULL)
		return;
	if (room->reg == NULL) {
		cs_say(c, "%s is not registered", room->name);
		return;
	}
	char when[32];
	struct tm tm;
	gmtime_r(&room->reg->at, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (room->reg->at > 0)
		cs_say(c, "%s is registered to %s since %s", room->name, room->reg->founder, when);
	else
		cs_say(c, "%s is registered to %s", room->name, room->reg->founder);
}

void
irc_chanserv(struct conn *c, char *text)
{
	char *rest = text;
	char *word = strsep(&rest, " ");
	char *arg = rest != NULL ? strsep(&rest, " ") : NULL;
	if (door_env(c)->store == NULL) {
		cs_say(c, "This server keeps no database: rooms cannot be registered");
		return;
	}
	if (word == NULL || *word == '\0' || strcasecmp(word, "HELP") == 0) {
		for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
			cs_say(c, "%s", help[i]);
		return;
	}
	if (strcasecmp(word, "REGISTER") == 0)
		cs_register(c, arg);
	else if (strcasecmp(word, "DROP") == 0)
		cs_drop(c, arg);
	else if (strcasecmp(word, "INFO") == 0)
		cs_info(c, arg);
	else
		cs_say(c, "Unknown command %s; HELP lists them", word);
}

/* "CHANSERV REGISTER #room" and "CS ...": the same as a PRIVMSG to it. */
void
irc_cmd_chanserv(struct conn *c, struct irc_message *m)
{
	char text[IRC_LINE_MAX];
	size_t n = 0;
	text[0] = '\0';
	for (int i = 0; i < m->nparams && n + 1 < sizeof text; i++) {
		int w = snprintf(text + n, sizeof text - n, "%s%s", i ? " " : "", m->params[i]);
		n = w < 0 || (size_t)w >= sizeof text - n ? sizeof text - 1 : n + (size_t)w;
	}
	irc_chanserv(c, text);
}
