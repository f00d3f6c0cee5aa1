/* CHATHISTORY's and SEARCH's parameters as store queries (see the
 * header). Everything here is the client's input: bounded, and never
 * trusted to be well formed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "doors/irc/irc_history_parse.h"
#include "doors/irc/irc_parse.h"

/* The years a timestamp may name: time_t and at_ms hold them all. */
#define IH_YEAR_MIN 1970
#define IH_YEAR_MAX 9999

static int
digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
ih_time_parse(const char *s, int64_t *ms)
{
	/* 2019-01-04T14:33:26.123Z: the fraction may be missing or of any
	 * length (only milliseconds count). */
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	if (y < IH_YEAR_MIN || y > IH_YEAR_MAX || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	int frac = 0, scale = 100;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += scale * (*p - '0');
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || t < 0)
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

void
ih_time_write(int64_t ms, char *buf)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char stamp[32];
	size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n != IH_TIME_LEN - 5) {  /* a year past 9999: no server-time */
		memcpy(buf, "1970-01-01T00:00:00.000Z", IH_TIME_LEN + 1);
		return;
	}
	char frac[8];
	snprintf(frac, sizeof frac, ".%03dZ", (int)(ms % 1000 + 1000) % 1000);
	memcpy(buf, stamp, n);
	memcpy(buf + n, frac, 6);
}

/* "msgid=X", "timestamp=T" or (star allowed) "*" into ref. */
static enum ih_status
parse_ref(const char *s, int star, int msgid_ok, struct store_ref *ref, uint8_t *foreign)
{
	memset(ref, 0, sizeof *ref);
	if (star && strcmp(s, "*") == 0)
		return IH_OK;
	if (strncmp(s, "timestamp=", 10) == 0) {
		if (ih_time_parse(s + 10, &ref->at_ms) < 0)
			return IH_BAD_TIME;
		ref->set = 1;
		return IH_OK;
	}
	if (msgid_ok && strncmp(s, "msgid=", 6) == 0 && s[6] != '\0') {
		ref->set = 1;
		/* Not one of ours (another server's, or garbage): it names no
		 * message here, which the answer says by being empty. */
		if (msgid_read(s + 6, NULL, NULL, NULL) < 0)
			*foreign = 1;
		else
			memcpy(ref->msgid, s + 6, MSGID_LEN + 1);
		return IH_OK;
	}
	return IH_BAD_REF;
}

static enum ih_status
parse_limit(const char *s, uint32_t max, uint32_t *out)
{
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return IH_BAD_LIMIT;
	/* Digits past what fits are as good as the max. */
	unsigned long long v = strlen(s) > 9 ? (unsigned long long)max + 1 : strtoull(s, NULL, 10);
	if (v == 0)
		return IH_BAD_LIMIT;
	*out = v > max ? max : (uint32_t)v;
	return IH_OK;
}

static const struct {
	const char *name;
	enum store_query_kind kind;
	int refs;                 /* references before the limit */
} subcommands[] = {
	{ "LATEST", SQ_LATEST, 1 },
	{ "BEFORE", SQ_BEFORE, 1 },
	{ "AFTER", SQ_AFTER, 1 },
	{ "AROUND", SQ_AROUND, 1 },
	{ "BETWEEN", SQ_BETWEEN, 2 },
	{ "TARGETS", SQ_TARGETS, 2 },
};

enum ih_status
ih_chathistory_parse(int nparams, char *const *params, uint32_t max,
    struct ih_request *out)
{
	memset(out, 0, sizeof *out);
	if (nparams < 1)
		return IH_NEED_MORE;
	out->sub = params[0];
	size_t i = 0, n = sizeof subcommands / sizeof subcommands[0];
	while (i < n && strcasecmp(subcommands[i].name, params[0]) != 0)
		i++;
	if (i == n)
		return IH_UNKNOWN;
	out->kind = subcommands[i].kind;
	int targets = out->kind == SQ_TARGETS;
	/* The subcommand, the target (not for TARGETS), refs, the limit. */
	int want = 1 + !targets + subcommands[i].refs + 1;
	if (nparams < want)
		return IH_NEED_MORE;
	if (nparams > want)
		return IH_TOO_MANY;
	int at = 1;
	if (!targets)
		out->target = params[at++];
	enum ih_status st;
	out->bad = params[at];
	if ((st = parse_ref(params[at++], out->kind == SQ_LATEST, !targets, &out->a,
	    &out->foreign)) != IH_OK)
		return st;
	if (subcommands[i].refs == 2) {
		out->bad = params[at];
		if ((st = parse_ref(params[at++], 0, !targets, &out->b, &out->foreign)) != IH_OK)
			return st;
	}
	out->bad = params[at];
	if ((st = parse_limit(params[at], max, &out->limit)) != IH_OK)
		return st;
	out->bad = NULL;
	return IH_OK;
}

/* One time attribute of SEARCH. */
static enum ih_status
search_time(const char *v, struct store_ref *ref)
{
	memset(ref, 0, sizeof *ref);
	if (v == NULL || ih_time_parse(v, &ref->at_ms) < 0)
		return IH_BAD_TIME;
	ref->set = 1;
	return IH_OK;
}

enum ih_status
ih_search_parse(const char *attrs, uint32_t max, struct ih_search *out)
{
	memset(out, 0, sizeof *out);
	out->limit = max;
	/* The attributes are written as message tags are: let the tag
	 * parser split and unescape them, as "@ATTRS X". */
	size_t n = strlen(attrs);
	out->bad = "*";
	if (n == 0)
		return IH_NEED_MORE;
	if (n + 3 >= sizeof out->buf || strchr(attrs, ' ') != NULL)
		return IH_BAD_REF;
	char line[sizeof out->buf];
	int len = snprintf(line, sizeof line, "@%s X", attrs);
	struct irc_message m;
	if (len < 0 || irc_parse(line, (size_t)len, &m) != IRC_PARSE_OK)
		return IH_BAD_REF;
	out->bad = NULL;
	size_t used = 0;
	for (int i = 0; i < m.ntags; i++) {
		const char *k = m.tags[i].key, *v = m.tags[i].value;
		/* bad names the attribute with a literal: k dies with line. */
		const char *name = strcmp(k, "in") == 0 ? "in" : strcmp(k, "from") == 0 ?
		    "from" : strcmp(k, "text") == 0 ? "text" : strcmp(k, "after") == 0 ?
		    "after" : strcmp(k, "before") == 0 ? "before" :
		    strcmp(k, "limit") == 0 ? "limit" : NULL;
		char **slot = name == NULL ? NULL : name[0] == 'i' ? &out->in :
		    name[0] == 'f' ? &out->from : name[0] == 't' ? &out->text : NULL;
		enum ih_status st = IH_OK;
		if (slot != NULL) {
			size_t vn = v ? strlen(v) : 0;
			if (vn == 0) {
				out->bad = name;
				return IH_BAD_REF;
			}
			/* Unescaping only shortens: the values fit in buf. */
			memcpy(out->buf + used, v, vn + 1);
			*slot = out->buf + used;
			used += vn + 1;
		} else if (name != NULL && name[0] == 'a')
			st = search_time(v, &out->after);
		else if (name != NULL && name[0] == 'b')
			st = search_time(v, &out->before);
		else if (name != NULL && name[0] == 'l')
			st = v ? parse_limit(v, max, &out->limit) : IH_BAD_LIMIT;
		if (st != IH_OK) {
			out->bad = name;
			return st;
		}
	}
	return IH_OK;
}
