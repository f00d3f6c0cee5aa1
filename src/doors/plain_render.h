/* The plain door's lines for hub events (plain_render.c). */
#ifndef PARLEY_PLAIN_RENDER_H
#define PARLEY_PLAIN_RENDER_H

#include "chat/msg.h"
#include "net/wire.h"

/* m as the line (or lines) a plain user is shown, or NULL when it shows
 * them nothing (or out of memory). */
struct wire *plain_render(const struct msg *m);
/* What nc and telnet users see of someone's text: no IRC formatting and
 * no control characters (text_for_terminal). The text itself, or a copy
 * at *copy (to be freed) when it had some. */
const char *plain_shown(const char *text, int keep_lf, char **copy);

#endif
