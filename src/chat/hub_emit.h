/* The one way events leave the hub: for the chat's own files. Not for
 * doors (which only receive, through their users' ops) nor for observers
 * (which hub_observe). */
#ifndef PARLEY_HUB_EMIT_H
#define PARLEY_HUB_EMIT_H

#include "chat/hub.h"

/* An event made here: delivered to its audience here, then shown to each
 * observer once. */
void hub_emit(struct hub *hub, struct msg *m, const struct audience *to);
/* The local delivery alone (hub_apply: an event from elsewhere, which
 * observers have seen where it was made). */
void hub_deliver(struct hub *hub, struct msg *m, const struct audience *to);

#endif
