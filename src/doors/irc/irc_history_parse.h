/* Reading the parameters of CHATHISTORY (IRCv3 draft/chathistory) and
 * SEARCH (soju.im/search) into store queries: pure functions of the
 * client's words, with no conn, hub or store behind them, so a fuzzer
 * can drive them (tests/fuzz/fuzz_history_parse.c). */
#ifndef PARLEY_IRC_HISTORY_PARSE_H
#define PARLEY_IRC_HISTORY_PARSE_H

#include <stdint.h>

#include "store/store.h"

/* What is wrong with a request; each is one FAIL the specification
 * names (irc_chathistory.c says which). */
enum ih_status {
	IH_OK,
	IH_UNKNOWN,        /* no such subcommand */
	IH_NEED_MORE,      /* too few parameters */
	IH_TOO_MANY,       /* too many parameters */
	IH_BAD_REF,        /* a reference that is neither msgid=, timestamp= nor
	                    * (LATEST only) "*"; or TARGETS given a msgid */
	IH_BAD_TIME,       /* timestamp= that is no server-time */
	IH_BAD_LIMIT,      /* not a number above 0 */
};

/* "CHATHISTORY sub target ref [ref] limit", or "TARGETS ts ts limit". */
struct ih_request {
	enum store_query_kind kind;
	const char *sub;          /* the subcommand as given (FAIL's context) */
	const char *target;       /* NULL for TARGETS */
	struct store_ref a, b;
	uint32_t limit;           /* at most the max given; 0 never */
	uint8_t foreign;          /* a msgid= that is not of our form: nothing
	                           * the store holds can match it */
	const char *bad;          /* the parameter at fault, or NULL */
};

/* params[0] is the subcommand; limits above max are lowered to max. */
enum ih_status ih_chathistory_parse(int nparams, char *const *params, uint32_t max,
    struct ih_request *out);

/* SEARCH's attributes ("in=#chan;text=hello;limit=10", escaped as tags
 * are): in, from, text, after, before, limit; others are ignored. */
struct ih_search {
	char *in, *from, *text;   /* unescaped, in buf; NULL when not given */
	struct store_ref after, before;
	uint32_t limit;           /* max when not given */
	const char *bad;          /* the attribute at fault */
	char buf[512 + 8];        /* the attributes, split and unescaped */
};

enum ih_status ih_search_parse(const char *attrs, uint32_t max, struct ih_search *out);

/* "YYYY-MM-DDThh:mm:ss[.fff]Z" (server-time) as Unix milliseconds: 0,
 * or -1 when s is not one. */
int ih_time_parse(const char *s, int64_t *ms);
/* Unix milliseconds as server-time into buf (IH_TIME_LEN + 1 bytes). */
#define IH_TIME_LEN 24
void ih_time_write(int64_t ms, char *buf);

#endif
