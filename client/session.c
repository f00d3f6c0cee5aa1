#include "session.h"

#include <stdio.h>
#include <string.h>

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int
session_same_name(const char *a, const char *b)
{
	for (; *a != '\0' && ascii_lower(*a) == ascii_lower(*b); a++, b++)
		continue;
	return *a == '\0' && *b == '\0';
}

/* Copies the n bytes at src into dst (which holds max + 1) if they fit;
 * returns -1 otherwise, leaving dst alone. */
static int
copy_name(char *dst, size_t max, const char *src, size_t n)
{
	if (n == 0 || n > max)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

void
session_init(struct session *s, const char *want_nick)
{
	memset(s, 0, sizeof *s);
	if (want_nick != NULL)
		copy_name(s->want_nick, SESSION_NICK_MAX, want_nick,
		    strlen(want_nick));
}

void
session_clear(struct session *s)
{
	s->nick[0] = '\0';
	s->nrooms = 0;
	s->current[0] = '\0';
	s->welcomed = 0;
}

static int
room_index(const struct session *s, const char *room)
{
	for (size_t i = 0; i < s->nrooms; i++)
		if (session_same_name(s->rooms[i], room))
			return (int)i;
	return -1;
}

static void
room_add(struct session *s, const char *room)
{
	if (room_index(s, room) != -1 || s->nrooms == SESSION_ROOMS_MAX)
		return;
	snprintf(s->rooms[s->nrooms++], SESSION_ROOM_MAX + 1, "%s", room);
}

static void
room_remove(struct session *s, const char *room)
{
	int i = room_index(s, room);

	if (i == -1)
		return;
	s->nrooms--;
	memmove(s->rooms[i], s->rooms[i + 1],
	    (s->nrooms - (size_t)i) * sizeof s->rooms[0]);
}

/* "#room -- NICK joined", "#room -- NICK left[: REASON]": our own joins and
 * parts keep the room list. Anyone else's are of no interest here. */
static int
observe_room_event(struct session *s, const char *room, const char *event)
{
	const char *sp = strchr(event, ' ');
	char who[SESSION_NICK_MAX + 1];

	if (sp == NULL || copy_name(who, SESSION_NICK_MAX, event,
	    (size_t)(sp - event)) == -1)
		return 0;
	if (s->nick[0] == '\0' || !session_same_name(who, s->nick))
		return 0;
	if (strcmp(sp, " joined") == 0) {
		room_add(s, room);
		snprintf(s->current, sizeof s->current, "%s", room);
		return 1;
	}
	if (strcmp(sp, " left") == 0 || strncmp(sp, " left: ", 7) == 0) {
		room_remove(s, room);
		if (!session_same_name(s->current, room))
			return 0;
		/* The server names the next current room, if any, in a
		 * "now talking in" notice. */
		s->current[0] = '\0';
		return 1;
	}
	return 0;
}

/* "-- you are NICK; ...", "-- OLD is now known as NEW",
 * "-- now talking in #room". */
static int
observe_notice(struct session *s, const char *text)
{
	static const char known[] = " is now known as ";
	const char *end;

	if (strncmp(text, "you are ", 8) == 0 &&
	    (end = strchr(text + 8, ';')) != NULL) {
		if (copy_name(s->nick, SESSION_NICK_MAX, text + 8,
		    (size_t)(end - text - 8)) == -1)
			return 0;
		s->welcomed = 1;
		return 1;
	}
	if (strncmp(text, "now talking in ", 15) == 0) {
		text += 15;
		if (strchr(text, ' ') != NULL || copy_name(s->current,
		    SESSION_ROOM_MAX, text, strlen(text)) == -1)
			return 0;
		return 1;
	}
	const char *sp = strchr(text, ' ');
	if (sp == NULL || strncmp(sp, known, sizeof known - 1) != 0)
		return 0;
	char old[SESSION_NICK_MAX + 1];
	const char *to = sp + sizeof known - 1;
	if (copy_name(old, SESSION_NICK_MAX, text, (size_t)(sp - text)) == -1
	    || strchr(to, ' ') != NULL || s->nick[0] == '\0'
	    || !session_same_name(old, s->nick))
		return 0;
	if (copy_name(s->nick, SESSION_NICK_MAX, to, strlen(to)) == -1)
		return 0;
	/* A name the user chose is the one to ask for again later. */
	snprintf(s->want_nick, sizeof s->want_nick, "%s", s->nick);
	return 1;
}

int
session_observe(struct session *s, const char *line)
{
	if (strncmp(line, "-- ", 3) == 0)
		return observe_notice(s, line + 3);
	if (line[0] != '#')
		return 0;

	const char *sp = strchr(line, ' ');
	char room[SESSION_ROOM_MAX + 1];
	if (sp == NULL || strncmp(sp, " -- ", 4) != 0 ||
	    copy_name(room, SESSION_ROOM_MAX, line, (size_t)(sp - line)) == -1)
		return 0;
	return observe_room_event(s, room, sp + 4);
}
