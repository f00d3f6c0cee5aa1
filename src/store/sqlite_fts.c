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
 * without the separator is tokenized as unicode61 would.
 *
 * A room's text that is all ASCII (most of it) is split here, not by
 * unicode61:
 * its words are then the runs of ASCII letters and digits, folded to
 * lower case, exactly what unicode61 makes of them (its categories
 * "L* N* Co" hold no other ASCII character, and diacritics are not
 * ASCII), written straight after the tag, without unicode61's fold
 * buffer and a second callback per word. Any other text goes to
 * unicode61. */
#include "store/sqlite_int.h"

#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The longest word indexed: longer ones are cut (the same way when
 * stored and when looked for). */
#define FTS_WORD_MAX 256

struct parley_tokenizer {
	fts5_tokenizer inner_api;     /* unicode61's methods */
	Fts5Tokenizer *inner;
	int ascii_here;               /* ASCII text split here: unicode61 has
	                               * no option that changes what it makes
	                               * of ASCII (tokenchars, separators,
	                               * categories) */
	unsigned char fold[256];      /* an ASCII word character folded; 0: a
	                               * separator */
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
	/* FNV-1a, 64 bits, its halves folded, 48 bits of it written with 64
	 * characters (none of them FTS5's quote nor the separator): a
	 * collision only makes the index offer another room's rows, which
	 * the query's join on events.target drops, and a word's 8 bytes of
	 * tag instead of 16 took some 900 instructions off indexing a message
	 * (hashing, sorting and writing longer terms; callgrind of store-bench). */
	uint64_t h = 0xcbf29ce484222325u;
	for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3u;
	}
	h ^= h >> 32;
	static const char digits[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
	for (int i = STORE_FTS_TAG_LEN - 1; i >= 0; i--, h >>= 6)
		out[i] = digits[h & 63];
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
	t->ascii_here = 1;
	for (int i = 0; i + 1 < nargs; i += 2)
		if (strcmp(args[i], "remove_diacritics") != 0)
			t->ascii_here = 0;
	/* unicode61's word characters in ASCII (its default categories, "L*
	 * N* Co"): letters and digits, letters folded to lower case. */
	for (int c = '0'; c <= '9'; c++)
		t->fold[c] = (unsigned char)c;
	for (int c = 'a'; c <= 'z'; c++)
		t->fold[c] = t->fold[c - 'a' + 'A'] = (unsigned char)c;
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

/* Whether the n bytes at p are all ASCII, eight at a time. */
static int
all_ascii(const char *p, size_t n)
{
	uint64_t or = 0, v;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		or |= v;
	}
	for (; i < n; i++)
		or |= (unsigned char)p[i];
	return (or & UINT64_C(0x8080808080808080)) == 0;
}

/* The words of n bytes of ASCII text, as unicode61 gives them (folded,
 * each with its byte offsets), each after the tag in w->buf. */
static int
tok_ascii(const struct parley_tokenizer *t, struct token_wrap *w, const char *text, int n)
{
	const unsigned char *in = (const unsigned char *)text;
	const unsigned char *fold = t->fold;
	char *out = w->buf + w->ntag;
	int i = 0, rc = SQLITE_OK;
	while (rc == SQLITE_OK) {
		while (i < n && fold[in[i]] == 0)
			i++;
		if (i == n)
			break;
		/* Folded as it is read, up to the cut; the rest is only read. */
		int start = i, cut = n - i > FTS_WORD_MAX ? i + FTS_WORD_MAX : n;
		unsigned char c;
		while (i < cut && (c = fold[in[i]]) != 0)
			out[i++ - start] = (char)c;
		int len = i - start;
		while (i < n && fold[in[i]] != 0)
			i++;
		rc = w->token(w->ctx, 0, w->buf, (int)w->ntag + len, start + w->offset,
		    i + w->offset);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int ntext,
    int (*token)(void *, int, const char *, int, int, int))
{
	struct parley_tokenizer *t = (struct parley_tokenizer *)p;
	const char *sep = ntext > 0 ? memchr(text, STORE_FTS_SEP, (size_t)ntext) : NULL;
	struct token_wrap w = { .ctx = ctx, .token = token };
	if (sep != NULL && sep - text <= STORE_FTS_TAG_LEN) {
		w.ntag = (size_t)(sep - text);
		memcpy(w.buf, text, w.ntag);
		w.offset = (int)(sep - text) + 1;
	}
	if (w.offset == 0)
		return t->inner_api.xTokenize(t->inner, ctx, flags, text, ntext, token);
	if (t->ascii_here && all_ascii(sep + 1, (size_t)(ntext - w.offset)))
		return tok_ascii(t, &w, sep + 1, ntext - w.offset);
	return t->inner_api.xTokenize(t->inner, &w, flags, sep + 1, ntext - w.offset,
	    tok_prefixed);
}

static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	return api != NULL && api->iVersion >= 2 ? api : NULL;
}

/* A search's word that unicode61 splits ("don't": don, t; "foo-bar")
 * is a phrase: its parts one after the other. The index keeps no
 * positions (detail=none, schema version 6), so a search asks it for
 * rows holding every part, and parley_phrases() keeps those where the
 * parts follow one another, as FTS5's phrase would have. */
struct store_fts_words {
	fts5_tokenizer m;
	Fts5Tokenizer *uni;           /* unicode61, as the index's is made */
};

struct store_fts_words *
store_fts_words_new(sqlite3 *db)
{
	fts5_api *api = fts5_api_of(db);
	struct store_fts_words *w = calloc(1, sizeof *w);
	void *uctx = NULL;
	const char *args[] = { "remove_diacritics", "2" };
	if (api == NULL || w == NULL ||
	    api->xFindTokenizer(api, "unicode61", &uctx, &w->m) != SQLITE_OK ||
	    w->m.xCreate(uctx, args, 2, &w->uni) != SQLITE_OK) {
		free(w);
		return NULL;
	}
	return w;
}

void
store_fts_words_free(struct store_fts_words *w)
{
	if (w == NULL)
		return;
	w->m.xDelete(w->uni);
	free(w);
}

struct split {
	int (*fn)(void *, const char *, size_t, size_t, size_t);
	void *ctx;
};

static int
split_word(void *p, int flags, const char *word, int n, int start, int end)
{
	(void)flags;
	struct split *sp = p;
	size_t len = n < 0 ? 0 : (size_t)n;
	return sp->fn(sp->ctx, word, len > FTS_WORD_MAX ? FTS_WORD_MAX : len,
	    start < 0 ? 0 : (size_t)start, end < start ? (size_t)start : (size_t)end);
}

int
store_fts_words_split(struct store_fts_words *w, const char *text, size_t n,
    int (*fn)(void *, const char *, size_t, size_t, size_t), void *ctx)
{
	struct split sp = { fn, ctx };
	if (n == 0)
		return 0;
	return w->m.xTokenize(w->uni, &sp, FTS5_TOKENIZE_DOCUMENT, text, (int)n,
	    split_word) == SQLITE_OK ? 0 : -1;
}

/* A row's words, one after the other in bytes, where each is. */
struct row_words {
	struct buf bytes;
	struct word_at {
		size_t off, len;
	} *at;
	size_t n, cap;
};

static int
row_word(void *p, const char *word, size_t len, size_t start, size_t end)
{
	(void)start;
	(void)end;
	struct row_words *r = p;
	struct word_at *at = buf_grow(r->at, &r->cap, r->n + 1, sizeof *at, 32);
	if (at == NULL)
		return SQLITE_NOMEM;
	r->at = at;
	at[r->n] = (struct word_at){ r->bytes.len, len };
	if (buf_append(&r->bytes, word, len) != 0)
		return SQLITE_NOMEM;
	r->n++;
	return SQLITE_OK;
}

/* Whether the row's words hold the phrase at p (n bytes: its words
 * apart by STORE_FTS_SEP, a leading '*' when its last word is a
 * prefix) somewhere, one after the other. */
static int
row_has_phrase(const struct row_words *r, const char *p, size_t n)
{
	int prefix = n > 0 && p[0] == '*';
	if (prefix) {
		p++;
		n--;
	}
	for (size_t i = 0; i < r->n; i++) {
		const char *q = p, *end = p + n;
		size_t k = i;
		for (;;) {
			const char *e = memchr(q, STORE_FTS_SEP, (size_t)(end - q));
			size_t ql = (size_t)((e != NULL ? e : end) - q);
			if (k == r->n)
				break;
			int last = e == NULL;
			const struct word_at *a = &r->at[k];
			if (!(a->len == ql || (last && prefix && a->len > ql)) ||
			    memcmp(r->bytes.data + a->off, q, ql) != 0)
				break;
			if (last)
				return 1;
			q = e + 1;
			k++;
		}
	}
	return 0;
}

/* parley_phrases(text, phrases): 1 when text holds every phrase (apart
 * by STORE_FTS_PHRASE_SEP, each as row_has_phrase reads it). */
static void
phrases_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct store_fts_words *w = sqlite3_user_data(cx);
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	const char *spec = (const char *)sqlite3_value_text(argv[1]);
	if (text == NULL || spec == NULL) {
		sqlite3_result_int(cx, 0);
		return;
	}
	struct row_words r = { 0 };
	if (store_fts_words_split(w, text, (size_t)sqlite3_value_bytes(argv[0]), row_word,
	        &r) != 0) {
		sqlite3_result_error_nomem(cx);
		goto out;
	}
	int all = 1;
	for (const char *p = spec; all;) {
		const char *e = strchr(p, STORE_FTS_PHRASE_SEP);
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		all = row_has_phrase(&r, p, n);
		if (e == NULL)
			break;
		p = e + 1;
	}
	sqlite3_result_int(cx, all);
out:
	buf_free(&r.bytes);
	free(r.at);
}

static void
words_destroy(void *p)
{
	store_fts_words_free(p);
}

/* parley_fts_text(target, text): store_fts_text's, for a batch of the
 * index written by one statement (sqlite_writer.c); NULL for NULL. */
static void
fts_text_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const char *target = (const char *)sqlite3_value_text(argv[0]);
	const char *text = (const char *)sqlite3_value_text(argv[1]);
	if (target == NULL || text == NULL)
		return;
	char *out = store_fts_text(target, text);
	if (out == NULL)
		sqlite3_result_error_nomem(cx);
	else
		sqlite3_result_text(cx, out, -1, free);
}

int
store_fts_register(sqlite3 *db)
{
	fts5_api *api = fts5_api_of(db);
	if (api == NULL)
		return -1;
	static fts5_tokenizer methods = { tok_create, tok_delete, tok_tokenize };
	if (api->xCreateTokenizer(api, "parley", api, &methods, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_create_function_v2(db, "parley_fts_text", 2,
	        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, fts_text_fn, NULL, NULL,
	        NULL) != SQLITE_OK)
		return -1;
	struct store_fts_words *w = store_fts_words_new(db);
	if (w == NULL)
		return -1;
	/* Its destructor frees w, even when the function is not made. */
	return sqlite3_create_function_v2(db, "parley_phrases", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, w, phrases_fn, NULL, NULL,
	    words_destroy) == SQLITE_OK ? 0 : -1;
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
