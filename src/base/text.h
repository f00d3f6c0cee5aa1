/* What the server does to text before anyone else sees it. */
#ifndef PARLEY_TEXT_H
#define PARLEY_TEXT_H

#include <stddef.h>

/* Most bytes text_clean can produce from n input bytes: each invalid byte
 * may become a three-byte U+FFFD. */
#define TEXT_CLEAN_MAX(n) ((n) * 3)

/* Copies src to dst (which holds TEXT_CLEAN_MAX(n) + 1 bytes), removing NUL
 * bytes, turning CR into a space and replacing each maximal invalid UTF-8
 * sequence with U+FFFD.
 * Returns the length written; dst is NUL-terminated. */
size_t text_clean(char *dst, const char *src, size_t n);

/* What may follow lead byte c in valid UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF): the sequence's length, and the
 * range of its second byte (the others are 0x80-0xBF). 0 when c cannot
 * start a sequence. */
int utf8_lead(unsigned char c, size_t *len, unsigned char *lo, unsigned char *hi);

/* How many bytes of s (n bytes of valid UTF-8) fit in max without
 * cutting a character in two: n when all do. Never 0 when n and max are
 * not: a max too small for the first character cuts it anyway, so a
 * caller that loops always advances. */
size_t utf8_fit(const char *s, size_t n, size_t max);

/* s, or its first max bytes cut between characters copied into buf
 * (max + 1 bytes): s itself when it fits, NULL when s is NULL. */
const char *text_cut(const char *s, size_t max, char *buf);

/* A copy of s cut to at most max bytes (max >= 4) between characters, so
 * a cut never makes valid UTF-8 invalid. NULL when out of memory. */
char *text_ndup(const char *s, size_t max);

/* 1 when s (n bytes) is valid UTF-8 with no NUL and no CR. */
int text_is_clean(const char *s, size_t n);

/* 1 when s (n bytes) is one line: at most max bytes, clean (above) and
 * without LF. What every door and every node must hold a stored or
 * relayed text to, so that it can never split into two lines. */
int text_is_line(const char *s, size_t n, size_t max);

/* Copies src (valid UTF-8) to dst (strlen(src) + 1 bytes) as a terminal
 * may show it: IRC formatting (bold \x02, colour \x03 with its numbers,
 * hex colour \x04 with its digits, \x0f reset, \x11 monospace, \x16
 * reverse, \x1d italic, \x1e strike, \x1f underline) is dropped, and so
 * is every other control character (C0 but TAB, DEL, and C1 U+0080-U+009F),
 * so that nobody's text can move a cursor, clear a screen or retitle a
 * window. Returns the length written. */
size_t text_for_terminal(char *dst, const char *src, int keep_lf);
/* 1 when text_for_terminal would change s. keep_lf keeps LF, for a text
 * its reader splits into lines itself. */
int text_has_controls(const char *s, int keep_lf);

/* Skips spaces; returns the next word (NUL-terminated in place) and
 * advances *s past it. Returns NULL when no word is left. */
char *text_word(char **s);
/* Skips spaces; returns what is left, or NULL when nothing is. */
char *text_rest(char **s);

#endif
