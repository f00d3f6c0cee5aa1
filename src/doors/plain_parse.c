#include "doors/plain_parse.h"

#include <string.h>

#include "base/text.h"

void
plain_parse(char *line, struct plain_input *in)
{
	memset(in, 0, sizeof *in);
	if (line[strspn(line, " ")] == '\0') {
		in->kind = PLAIN_EMPTY;
		return;
	}
	if (line[0] != '/' || line[1] == '/') {
		in->kind = PLAIN_SAY;
		in->text = line[0] == '/' ? line + 1 : line;
		return;
	}
	char *args = line + 1;
	/* "/ foo" is no command named foo: the word must touch the slash. */
	if (*args == ' ' || (in->name = text_word(&args)) == NULL) {
		in->kind = PLAIN_NOCOMMAND;
		return;
	}
	in->kind = PLAIN_COMMAND;
	in->args = args;
}
