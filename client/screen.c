#include "screen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "term.h"

static int use_colour;

/* Own words cyan, private ones magenta, the server's notices yellow and
 * its errors bold red; others' words keep the terminal's own colour. */
static const char *const colours[] = {
	[SCREEN_OWN] = "\033[36m",
	[SCREEN_OTHER] = "",
	[SCREEN_PRIVATE] = "\033[35m",
	[SCREEN_NOTICE] = "\033[33m",
	[SCREEN_ERROR] = "\033[1;31m",
};

void
screen_init(void)
{
	/* NO_COLOR set to anything turns colour off, even to "" (where
	 * https://no-color.org would still colour). */
	use_colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
}

/* 1 when the word at p, ending at the first of end (a character) or a
 * space, is the nickname nick. */
static int
word_is_nick(const char *p, char end, const char *nick)
{
	char word[SESSION_NICK_MAX + 1];
	size_t n = strcspn(p, (char[]){ end, ' ', '\0' });

	if (nick[0] == '\0' || n == 0 || n > SESSION_NICK_MAX || p[n] != end)
		return 0;
	memcpy(word, p, n);
	word[n] = '\0';
	return session_same_name(word, nick);
}

enum screen_kind
screen_kind_of(const char *line, const char *mynick)
{
	if (strncmp(line, "!! ", 3) == 0)
		return SCREEN_ERROR;
	if (strncmp(line, "-- ", 3) == 0)
		return SCREEN_NOTICE;
	if (line[0] == '*' || strncmp(line, "-> *", 4) == 0)
		return SCREEN_PRIVATE;
	if (line[0] != '#')
		return SCREEN_OTHER;

	const char *rest = strchr(line, ' ');
	if (rest == NULL)
		return SCREEN_OTHER;
	rest++;
	if (strncmp(rest, "-- ", 3) == 0)
		return SCREEN_NOTICE;
	/* "#room <nick> text" and "#room * nick text" */
	if (rest[0] == '<' && word_is_nick(rest + 1, '>', mynick))
		return SCREEN_OWN;
	if (strncmp(rest, "* ", 2) == 0 && word_is_nick(rest + 2, ' ', mynick))
		return SCREEN_OWN;
	return SCREEN_OTHER;
}

/* Length of the valid UTF-8 sequence of two or more bytes at s (n bytes
 * left), or 0 when there is none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4;
	else
		return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* Writes s to f with every byte that could drive the terminal defused:
 * C0 controls (but TAB) and DEL as ^X, C1 controls and bytes that are not
 * UTF-8 (a lone 0x9B is CSI to some terminals) as '?'. */
static void
put_safe(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	while (n > 0) {
		size_t k = 1;
		if (p[0] < 0x20 && p[0] != '\t') {
			fputc('^', f);
			fputc(p[0] + 0x40, f);
		} else if (p[0] == 0x7F) {
			fputs("^?", f);
		} else if (p[0] < 0x80) {
			fputc(p[0], f);
		} else if ((k = utf8_seq(p, n)) == 0) {
			k = 1;
			fputc('?', f);
		} else if (p[0] == 0xC2 && p[1] < 0xA0) {
			fputc('?', f);
		} else {
			fwrite(p, 1, k, f);
		}
		p += k;
		n -= k;
	}
}

int
screen_is_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = 1;
		if (*p < 0x20 || *p == 0x7F)
			return 0;
		if (*p >= 0x80 && ((k = utf8_seq(p, n)) == 0 ||
		    (p[0] == 0xC2 && p[1] < 0xA0)))
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

void
screen_print(enum screen_kind kind, const char *line, size_t len)
{
	const char *on = use_colour ? colours[kind] : "";

	term_hide();
	fputs(on, stdout);
	put_safe(stdout, line, len);
	if (*on != '\0')
		fputs("\033[0m", stdout);
	fputc('\n', stdout);
	fflush(stdout);
	term_show();
}

void
screen_warn(const char *fmt, ...)
{
	va_list ap;

	term_hide();
	fflush(stdout);
	fputs("parley: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	term_show();
}
