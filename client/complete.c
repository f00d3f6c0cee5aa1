#include "complete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
complete_init(struct complete *c)
{
	memset(c, 0, sizeof *c);
}

void
complete_free(struct complete *c)
{
	free(c->nicks);
	complete_init(c);
}

void
complete_track(struct complete *c, const char *room)
{
	snprintf(c->room, sizeof c->room, "%s", room);
	c->nnicks = 0;
}

/* The n bytes at p as a nickname in buf (SESSION_NICK_MAX + 1), or NULL
 * when they cannot be one. */
static const char *
nick_at(const char *p, size_t n, char *buf)
{
	if (n == 0 || n > SESSION_NICK_MAX || memchr(p, ' ', n) != NULL)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static long
nick_index(const struct complete *c, const char *nick)
{
	for (size_t i = 0; i < c->nnicks; i++)
		if (session_same_name(c->nicks[i], nick))
			return (long)i;
	return -1;
}

static void
nick_add(struct complete *c, const char *nick)
{
	if (nick == NULL || nick_index(c, nick) != -1)
		return;
	if (c->nnicks == c->cap) {
		if (c->cap == COMPLETE_NICKS_MAX)
			return;
		size_t cap = c->cap == 0 ? 64 : c->cap * 2;
		if (cap > COMPLETE_NICKS_MAX)
			cap = COMPLETE_NICKS_MAX;
		void *p = realloc(c->nicks, cap * sizeof c->nicks[0]);
		if (p == NULL)
			return; /* it will not complete; nothing worse */
		c->nicks = p;
		c->cap = cap;
	}
	snprintf(c->nicks[c->nnicks++], sizeof c->nicks[0], "%s", nick);
}

static void
nick_remove(struct complete *c, const char *nick)
{
	long i = nick == NULL ? -1 : nick_index(c, nick);

	if (i == -1)
		return;
	/* Order does not matter: libedit sorts what it lists. */
	c->nnicks--;
	if ((size_t)i != c->nnicks)
		memcpy(c->nicks[i], c->nicks[c->nnicks], sizeof c->nicks[0]);
}

/* "-- /name ...": one of the commands /help lists, the first of them
 * when the line before was not one. */
static int
observe_help(struct complete *c, const char *text)
{
	size_t n = strcspn(text, " ");

	if (n < 2 || n > COMPLETE_COMMAND_MAX + 1 ||
	    strspn(text + 1, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n - 1)
		return 0;
	if (!c->in_help)
		c->ncommands = 0;
	c->in_help = 1;
	for (size_t i = 0; i < c->ncommands; i++)
		if (strncasecmp(c->commands[i], text, n) == 0 &&
		    c->commands[i][n] == '\0')
			return 1;
	if (c->ncommands < COMPLETE_COMMANDS_MAX) {
		memcpy(c->commands[c->ncommands], text, n);
		c->commands[c->ncommands++][n] = '\0';
	}
	return 1;
}

/* "-- NICK quit: ...", "-- OLD is now known as NEW", and the users of the
 * room in a /who reply, "-- #room users: NICK NICK ...". */
static void
observe_notice(struct complete *c, const char *text)
{
	static const char known[] = " is now known as ";
	char buf[SESSION_NICK_MAX + 1], was[SESSION_NICK_MAX + 1];
	char room[SESSION_ROOM_MAX + 1];
	size_t n = strcspn(text, " ");
	const char *rest = text + n;

	if (strncmp(rest, " quit", 5) == 0 && (rest[5] == '\0' ||
	    rest[5] == ':')) {
		nick_remove(c, nick_at(text, n, buf));
	} else if (strncmp(rest, known, sizeof known - 1) == 0) {
		const char *old = nick_at(text, n, was);
		const char *to = rest + sizeof known - 1;
		if (old != NULL && nick_index(c, old) != -1 &&
		    nick_at(to, strlen(to), buf) != NULL) {
			nick_remove(c, old);
			nick_add(c, buf);
		}
	} else if (text[0] == '#' && strncmp(rest, " users: ", 8) == 0 &&
	    n <= SESSION_ROOM_MAX && c->room[0] != '\0') {
		memcpy(room, text, n);
		room[n] = '\0';
		if (!session_same_name(room, c->room))
			return;
		for (const char *p = rest + 8; *p != '\0'; ) {
			size_t k = strcspn(p, " ");
			nick_add(c, nick_at(p, k, buf));
			p += k + strspn(p + k, " ");
		}
	}
}

/* What happens in the tracked room: "-- NICK joined", "-- NICK left...",
 * "-- WHO kicked NICK...", "<NICK> text", "* NICK text". */
static void
observe_room(struct complete *c, const char *text)
{
	char buf[SESSION_NICK_MAX + 1];
	size_t n;

	if (strncmp(text, "-- ", 3) == 0) {
		text += 3;
		n = strcspn(text, " ");
		const char *rest = text + n;
		if (strcmp(rest, " joined") == 0)
			nick_add(c, nick_at(text, n, buf));
		else if (strcmp(rest, " left") == 0 ||
		    strncmp(rest, " left: ", 7) == 0)
			nick_remove(c, nick_at(text, n, buf));
		else if (strncmp(rest, " kicked ", 8) == 0) {
			rest += 8;
			nick_remove(c, nick_at(rest, strcspn(rest, ":"), buf));
		}
	} else if (text[0] == '<') {
		const char *end = strchr(text, '>');
		if (end != NULL && end[1] == ' ')
			nick_add(c, nick_at(text + 1, (size_t)(end - text - 1),
			    buf));
	} else if (strncmp(text, "* ", 2) == 0) {
		text += 2;
		nick_add(c, nick_at(text, strcspn(text, " "), buf));
	}
}

int
complete_observe(struct complete *c, const char *line)
{
	if (strncmp(line, "-- /", 4) == 0 && observe_help(c, line + 3))
		return 1;
	c->in_help = 0;
	if (strncmp(line, "-- ", 3) == 0) {
		observe_notice(c, line + 3);
		return 0;
	}
	size_t n = strcspn(line, " ");
	if (line[0] != '#' || line[n] != ' ' || c->room[0] == '\0' ||
	    n != strlen(c->room) || strncasecmp(line, c->room, n) != 0)
		return 0;
	observe_room(c, line + n + 1);
	return 0;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

size_t
complete_candidates(const struct complete *c, const struct session *s,
    size_t start, const char *word, const char **out, size_t max,
    const char **suffix)
{
	size_t n = 0;

	*suffix = "";
	if (start == 0 && word[0] == '/') {
		for (size_t i = 0; i < c->ncommands && n < max; i++)
			if (has_prefix(c->commands[i], word))
				out[n++] = c->commands[i];
		return n;
	}
	if (word[0] == '#') {
		for (size_t i = 0; i < s->nrooms && n < max; i++)
			if (has_prefix(s->rooms[i], word))
				out[n++] = s->rooms[i];
		return n;
	}
	for (size_t i = 0; i < c->nnicks && n < max; i++)
		if (has_prefix(c->nicks[i], word) &&
		    !session_same_name(c->nicks[i], s->nick))
			out[n++] = c->nicks[i];
	if (start == 0)
		*suffix = ":";
	return n;
}
