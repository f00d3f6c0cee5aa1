/* libFuzzer: the search index's words (sqlite_fts.c) on any bytes.
 * - The tokenizer "parley" splits "<tag>\x1f<text>" into unicode61's
 *   words of text (remove_diacritics 2), each after the tag and cut at
 *   256 bytes, at unicode61's offsets past the tag: its own ASCII split
 *   must never disagree with unicode61, or a search misses rows.
 * - A search's word split as a search splits it: each part's bytes,
 *   split alone, give that part again.
 * - parley_phrases(text, phrases): a word w of a search split as a
 *   search splits it (store_fts_words_split), each part after the
 *   other ('*' first: the last a prefix), is found in "a w b" for any
 *   a and b; and any bytes as text and phrases neither crash nor read
 *   out of bounds.
 * Input: byte 0 picks the check; the rest is the text (for the phrases,
 * a NUL splits it into a, w and b). */
#include <assert.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORD_CUT 256

struct tokens {
	size_t n, cap;
	struct token {
		char *w;
		int len, start, end;
	} *t;
};

static int
take(void *ctx, int flags, const char *w, int n, int start, int end)
{
	(void)flags;
	struct tokens *t = ctx;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->t = realloc(t->t, t->cap * sizeof *t->t);
		assert(t->t != NULL);
	}
	char *c = malloc((size_t)n + 1);
	assert(c != NULL);
	memcpy(c, w, (size_t)n);
	t->t[t->n++] = (struct token){ c, n, start, end };
	return SQLITE_OK;
}

static void
tokens_free(struct tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->t[i].w);
	free(t->t);
}

static sqlite3 *db;
static fts5_tokenizer parley_m, uni_m;
static Fts5Tokenizer *parley, *uni;
static struct store_fts_words *words;
static sqlite3_stmt *phrases_st;

static void
init(void)
{
	if (db != NULL)
		return;
	int rc = sqlite3_open(":memory:", &db);
	assert(rc == SQLITE_OK);
	rc = store_fts_register(db);
	assert(rc == 0);
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	assert(api != NULL);
	const char *args[] = { "remove_diacritics", "2" };
	void *uctx = NULL;
	rc = api->xFindTokenizer(api, "parley", &uctx, &parley_m);
	assert(rc == SQLITE_OK);
	rc = parley_m.xCreate(uctx, args, 2, &parley);
	assert(rc == SQLITE_OK);
	rc = api->xFindTokenizer(api, "unicode61", &uctx, &uni_m);
	assert(rc == SQLITE_OK);
	rc = uni_m.xCreate(uctx, args, 2, &uni);
	assert(rc == SQLITE_OK);
	words = store_fts_words_new(db);
	assert(words != NULL);
	rc = sqlite3_prepare_v2(db, "SELECT parley_phrases(?1, ?2)", -1, &phrases_st, NULL);
	assert(rc == SQLITE_OK);
}

static void
check_tokenizer(const char *text, size_t n, int flags)
{
	static const char tag[] = "Ab-_9xYz";
	size_t ntag = sizeof tag;  /* with the separator */
	char *in = malloc(ntag + n);
	assert(in != NULL);
	memcpy(in, tag, ntag - 1);
	in[ntag - 1] = STORE_FTS_SEP;
	memcpy(in + ntag, text, n);
	struct tokens a = { 0 }, b = { 0 };
	int rc = parley_m.xTokenize(parley, &a, flags, in, (int)(ntag + n), take);
	assert(rc == SQLITE_OK);
	rc = uni_m.xTokenize(uni, &b, flags, text, (int)n, take);
	assert(rc == SQLITE_OK);
	assert(a.n == b.n);
	for (size_t i = 0; i < a.n; i++) {
		int want = b.t[i].len > WORD_CUT ? WORD_CUT : b.t[i].len;
		assert(a.t[i].len == (int)(ntag - 1) + want);
		assert(memcmp(a.t[i].w, tag, ntag - 1) == 0);
		assert(memcmp(a.t[i].w + ntag - 1, b.t[i].w, (size_t)want) == 0);
		assert(a.t[i].start == b.t[i].start + (int)ntag);
		assert(a.t[i].end == b.t[i].end + (int)ntag);
	}
	tokens_free(&a);
	tokens_free(&b);
	/* Untagged: whatever it gives, without a crash. */
	struct tokens c = { 0 };
	parley_m.xTokenize(parley, &c, flags, text, (int)n, take);
	tokens_free(&c);
	free(in);
}

struct spec {
	const char *word;
	char *p;
	size_t n, parts;
};

static int
add_part(void *ctx, const char *w, size_t n, size_t start, size_t end)
{
	struct spec *s = ctx;
	/* A part's bytes in the word, split alone, are the part again (a
	 * search asks the index for them, sqlite_query.c add_word). */
	struct tokens t = { 0 };
	int rc = uni_m.xTokenize(uni, &t, FTS5_TOKENIZE_QUERY, s->word + start,
	    (int)(end - start), take);
	assert(rc == SQLITE_OK && t.n == 1);
	assert(memcmp(t.t[0].w, w, n) == 0 && (size_t)t.t[0].len >= n);
	assert((size_t)t.t[0].len == n || n == WORD_CUT);
	tokens_free(&t);
	s->p = realloc(s->p, s->n + n + 2);
	assert(s->p != NULL);
	if (s->parts > 0)
		s->p[s->n++] = STORE_FTS_SEP;
	memcpy(s->p + s->n, w, n);
	s->n += n;
	s->parts++;
	return 0;
}

static int
phrases(const char *text, size_t n, const char *spec, size_t sn)
{
	sqlite3_bind_text(phrases_st, 1, text, (int)n, SQLITE_STATIC);
	sqlite3_bind_text(phrases_st, 2, spec, (int)sn, SQLITE_STATIC);
	int rc = sqlite3_step(phrases_st), r = -1;
	if (rc == SQLITE_ROW)
		r = sqlite3_column_int(phrases_st, 0);
	sqlite3_reset(phrases_st);
	return r;
}

static void
check_phrases(const char *in, size_t n, int prefix)
{
	/* As text and phrases, any bytes. */
	const char *mid = memchr(in, '\0', n);
	size_t an = mid != NULL ? (size_t)(mid - in) : n;
	phrases(in, an, mid != NULL ? mid + 1 : "", mid != NULL ? n - an - 1 : 0);

	/* "a w b" holds w's parts, in order. */
	if (mid == NULL)
		return;
	const char *w = mid + 1, *end = memchr(w, '\0', n - an - 1);
	size_t wn = end != NULL ? (size_t)(end - w) : n - an - 1;
	const char *b = end != NULL ? end + 1 : "";
	size_t bn = end != NULL ? n - an - 1 - wn - 1 : 0;
	if (memchr(b, '\0', bn) != NULL)
		return;
	struct spec s = { .word = w };
	s.p = malloc(2);
	assert(s.p != NULL);
	if (prefix)
		s.p[s.n++] = '*';
	int rc = store_fts_words_split(words, w, wn, add_part, &s);
	assert(rc == 0);
	if (s.parts > 0) {
		char *text = malloc(an + wn + bn + 2);
		assert(text != NULL);
		memcpy(text, in, an);
		text[an] = ' ';
		memcpy(text + an + 1, w, wn);
		text[an + 1 + wn] = ' ';
		memcpy(text + an + wn + 2, b, bn);
		/* unicode61 reads the text up to its first NUL */
		size_t tn = an + wn + bn + 2;
		assert(phrases(text, tn, s.p, s.n) == 1);
		free(text);
	}
	free(s.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	init();
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] & 3) {
	case 0:
		check_tokenizer(text, n, FTS5_TOKENIZE_DOCUMENT);
		break;
	case 1:
		check_tokenizer(text, n, FTS5_TOKENIZE_QUERY);
		break;
	default:
		check_phrases(text, n, data[0] & 1);
		break;
	}
	return 0;
}
