/* What a plain-text line asks for, decided without touching the hub, so
 * the rules ("//" escapes, blank lines, command words) are testable alone. */
#ifndef PARLEY_PLAIN_PARSE_H
#define PARLEY_PLAIN_PARSE_H

#include <stddef.h>

enum plain_kind {
	PLAIN_EMPTY,    /* nothing but spaces: ignored */
	PLAIN_SAY,      /* text: a message for the current room */
	PLAIN_COMMAND,  /* name: the command word without '/'; args: the rest */
	PLAIN_NOCOMMAND /* a lone '/' */
};

struct plain_input {
	enum plain_kind kind;
	char *text;
	char *name;
	char *args;
};

/* Parses line in place (it is modified). */
void plain_parse(char *line, struct plain_input *in);

/* Whether a connection's first line (raw, len bytes) is another
 * protocol's: a TLS record (a TLS client at this port) or an HTTP
 * request line (a browser, or a web page's request sent here). Said in
 * a room, it would be the request's headers, cookies too, for all. */
int plain_foreign(const char *line, size_t len);

#endif
