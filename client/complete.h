/* What Tab completes: the server's commands, as its /help lists them, and
 * the nicknames in the current room, as the server's lines tell of them
 * (joins, parts, kicks, quits, nick changes, who speaks, and /who
 * replies). Nothing here is built in: a command the server adds completes
 * once its /help lists it. */
#ifndef PARLEY_COMPLETE_H
#define PARLEY_COMPLETE_H

#include <stddef.h>

#include "session.h"

/* A command name, without its '/'. */
#define COMPLETE_COMMAND_MAX 32
/* Commands /help may list; more are not learnt. */
#define COMPLETE_COMMANDS_MAX 64
/* Nicknames kept for the current room; in a bigger room the ones learnt
 * past this are not completed. 10,000 of them take 650 KB. */
#define COMPLETE_NICKS_MAX 10000

struct complete {
	char commands[COMPLETE_COMMANDS_MAX][COMPLETE_COMMAND_MAX + 2]; /* "/name" */
	size_t ncommands;
	int in_help;          /* the last line was one of /help's commands: the
	                       * next is too, or the list has ended */

	char room[SESSION_ROOM_MAX + 1];   /* whose nicknames; "" for none */
	char (*nicks)[SESSION_NICK_MAX + 1];
	size_t nnicks, cap;
};

void complete_init(struct complete *c);
void complete_free(struct complete *c);

/* Forgets the nicknames and keeps those of room ("" for none) from now on.
 * The caller asks the server who is in it. */
void complete_track(struct complete *c, const char *room);
/* Learns from one line from the server. Returns 1 when it was a command
 * line of /help ("-- /name ..."). */
int complete_observe(struct complete *c, const char *line);
/* The candidates for word, as typed, which starts at byte start of the
 * line:
 * a command ("/join") for "/..." at the start of the line, a room of
 * ours for "#...", else a nickname of the room, ours left out. Fills out
 * with at most max of them, valid until the next call of any of these,
 * and *suffix with what goes after the one chosen (":" after a nickname
 * that starts the line, as chat has it; libedit adds a space). Returns
 * how many. */
size_t complete_candidates(const struct complete *c, const struct session *s,
    size_t start, const char *word, const char **out, size_t max,
    const char **suffix);

#endif
