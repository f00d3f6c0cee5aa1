/* libFuzzer: irc_parse takes any line the framer can hand it without
 * reading or pointing outside it, and what it returns keeps the rules of
 * the message format; irc_tag_escape undoes what the parser unescapes. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doors/irc/irc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* p is a string that starts and ends inside buf's n bytes. */
static void
check_inside(const char *buf, size_t n, const char *p)
{
	assert(p >= buf && p <= buf + n);
	assert(p + strlen(p) <= buf + n);
}

static int
command_valid(const char *c)
{
	size_t n = strlen(c);
	if (n == 3 && strspn(c, "0123456789") == 3)
		return 1;
	return n > 0 && strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

/* Escaping a value and parsing it back gives the value. */
static void
check_roundtrip(const char *value)
{
	size_t need = irc_tag_escape(NULL, 0, value);
	char *line = malloc(need + 16);
	if (line == NULL)
		return;
	memcpy(line, "@k=", 3);
	size_t n = irc_tag_escape(line + 3, need + 1, value);
	assert(n == need && strlen(line + 3) == need);
	assert(strpbrk(line + 3, " ;\r\n") == NULL);
	memcpy(line + 3 + n, " X", 3);
	struct irc_message m;
	enum irc_parse_status st = irc_parse(line, 3 + n + 2, &m);
	if (n + 4 <= IRC_TAGS_LEN_MAX) {
		assert(st == IRC_PARSE_OK);
		assert(m.ntags == 1 && strcmp(m.tags[0].value, value) == 0);
	} else {
		assert(st == IRC_PARSE_TAGS_TOO_LONG);
	}
	free(line);
}

/* Written back out with single spaces and a ':' on the last parameter,
 * the message parses to the same parts. */
static void
check_reparse(const struct irc_message *m)
{
	char out[IRC_LINE_MAX * 2];
	size_t n = 0;
	if (m->source != NULL)
		n += (size_t)snprintf(out + n, sizeof out - n, ":%s ", m->source);
	n += (size_t)snprintf(out + n, sizeof out - n, "%s", m->command);
	for (int i = 0; i < m->nparams && n < sizeof out; i++)
		n += (size_t)snprintf(out + n, sizeof out - n, " %s%s",
		    i == m->nparams - 1 ? ":" : "", m->params[i]);
	if (n > IRC_LINE_MAX - 2)
		return;
	struct irc_message again;
	assert(irc_parse(out, n, &again) == IRC_PARSE_OK);
	assert(strcmp(again.command, m->command) == 0);
	assert((again.source == NULL) == (m->source == NULL));
	assert(m->source == NULL || strcmp(again.source, m->source) == 0);
	assert(again.nparams == m->nparams);
	for (int i = 0; i < m->nparams; i++)
		assert(strcmp(again.params[i], m->params[i]) == 0);
}

static void
check_message(const char *buf, size_t n, const struct irc_message *m)
{
	assert(m->command != NULL && m->command[0] != '\0');
	check_inside(buf, n, m->command);
	assert(command_valid(m->command));
	if (m->source != NULL) {
		check_inside(buf, n, m->source);
		assert(strchr(m->source, ' ') == NULL);
	}
	assert(m->nparams >= 0 && m->nparams <= IRC_PARAMS_MAX);
	for (int i = 0; i < m->nparams; i++) {
		check_inside(buf, n, m->params[i]);
		if (i < m->nparams - 1)
			assert(irc_param_is_middle(m->params[i]));
	}
	assert(m->ntags >= 0 && m->ntags <= IRC_TAGS_MAX);
	for (int i = 0; i < m->ntags; i++) {
		const struct irc_tag *t = &m->tags[i];
		check_inside(buf, n, t->key);
		assert(t->key[0] != '\0' && strpbrk(t->key, " ;=") == NULL);
		for (int j = 0; j < i; j++)
			assert(strcmp(m->tags[j].key, t->key) != 0);
		if (t->value != NULL) {
			check_inside(buf, n, t->value);
			check_roundtrip(t->value);
		}
	}
	check_reparse(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* What the framer hands over: up to the first LF, less a CR. */
	const uint8_t *lf = memchr(data, '\n', size);
	size_t n = lf != NULL ? (size_t)(lf - data) : size;
	if (n > 0 && data[n - 1] == '\r')
		n--;
	/* Exactly n bytes, so ASan sees any read past the line's NUL. */
	char *buf = malloc(n + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, n);
	buf[n] = '\0';

	/* The line ends at a NUL; measured now, as parsing writes NULs in. */
	size_t len = strnlen(buf, n);
	int blank = strspn(buf, " ") == len;
	struct irc_message m;
	enum irc_parse_status st = irc_parse(buf, n, &m);
	switch (st) {
	case IRC_PARSE_OK:
		assert(!blank);
		check_message(buf, len, &m);
		break;
	case IRC_PARSE_EMPTY:
		assert(blank);
		break;
	case IRC_PARSE_TOO_LONG:
		assert(len > IRC_LINE_MAX - 2);
		break;
	case IRC_PARSE_TAGS_TOO_LONG:
	case IRC_PARSE_NO_COMMAND:
		break;
	case IRC_PARSE_BAD_COMMAND:
		assert(m.command != NULL && !command_valid(m.command));
		check_inside(buf, len, m.command);
		break;
	default:
		assert(!"irc_parse returned no status it declares");
	}
	free(buf);
	return 0;
}
