/* What a plain-text line asks for, decided without touching the hub, so
 * the rules ("//" escapes, blank lines, command words) are testable alone. */
#ifndef PARLEY_PLAIN_PARSE_H
#define PARLEY_PLAIN_PARSE_H

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

#endif
