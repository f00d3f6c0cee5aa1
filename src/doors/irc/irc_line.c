/* One IRC line: the one place that knows a line is at most IRC_LINE_MAX
 * bytes with its CR LF, and cuts what would be longer between UTF-8
 * characters. */
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "doors/irc/irc.h"

size_t
irc_text_room(size_t head, size_t tail)
{
	size_t used = head + tail + 2;
	return used + IRC_TEXT_ROOM_MIN <= IRC_LINE_MAX ? IRC_LINE_MAX - used : 0;
}

/* Whatever went in, the line is at most IRC_LINE_MAX bytes: only a
 * trailing text can be long (every name before it is bounded), so only a
 * trailing text is ever cut. */
size_t
irc_vformat(char *line, const char *prefix, const char *fmt, va_list ap)
{
	size_t max = IRC_LINE_MAX - 2;
	int p = snprintf(line, IRC_LINE_MAX, "%s", prefix);
	size_t n = p < 0 ? 0 : (size_t)p < max ? (size_t)p : max;
	int b = vsnprintf(line + n, IRC_LINE_MAX - n, fmt, ap);
	if (b > 0)
		n += (size_t)b < IRC_LINE_MAX - 1 - n ? (size_t)b : IRC_LINE_MAX - 1 - n;
	/* The cut at the end drops a character it would split. */
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		size_t len;
		unsigned char lo, hi;
		if (((unsigned char)line[n - k] & 0xC0) == 0x80)
			continue;
		if (utf8_lead((unsigned char)line[n - k], &len, &lo, &hi) && len > k)
			n -= k;
		break;
	}
	/* Inside, a name cut short with %.*s may end inside a character: the
	 * line is repaired, so every reply is valid UTF-8 whatever went in. */
	if (!text_is_clean(line, n)) {
		char fixed[TEXT_CLEAN_MAX(IRC_LINE_MAX) + 1];
		size_t fn = text_clean(fixed, line, n);
		n = utf8_fit(fixed, fn, max);
		memcpy(line, fixed, n);
	}
	n = utf8_fit(line, n, max);
	/* A line break inside would make two lines of one, a line forged by
	 * whatever text got here (the hub keeps them out; this is the last
	 * door). */
	for (char *lf = line; (lf = memchr(lf, '\n', (size_t)(line + n - lf))) != NULL;)
		*lf++ = ' ';
	memcpy(line + n, "\r\n", 2);
	return n + 2;
}

struct wire *
irc_wire_line(const char *fmt, ...)
{
	char line[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t n = irc_vformat(line, "", fmt, ap);
	va_end(ap);
	return wire_new(line, n);
}

void
irc_reason(char *buf, const char *before, const char *text, const char *after)
{
	size_t nb = strlen(before), na = strlen(after), max = HUB_REASON_MAX;
	if (nb + na > max)
		nb = na = 0;
	size_t nt = utf8_fit(text, strlen(text), max - nb - na);
	memcpy(buf, before, nb);
	memcpy(buf + nb, text, nt);
	memcpy(buf + nb + nt, after, na);
	buf[nb + nt + na] = '\0';
}
