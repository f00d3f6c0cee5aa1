/* Who sent each of the last HUB_RECENT messages, and where: all the hub
 * remembers of messages, so that REDACT can tell who may take one back
 * (until history exists, which will answer instead). A ring in the order
 * the messages were made, so their msgids grow along it and one is found
 * by bisection; an overwritten one is simply too old.
 *
 * Below hub.c and hub_redact.c: it calls nothing of theirs. */
#ifndef PARLEY_HUB_RECENT_H
#define PARLEY_HUB_RECENT_H

#include <stdint.h>

#include "chat/msgid.h"

struct hub;

struct hub_recent {
	char id[MSGID_LEN];  /* the message's msgid (no NUL) */
	uint32_t author;     /* its sender's serial */
	uint32_t where;      /* the room's serial, or the recipient's */
	uint8_t private;     /* where is a user */
};

/* Remembers message id (the newest msgid yet), sent by the user of serial
 * author to the room (or, private, the user) of serial where. Out of
 * memory, it is not remembered. */
void hub_recent_note(struct hub *hub, const char *id, uint32_t author,
    uint32_t where, int private);
/* Message id, if it is among the last HUB_RECENT; else NULL. */
const struct hub_recent *hub_recent_find(const struct hub *hub, const char *id);
/* At exit. */
void hub_recent_free(struct hub *hub);

#endif
