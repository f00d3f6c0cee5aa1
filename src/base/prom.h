/* The Prometheus text exposition format, version 0.0.4: a family's
 * "# HELP" and "# TYPE" lines, then its samples, "name{label="value"} N",
 * one a line. Help text and label values are escaped here (backslash,
 * newline, and in label values the double quote), so a value from
 * anywhere cannot break a line. The text grows in one buffer, bounded by
 * PROM_TEXT_MAX; past it, or out of memory, prom_failed says so. */
#ifndef PARLEY_PROM_H
#define PARLEY_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"

/* The whole answer: the families are a fixed few, with no label per user
 * or room, so it is a few KiB; this is a bound, not a size. */
#define PROM_TEXT_MAX (1024 * 1024)
/* Labels on one sample, "le" included. */
#define PROM_LABELS_MAX 4

struct prom_label {
	const char *name;
	const char *value;
};

struct prom {
	char *text;     /* NUL-terminated, or NULL before the first line */
	size_t len, cap;
	int failed;     /* past PROM_TEXT_MAX, or out of memory */
};

void prom_init(struct prom *p);
void prom_free(struct prom *p);
int prom_failed(const struct prom *p);

/* A family's HELP and TYPE lines (type: "counter", "gauge",
 * "histogram"). A counter's name ends in _total. */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* One sample of name with n labels (labels may be NULL when n is 0). */
void prom_uint(struct prom *p, const char *name, const struct prom_label *labels, size_t n,
    uint64_t value);
void prom_double(struct prom *p, const char *name, const struct prom_label *labels, size_t n,
    double value);
/* A histogram's _bucket (cumulative, with "le", +Inf last), _sum and
 * _count samples; its values are divided by scale (1e6: microseconds
 * shown as seconds). */
void prom_histogram(struct prom *p, const char *name, const struct prom_label *labels,
    size_t n, const struct histogram *h, double scale);

/* value escaped as a label value is, into out (cap bytes, NUL-terminated,
 * cut if it must be): the length it needs, as snprintf. */
size_t prom_escape_label(char *out, size_t cap, const char *value);

#endif
