#include "base/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD";

int
utf8_lead(unsigned char c, size_t *len, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c < 0x80)
		*len = 1;
	else if (c >= 0xC2 && c <= 0xDF)
		*len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		*len = 3;
		if (c == 0xE0)
			*lo = 0xA0;
		else if (c == 0xED)
			*hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		*len = 4;
		if (c == 0xF0)
			*lo = 0x90;
		else if (c == 0xF4)
			*hi = 0x8F;
	} else
		return 0;
	return 1;
}

/* Scans the UTF-8 sequence at s (n > 0 bytes available). Returns its length
 * and sets *valid; for an invalid one the length is that of its maximal
 * subpart (Unicode's "maximal subpart" rule, so one U+FFFD stands for each),
 * at least 1. */
static size_t
utf8_scan(const unsigned char *s, size_t n, int *valid)
{
	size_t len;
	unsigned char lo, hi;
	*valid = utf8_lead(s[0], &len, &lo, &hi);
	if (!*valid || len == 1)
		return 1;
	size_t i = 1;
	if (i < n && s[i] >= lo && s[i] <= hi) {
		i++;
		while (i < len && i < n && s[i] >= 0x80 && s[i] <= 0xBF)
			i++;
	}
	*valid = i == len;
	return i;
}

size_t
text_clean(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0, i = 0;
	while (i < n) {
		if (s[i] == 0) {
			i++;
			continue;
		}
		/* A CR inside a line would end it early for IRC clients and
		 * terminals: a forged line. It becomes a space. */
		if (s[i] == '\r') {
			dst[out++] = ' ';
			i++;
			continue;
		}
		int valid;
		size_t len = utf8_scan(s + i, n - i, &valid);
		if (valid) {
			memcpy(dst + out, s + i, len);
			out += len;
		} else {
			memcpy(dst + out, replacement, 3);
			out += 3;
		}
		i += len;
	}
	dst[out] = '\0';
	return out;
}

size_t
utf8_fit(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t fit = max;
	while (fit > 0 && ((unsigned char)s[fit] & 0xC0) == 0x80)
		fit--;
	return fit > 0 ? fit : max;
}

const char *
text_cut(const char *s, size_t max, char *buf)
{
	if (s == NULL)
		return NULL;
	size_t n = utf8_fit(s, strnlen(s, max + 1), max);
	if (s[n] == '\0')
		return s;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

char *
text_ndup(const char *s, size_t max)
{
	return strndup(s, utf8_fit(s, strlen(s), max));
}

/* Every byte of a 64-bit word set to b; whether a word holds a zero byte
 * (the classic bit trick: exact, no false positive). */
#define BYTES(b) (UINT64_C(0x0101010101010101) * (b))

static int
has_zero_byte(uint64_t w)
{
	return ((w - BYTES(0x01)) & ~w & BYTES(0x80)) != 0;
}

int
text_is_clean(const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	for (size_t i = 0; i < n;) {
		/* ASCII, most of what is said: eight bytes at a time while none
		 * is NUL, CR or above 0x7F. */
		while (n - i >= sizeof(uint64_t)) {
			uint64_t w;
			memcpy(&w, s + i, sizeof w);
			if (has_zero_byte(w) || has_zero_byte(w ^ BYTES(0x0D)) ||
			    (w & BYTES(0x80)))
				break;
			i += sizeof w;
		}
		if (i >= n)
			break;
		if (s[i] == 0 || s[i] == '\r')
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int valid;
		i += utf8_scan(s + i, n - i, &valid);
		if (!valid)
			return 0;
	}
	return 1;
}

char *
text_word(char **s)
{
	char *p = *s;
	while (*p == ' ')
		p++;
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	char *word = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p == ' ')
		*p++ = '\0';
	*s = p;
	return word;
}

char *
text_rest(char **s)
{
	char *p = *s;
	while (*p == ' ')
		p++;
	*s = p + strlen(p);
	return *p == '\0' ? NULL : p;
}

/* A control character a terminal could act on, at s: its length (1 for C0
 * and DEL, 2 for a C1 in UTF-8), or 0. TAB is text. */
static size_t
control_at(const unsigned char *s, int keep_lf)
{
	if (s[0] == '\t' || (s[0] == '\n' && keep_lf))
		return 0;
	if (s[0] < 0x20 || s[0] == 0x7F)
		return 1;
	if (s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F)
		return 2;
	return 0;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* How many bytes of colour arguments follow a \x03 (N[N][,N[N]]) or a
 * \x04 (RRGGBB[,RRGGBB]) at s. */
static size_t
colour_args(const unsigned char *s, int hex)
{
	size_t n = 0, max = hex ? 6 : 2;
	while (n < max && (hex ? is_hex(s[n]) : is_digit(s[n])))
		n++;
	if (n == 0 || (hex && n != 6))
		return 0;
	if (s[n] != ',')
		return n;
	size_t m = 0;
	while (m < max && (hex ? is_hex(s[n + 1 + m]) : is_digit(s[n + 1 + m])))
		m++;
	if (m == 0 || (hex && m != 6))
		return n;
	return n + 1 + m;
}

size_t
text_for_terminal(char *dst, const char *src, int keep_lf)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0;
	while (*s != '\0') {
		size_t n = control_at(s, keep_lf);
		if (n == 0) {
			dst[out++] = (char)*s++;
			continue;
		}
		if (*s == 0x03 || *s == 0x04)
			n += colour_args(s + 1, *s == 0x04);
		s += n;
	}
	dst[out] = '\0';
	return out;
}

int
text_has_controls(const char *src, int keep_lf)
{
	for (const unsigned char *s = (const unsigned char *)src; *s != '\0'; s++)
		if (control_at(s, keep_lf))
			return 1;
	return 0;
}

int
text_is_line(const char *s, size_t n, size_t max)
{
	return n <= max && memchr(s, '\n', n) == NULL && text_is_clean(s, n);
}
