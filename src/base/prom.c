#include "base/prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* The first size of the text: a typical answer fits. */
#define PROM_TEXT_FIRST 8192
/* A metric's name with its suffix (_bucket), and a number. */
#define PROM_NAME_MAX 128
#define PROM_NUMBER_MAX 40

void
prom_init(struct prom *p)
{
	*p = (struct prom){ 0 };
}

void
prom_free(struct prom *p)
{
	free(p->text);
	*p = (struct prom){ 0 };
}

int
prom_failed(const struct prom *p)
{
	return p->failed;
}

/* Room for n more bytes and the NUL. */
static int
reserve(struct prom *p, size_t n)
{
	if (p->failed)
		return -1;
	if (p->len + n + 1 > PROM_TEXT_MAX) {
		p->failed = 1;
		return -1;
	}
	if (p->len + n + 1 > p->cap) {
		char *grown = buf_grow(p->text, &p->cap, p->len + n + 1, 1, PROM_TEXT_FIRST);
		if (grown == NULL) {
			p->failed = 1;
			return -1;
		}
		p->text = grown;
	}
	return 0;
}

static void
put(struct prom *p, const char *s, size_t n)
{
	if (reserve(p, n) < 0)
		return;
	memcpy(p->text + p->len, s, n);
	p->len += n;
	p->text[p->len] = '\0';
}

static void
puts_(struct prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* s with backslash and newline escaped, and the double quote too in a
 * label value (quote). */
static void
put_escaped(struct prom *p, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			put(p, "\\\\", 2);
		else if (*s == '\n')
			put(p, "\\n", 2);
		else if (*s == '"' && quote)
			put(p, "\\\"", 2);
		else
			put(p, s, 1);
	}
}

size_t
prom_escape_label(char *out, size_t cap, const char *value)
{
	struct prom p;
	prom_init(&p);
	put_escaped(&p, value, 1);
	size_t need = p.len;
	if (cap > 0)
		snprintf(out, cap, "%s", p.text != NULL ? p.text : "");
	prom_free(&p);
	return need;
}

void
prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	put_escaped(p, help, 0);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	puts_(p, "\n");
}

/* name{a="x",b="y"} and the space before the value. */
static void
series(struct prom *p, const char *name, const struct prom_label *labels, size_t n)
{
	puts_(p, name);
	if (n > 0) {
		puts_(p, "{");
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				puts_(p, ",");
			puts_(p, labels[i].name);
			puts_(p, "=\"");
			put_escaped(p, labels[i].value, 1);
			puts_(p, "\"");
		}
		puts_(p, "}");
	}
	puts_(p, " ");
}

void
prom_uint(struct prom *p, const char *name, const struct prom_label *labels, size_t n,
    uint64_t value)
{
	char num[PROM_NUMBER_MAX];
	series(p, name, labels, n);
	snprintf(num, sizeof num, "%" PRIu64 "\n", value);
	puts_(p, num);
}

/* A float as the format writes it: the shortest %g that reads back as
 * v (0.0025, not 0.0025000000000000001); NaN and the infinities have
 * their own words. */
static void
format_double(char num[PROM_NUMBER_MAX], double v)
{
	if (isnan(v)) {
		snprintf(num, PROM_NUMBER_MAX, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(num, PROM_NUMBER_MAX, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(num, PROM_NUMBER_MAX, "%.*g", digits, v);
		if (strtod(num, NULL) == v)
			return;
	}
}

static void
put_double(struct prom *p, double v)
{
	char num[PROM_NUMBER_MAX];
	format_double(num, v);
	puts_(p, num);
}

void
prom_double(struct prom *p, const char *name, const struct prom_label *labels, size_t n,
    double value)
{
	series(p, name, labels, n);
	put_double(p, value);
	puts_(p, "\n");
}

void
prom_histogram(struct prom *p, const char *name, const struct prom_label *labels, size_t n,
    const struct histogram *h, double scale)
{
	char sample[PROM_NAME_MAX];
	struct prom_label with_le[PROM_LABELS_MAX];
	if (n >= PROM_LABELS_MAX) {
		p->failed = 1; /* a broken call, not input: no such histogram here */
		return;
	}
	for (size_t i = 0; i < n; i++)
		with_le[i] = labels[i];
	snprintf(sample, sizeof sample, "%s_bucket", name);
	uint64_t below = 0;
	for (unsigned i = 0; i <= h->n; i++) {
		char le[PROM_NUMBER_MAX];
		below += h->bucket[i];
		if (i < h->n)
			format_double(le, (double)h->le[i] / scale);
		else
			snprintf(le, sizeof le, "+Inf");
		with_le[n] = (struct prom_label){ "le", le };
		prom_uint(p, sample, with_le, n + 1, below);
	}
	snprintf(sample, sizeof sample, "%s_sum", name);
	prom_double(p, sample, labels, n, (double)h->sum / scale);
	snprintf(sample, sizeof sample, "%s_count", name);
	prom_uint(p, sample, labels, n, h->count);
}
