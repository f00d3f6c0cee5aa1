/* An IRC line split in place. The grammar is Modern IRC's, read leniently
 * (runs of spaces, spaces before the message); the parameter rule is RFC
 * 2812's; tags and their escaping are IRCv3 message-tags'. */
#include "doors/irc/irc_parse.h"

#include <string.h>

static char *
skip_spaces(char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* Ends the word that starts at p; returns where the next one may start. */
static char *
cut_word(char *p)
{
	p += strcspn(p, " ");
	if (*p == ' ')
		*p++ = '\0';
	return p;
}

/* Tags. */

static char
unescaped(char c)
{
	switch (c) {
	case ':':
		return ';';
	case 's':
		return ' ';
	case 'r':
		return '\r';
	case 'n':
		return '\n';
	default:
		/* "\\" is a backslash; for an invalid escape such as "\b" the
		 * spec drops the backslash and keeps the character. */
		return c;
	}
}

/* Unescaping only ever shrinks a value, so it can be done in place. */
static void
tag_unescape(char *v)
{
	char *out = v;
	for (; *v != '\0'; v++) {
		if (*v != '\\') {
			*out++ = *v;
			continue;
		}
		/* A lone backslash at the end stands for nothing. */
		if (v[1] == '\0')
			break;
		*out++ = unescaped(*++v);
	}
	*out = '\0';
}

/* A key sent again replaces the value: the last one wins. */
static enum irc_parse_status
tag_put(struct irc_message *m, char *key, char *value)
{
	for (int i = 0; i < m->ntags; i++) {
		if (strcmp(m->tags[i].key, key) == 0) {
			m->tags[i].value = value;
			return IRC_PARSE_OK;
		}
	}
	if (m->ntags == IRC_TAGS_MAX)
		return IRC_PARSE_TAGS_TOO_LONG;
	m->tags[m->ntags].key = key;
	m->tags[m->ntags].value = value;
	m->ntags++;
	return IRC_PARSE_OK;
}

/* s is the tag section without its '@', NUL-terminated. Keys are opaque
 * (the spec forbids rejecting a message over a key's spelling); only an
 * empty key, which names nothing, is dropped. */
static enum irc_parse_status
tags_parse(char *s, struct irc_message *m)
{
	char *tag;
	while ((tag = strsep(&s, ";")) != NULL) {
		char *value = strchr(tag, '=');
		if (value != NULL) {
			*value++ = '\0';
			tag_unescape(value);
		}
		if (*tag == '\0')
			continue;
		if (tag_put(m, tag, value) != IRC_PARSE_OK)
			return IRC_PARSE_TAGS_TOO_LONG;
	}
	return IRC_PARSE_OK;
}

/* Command and parameters. */

static int
is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 2812: command = 1*letter / 3digit. */
static int
command_valid(const char *c)
{
	if (is_digit(c[0]))
		return is_digit(c[1]) && is_digit(c[2]) && c[3] == '\0';
	for (; *c != '\0'; c++)
		if (!is_letter(*c))
			return 0;
	return 1;
}

static void
params_parse(char *p, struct irc_message *m)
{
	for (;;) {
		p = skip_spaces(p);
		if (*p == '\0')
			return;
		/* A ':' starts the trailing parameter, the rest of the line.
		 * RFC 2812 lets the fifteenth take the rest without one:
		 * params =/ 14( SPACE middle ) [ SPACE [ ":" ] trailing ] */
		if (*p == ':' || m->nparams == IRC_PARAMS_MAX - 1) {
			m->params[m->nparams++] = *p == ':' ? p + 1 : p;
			return;
		}
		m->params[m->nparams++] = p;
		p = cut_word(p);
	}
}

/* The message. */

enum irc_parse_status
irc_parse(char *line, size_t len, struct irc_message *m)
{
	memset(m, 0, sizeof *m);
	/* Every part is a C string: nothing past a NUL could be pointed to. */
	len = strnlen(line, len);
	char *p = skip_spaces(line);
	if (*p == '\0')
		return IRC_PARSE_EMPTY;

	char *tags = NULL;
	size_t tag_bytes = 0;
	if (*p == '@') {
		char *end = p + 1 + strcspn(p + 1, " ");
		/* The IRCv3 limit counts the '@' and the space after the tags,
		 * even when the space is missing. */
		if ((size_t)(end - p) + 1 > IRC_TAGS_LEN_MAX)
			return IRC_PARSE_TAGS_TOO_LONG;
		tags = p + 1;
		if (*end == ' ')
			*end++ = '\0';
		tag_bytes = (size_t)(end - p);
		p = end;
	}
	/* The 512 bytes of RFC 1459 are for what follows the tags, CR LF
	 * included; spaces before the message count against them too. */
	if (len - tag_bytes > IRC_LINE_MAX - 2)
		return IRC_PARSE_TOO_LONG;
	if (tags != NULL && tags_parse(tags, m) != IRC_PARSE_OK)
		return IRC_PARSE_TAGS_TOO_LONG;

	p = skip_spaces(p);
	if (*p == ':') {
		m->source = p + 1;
		p = skip_spaces(cut_word(p + 1));
	}
	if (*p == '\0')
		return IRC_PARSE_NO_COMMAND;
	/* Set even when invalid, so the caller can name it in its reply. */
	m->command = p;
	p = cut_word(p);
	if (!command_valid(m->command))
		return IRC_PARSE_BAD_COMMAND;
	params_parse(p, m);
	return IRC_PARSE_OK;
}

/* Escaping. */

static const char *
escape_of(char c)
{
	switch (c) {
	case ';':
		return "\\:";
	case ' ':
		return "\\s";
	case '\\':
		return "\\\\";
	case '\r':
		return "\\r";
	case '\n':
		return "\\n";
	default:
		return NULL;
	}
}

size_t
irc_tag_escape(char *dst, size_t cap, const char *value)
{
	size_t need = 0;
	size_t used = 0;
	for (; *value != '\0'; value++) {
		const char *esc = escape_of(*value);
		size_t n = esc != NULL ? 2 : 1;
		/* Stop at the first sequence that does not fit whole: half an
		 * escape would unescape to something else. */
		if (used == need && used + n < cap) {
			memcpy(dst + used, esc != NULL ? esc : value, n);
			used += n;
		}
		need += n;
	}
	if (cap > 0)
		dst[used] = '\0';
	return need;
}

int
irc_param_is_middle(const char *param)
{
	return param != NULL && param[0] != '\0' && param[0] != ':' &&
	    strchr(param, ' ') == NULL;
}

char *
irc_list_next(char **list)
{
	if (*list == NULL || **list == '\0')
		return NULL;
	char *item = *list;
	char *comma = strchr(item, ',');
	if (comma != NULL) {
		*comma = '\0';
		*list = comma + 1;
	} else
		*list = NULL;
	return item;
}
