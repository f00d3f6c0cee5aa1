/* Questions the client asks the server for itself, and their answers
 * kept off the screen: who is in the room it enters, and which commands
 * the server has (its /help), for Tab to complete. Each question is
 * followed by "/ping parley:ID"; the pong ends its answer, whatever the
 * answer was (an error, say, is shown). The server answers a client's
 * lines in order, and an answer is never broken by other lines. */
#ifndef PARLEY_QUIET_H
#define PARLEY_QUIET_H

#include <stddef.h>

#include "lines.h"
#include "session.h"

/* Questions waiting for their pong; more are not asked. */
#define QUIET_MAX 8

enum quiet_kind {
	QUIET_WHO,        /* "/who ROOM": its reply is hidden */
	QUIET_HELP,       /* "/help": its reply is hidden */
	QUIET_HELP_SHOWN, /* the user's own /help: shown, and then the
	                   * client's own keys */
};

enum quiet_verdict {
	QUIET_SHOW,       /* show the line */
	QUIET_HIDE,       /* do not */
	QUIET_HIDE_KEYS,  /* do not, and show the client's keys now */
};

struct quiet {
	struct quiet_question {
		enum quiet_kind kind;
		unsigned id;
		char room[SESSION_ROOM_MAX + 1];  /* QUIET_WHO's */
		int state;    /* WHO: 1 in its users lines, 2 answered */
	} asked[QUIET_MAX];
	size_t nasked;
	unsigned next_id;
	/* A notice held back in a hidden /help's answer: the heading, if a
	 * command line follows it. Two, since one is given back to be shown
	 * as the next is held. */
	char held[2][LINES_MAX + 1];
	size_t held_len;
	int holding;
	int which;    /* held[which] is the one held */
};

void quiet_init(struct quiet *q);
/* The connection is gone: no answers will come. */
void quiet_reset(struct quiet *q);

/* Makes a question: the line to send first in cmd ("" for
 * QUIET_HELP_SHOWN, whose /help the user sent), then the marker's /ping.
 * Returns -1 when QUIET_MAX are waiting already. */
int quiet_ask(struct quiet *q, enum quiet_kind kind, const char *room,
    char *cmd, size_t cmdlen, char *marker, size_t markerlen);

/* What to do with a line from the server. A line held back before it
 * that turned out not to belong to an answer comes back in *release
 * (len *release_len) to be shown first; NULL otherwise. */
enum quiet_verdict quiet_filter(struct quiet *q, const char *line,
    size_t len, const char **release, size_t *release_len);
/* A line still held back, to show now (when the connection is gone), or
 * NULL. */
const char *quiet_release(struct quiet *q, size_t *len);

#endif
