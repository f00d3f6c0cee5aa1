/* The search index's words are each a room's own. SQLite's unicode61
 * tokenizer splits the text into words; this one, "parley", puts the
 * target's tag (a hash of its name) before each of them, so "hello" said
 * in #lobby is another word than "hello" said in #dev. A search in one
 * room then reads the list of that room's rows holding the word, and
 * nothing of the other rooms': a word common elsewhere and absent here
 * costs nothing (a tokenizer that knew no rooms walked every match
 * elsewhere, 100 ms on 100,000 of them).
 *
 * The target rides in the indexed text, before a unit separator (0x1f):
 * "<tag>\x1f<text>". A query's phrase is written the same way. Text
 * without the separator is tokenized as unicode61 would. */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

/* The longest word indexed: longer ones are cut (the same way when
 * stored and when looked for). */
#define FTS_WORD_MAX 256

struct parley_tokenizer {
	fts5_tokenizer inner_api;     /* unicode61's methods */
	Fts5Tokenizer *inner;
};

struct token_wrap {
	void *ctx;
	int (*token)(void *, int, const char *, int, int, int);
	int offset;                   /* of the text after the separator */
	size_t ntag;
	char buf[STORE_FTS_TAG_LEN + FTS_WORD_MAX];
};

void
store_fts_tag(const char *target, char out[STORE_FTS_TAG_LEN + 1])
{
	/* FNV-1a, 64 bits: a collision only makes the index offer another
	 * room's rows, which the query's join on events.target drops. */
	uint64_t h = 0xcbf29ce484222325u;
	for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3u;
	}
	/* "%016llx" by hand: snprintf was about a seventh of indexing a
	 * message (callgrind of store-bench). */
	static const char hex[] = "0123456789abcdef";
	for (int i = STORE_FTS_TAG_LEN - 1; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 0xf];
	out[STORE_FTS_TAG_LEN] = '\0';
}

static int
tok_create(void *ctx, const char **args, int nargs, Fts5Tokenizer **out)
{
	fts5_api *api = ctx;
	void *uctx = NULL;
	struct parley_tokenizer *t = calloc(1, sizeof *t);
	if (t == NULL)
		return SQLITE_NOMEM;
	int rc = api->xFindTokenizer(api, "unicode61", &uctx, &t->inner_api);
	if (rc == SQLITE_OK)
		rc = t->inner_api.xCreate(uctx, args, nargs, &t->inner);
	if (rc != SQLITE_OK) {
		free(t);
		return rc;
	}
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

static void
tok_delete(Fts5Tokenizer *p)
{
	struct parley_tokenizer *t = (struct parley_tokenizer *)p;
	t->inner_api.xDelete(t->inner);
	free(t);
}

static int
tok_prefixed(void *p, int flags, const char *word, int n, int start, int end)
{
	struct token_wrap *w = p;
	size_t len = n < 0 ? 0 : (size_t)n;
	if (len > FTS_WORD_MAX)
		len = FTS_WORD_MAX;
	memcpy(w->buf + w->ntag, word, len);
	return w->token(w->ctx, flags, w->buf, (int)(w->ntag + len), start + w->offset,
	    end + w->offset);
}

static int
tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int ntext,
    int (*token)(void *, int, const char *, int, int, int))
{
	struct parley_tokenizer *t = (struct parley_tokenizer *)p;
	const char *sep = ntext > 0 ? memchr(text, STORE_FTS_SEP, (size_t)ntext) : NULL;
	if (sep == NULL || sep - text > STORE_FTS_TAG_LEN)
		return t->inner_api.xTokenize(t->inner, ctx, flags, text, ntext, token);
	struct token_wrap w = { .ctx = ctx, .token = token };
	w.ntag = (size_t)(sep - text);
	memcpy(w.buf, text, w.ntag);
	w.offset = (int)(sep - text) + 1;
	return t->inner_api.xTokenize(t->inner, &w, flags, sep + 1, ntext - w.offset,
	    tok_prefixed);
}

int
store_fts_register(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (api == NULL || api->iVersion < 2)
		return -1;
	static fts5_tokenizer methods = { tok_create, tok_delete, tok_tokenize };
	return api->xCreateTokenizer(api, "parley", api, &methods, NULL) == SQLITE_OK ? 0 : -1;
}

char *
store_fts_text(const char *target, const char *text)
{
	char tag[STORE_FTS_TAG_LEN + 1];
	store_fts_tag(target, tag);
	size_t n = strlen(text);
	char *out = malloc(STORE_FTS_TAG_LEN + 1 + n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, tag, STORE_FTS_TAG_LEN);
	out[STORE_FTS_TAG_LEN] = STORE_FTS_SEP;
	memcpy(out + STORE_FTS_TAG_LEN + 1, text, n + 1);
	return out;
}
