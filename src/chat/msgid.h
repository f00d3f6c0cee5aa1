/* Message ids (the IRCv3 msgid): unique across restarts and nodes, and
 * sorted by time. 80 bits: 48 of Unix milliseconds, 16 of the node's id,
 * 16 of a sequence within the millisecond; written as 16 characters of
 * Crockford's base32 (0-9, A-Z without I, L, O, U), whose ASCII order is
 * the value's, so ids sort as text in time order. A generator never goes
 * back: when the clock does, or a millisecond's 65,536 ids are spent, it
 * borrows the next millisecond. */
#ifndef PARLEY_MSGID_H
#define PARLEY_MSGID_H

#include <stdint.h>

#define MSGID_LEN 16

struct msgid_gen {
	uint16_t node;      /* this node's id (node-id) */
	uint16_t seq;       /* the last id's sequence within last_ms */
	int64_t last_ms;    /* the last id's millisecond; -1 before the first */
};

void msgid_init(struct msgid_gen *g, uint16_t node);
/* The next id at wall time now_ms into out (MSGID_LEN + 1 bytes). */
void msgid_next(struct msgid_gen *g, int64_t now_ms, char *out);
/* The least id above every id g gave (any node's, in the same
 * millisecond too: ids order as (ms, node, seq)) into out: a bound for
 * what was said up to now. -1 when g gave none yet. */
int msgid_after_last(const struct msgid_gen *g, char *out);
/* The id of (ms, node, seq) into out (MSGID_LEN + 1 bytes). */
void msgid_write(uint64_t ms, uint16_t node, uint16_t seq, char *out);
/* 0 and its parts when s is an id (MSGID_LEN characters of the alphabet,
 * upper case), else -1. Any part may be NULL. */
int msgid_read(const char *s, uint64_t *ms, uint16_t *node, uint16_t *seq);

#endif
