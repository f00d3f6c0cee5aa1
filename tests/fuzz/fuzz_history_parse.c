/* libFuzzer: CHATHISTORY's parameters and SEARCH's attributes, as any
 * client may send them, never read or point outside what they were
 * given, and what they accept keeps the rules the doors rely on: a limit
 * from 1 to the max, a target unless TARGETS, a reference set as its
 * kind says; a server-time read back from its writing is the same. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doors/irc/irc_history_parse.h"
#include "doors/irc/irc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 100

static void
check_ref(const struct store_ref *r)
{
	if (r->msgid[0] != '\0')
		assert(r->set && msgid_read(r->msgid, NULL, NULL, NULL) == 0);
}

static void
check_time(int64_t ms)
{
	char buf[IH_TIME_LEN + 1];
	ih_time_write(ms, buf);
	assert(strlen(buf) == IH_TIME_LEN);
	int64_t back;
	assert(ih_time_parse(buf, &back) == 0 && back == ms);
}

static void
fuzz_chathistory(char *s)
{
	char *params[IRC_PARAMS_MAX];
	int n = 0;
	for (char *p = s; n < IRC_PARAMS_MAX;) {
		params[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	struct ih_request req;
	if (ih_chathistory_parse(n, params, FUZZ_MAX, &req) != IH_OK)
		return;
	assert(req.limit >= 1 && req.limit <= FUZZ_MAX);
	assert((req.kind == SQ_TARGETS) == (req.target == NULL));
	assert(req.kind != SQ_SEARCH);
	check_ref(&req.a);
	check_ref(&req.b);
	if (req.kind == SQ_TARGETS)
		assert(req.a.set && req.b.set && !req.a.msgid[0] && !req.b.msgid[0]);
	if (req.kind != SQ_LATEST && !req.foreign)
		assert(req.a.set);
	if (req.a.set && !req.a.msgid[0] && !req.foreign)
		check_time(req.a.at_ms);
}

static void
fuzz_search(const char *s)
{
	struct ih_search q;
	if (ih_search_parse(s, FUZZ_MAX, &q) != IH_OK)
		return;
	assert(q.limit >= 1 && q.limit <= FUZZ_MAX);
	const char *end = q.buf + sizeof q.buf;
	for (const char *v = q.in; v; v = NULL)
		assert(v >= q.buf && v + strlen(v) < end && *v);
	for (const char *v = q.from; v; v = NULL)
		assert(v >= q.buf && v + strlen(v) < end && *v);
	for (const char *v = q.text; v; v = NULL)
		assert(v >= q.buf && v + strlen(v) < end && *v);
	if (q.after.set)
		check_time(q.after.at_ms);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 2 * IRC_LINE_MAX)
		return 0;
	char *s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1)
		fuzz_search(s);
	else
		fuzz_chathistory(s);
	free(s);
	return 0;
}
