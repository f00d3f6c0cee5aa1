/* Everything the client prints: lines from the server, the user's own
 * messages, and its own complaints. Colour tells the kinds apart when
 * stdout is a terminal and NO_COLOR is not set. Nothing from the server
 * reaches the terminal raw: control characters are shown as ^X. */
#ifndef PARLEY_SCREEN_H
#define PARLEY_SCREEN_H

#include <stddef.h>

enum screen_kind {
	SCREEN_OWN,      /* what the user said */
	SCREEN_OTHER,    /* what others said in a room */
	SCREEN_PRIVATE,  /* private messages, to or from the user */
	SCREEN_NOTICE,   /* "-- " notices and room events */
	SCREEN_ERROR,    /* "!! " errors */
};

/* Decides on colour, once. */
void screen_init(void);
/* Which kind a line from the server is; mynick may be "". */
enum screen_kind screen_kind_of(const char *line, const char *mynick);
/* Prints one line (len bytes, no LF) to stdout, made safe and coloured. */
void screen_print(enum screen_kind kind, const char *line, size_t len);
/* 1 when s would be printed exactly as it is: no control characters and
 * nothing that is not UTF-8. */
int screen_is_plain(const char *s);
/* Prints "parley: " and the message to stderr. */
void screen_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
