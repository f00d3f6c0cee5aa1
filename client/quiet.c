#include "quiet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MARKER "parley:"

void
quiet_init(struct quiet *q)
{
	q->nasked = 0;
	q->next_id = 1;
	q->holding = 0;
}

void
quiet_reset(struct quiet *q)
{
	q->nasked = 0;
	q->holding = 0;
}

int
quiet_ask(struct quiet *q, enum quiet_kind kind, const char *room,
    char *cmd, size_t cmdlen, char *marker, size_t markerlen)
{
	if (q->nasked == QUIET_MAX)
		return -1;
	struct quiet_question *a = &q->asked[q->nasked++];
	a->kind = kind;
	a->id = q->next_id++;
	a->state = 0;
	snprintf(a->room, sizeof a->room, "%s", kind == QUIET_WHO ? room : "");
	if (kind == QUIET_WHO)
		snprintf(cmd, cmdlen, "/who %s", room);
	else if (kind == QUIET_HELP)
		snprintf(cmd, cmdlen, "/help");
	else
		snprintf(cmd, cmdlen, "%s", "");
	snprintf(marker, markerlen, "/ping " MARKER "%u", a->id);
	return 0;
}

/* "-- /name ...": one of the commands a /help lists. */
static int
help_command(const char *line)
{
	return strncmp(line, "-- /", 4) == 0 && line[4] != '\0' &&
	    line[4] != ' ';
}

/* "-- pong parley:ID": ends the questions up to ID. Returns 1 and the
 * kind of the one it ends, or 0 when it is no marker of a question. */
static int
marker(struct quiet *q, const char *line, enum quiet_kind *kind)
{
	static const char pong[] = "-- pong " MARKER;
	char *end;

	if (strncmp(line, pong, sizeof pong - 1) != 0)
		return 0;
	unsigned long id = strtoul(line + sizeof pong - 1, &end, 10);
	if (*end != '\0')
		return 0;
	for (size_t i = 0; i < q->nasked; i++) {
		if (q->asked[i].id != id)
			continue;
		*kind = q->asked[i].kind;
		q->nasked -= i + 1;
		memmove(q->asked, q->asked + i + 1, q->nasked * sizeof q->asked[0]);
		return 1;
	}
	return 0;
}

/* "-- #room users: ..." and the count after them, "-- #room: N users". */
static enum quiet_verdict
who_answer(struct quiet_question *a, const char *line)
{
	size_t n = strlen(a->room);

	if (a->state == 2 || strncmp(line, "-- ", 3) != 0 ||
	    strncasecmp(line + 3, a->room, n) != 0)
		return QUIET_SHOW;
	const char *rest = line + 3 + n;
	if (strncmp(rest, " users: ", 8) == 0) {
		a->state = 1;
		return QUIET_HIDE;
	}
	/* Only after its users lines: /rooms says the same of a room. */
	if (a->state == 1 && strncmp(rest, ": ", 2) == 0) {
		rest += 2 + strspn(rest + 2, "0123456789");
		if (strcmp(rest, " user") == 0 || strcmp(rest, " users") == 0) {
			a->state = 2;
			return QUIET_HIDE;
		}
	}
	return QUIET_SHOW;
}

enum quiet_verdict
quiet_filter(struct quiet *q, const char *line, size_t len,
    const char **release, size_t *release_len)
{
	struct quiet_question *a = q->nasked > 0 ? &q->asked[0] : NULL;
	enum quiet_kind kind;

	*release = NULL;
	/* A notice held back is a hidden /help's heading if the command
	 * lines follow it; else it is shown now, before this line. */
	if (q->holding) {
		q->holding = 0;
		if (a == NULL || a->kind != QUIET_HELP || !help_command(line)) {
			*release = q->held[q->which];
			*release_len = q->held_len;
		}
	}
	if (marker(q, line, &kind))
		return kind == QUIET_HELP_SHOWN ? QUIET_HIDE_KEYS : QUIET_HIDE;
	if (a == NULL)
		return QUIET_SHOW;
	switch (a->kind) {
	case QUIET_WHO:
		return who_answer(a, line);
	case QUIET_HELP:
		if (help_command(line)) {
			a->state = 1;
			return QUIET_HIDE;
		}
		if (a->state == 0 && strncmp(line, "-- ", 3) == 0 &&
		    len < sizeof q->held[0]) {
			q->which = !q->which;
			memcpy(q->held[q->which], line, len + 1);
			q->held_len = len;
			q->holding = 1;
			return QUIET_HIDE;
		}
		return QUIET_SHOW;
	case QUIET_HELP_SHOWN:
		break;
	}
	return QUIET_SHOW;
}

const char *
quiet_release(struct quiet *q, size_t *len)
{
	if (!q->holding)
		return NULL;
	q->holding = 0;
	*len = q->held_len;
	return q->held[q->which];
}
