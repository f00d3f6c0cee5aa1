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

int
plain_foreign(const char *line, size_t len)
{
	/* A TLS handshake record: content type 22, version 3.x. */
	if (len >= 2 && line[0] == 0x16 && line[1] == 0x03)
		return 1;
	/* "METHOD TARGET HTTP/...": a method is capitals, the target has
	 * no space. */
	size_t i = 0;
	while (i < len && i <= 16 && line[i] >= 'A' && line[i] <= 'Z')
		i++;
	if (i == 0 || i > 16 || i >= len || line[i] != ' ')
		return 0;
	size_t target = ++i;
	while (i < len && line[i] != ' ')
		i++;
	return i > target && len - i >= 6 && memcmp(line + i, " HTTP/", 6) == 0;
}
