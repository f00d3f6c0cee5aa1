/* Unit tests for the search index's tokenizer, "parley" (sqlite_fts.c):
 * on ASCII text it splits the words itself; every word and offset must
 * be what unicode61 (remove_diacritics 2, as the index is made) gives,
 * after a room's tag (and text without a tag is unicode61's own). Random ASCII strings (every
 * byte from 1 to 127, and words longer than the cut) and non-ASCII ones
 * (which go to unicode61 as before) are split by both and compared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

#define TOKENS_MAX 512

struct tokens {
	size_t n;
	char *word[TOKENS_MAX];
	int len[TOKENS_MAX], start[TOKENS_MAX], end[TOKENS_MAX];
};

static int
take_token(void *ctx, int flags, const char *w, int n, int start, int end)
{
	(void)flags;
	struct tokens *t = ctx;
	assert_true(t->n < TOKENS_MAX);
	t->word[t->n] = malloc((size_t)n + 1);
	assert_non_null(t->word[t->n]);
	memcpy(t->word[t->n], w, (size_t)n);
	t->word[t->n][n] = '\0';
	t->len[t->n] = n;
	t->start[t->n] = start;
	t->end[t->n] = end;
	t->n++;
	return SQLITE_OK;
}

static void
tokens_free(struct tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->word[i]);
	t->n = 0;
}

struct fixture {
	sqlite3 *db;
	fts5_api *api;
	fts5_tokenizer parley_m, uni_m;
	Fts5Tokenizer *parley, *uni;
};

static fts5_api *
api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	assert_non_null(api);
	return api;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(store_fts_register(f->db), 0);
	f->api = api_of(f->db);
	const char *args[] = { "remove_diacritics", "2" };
	void *uctx = NULL;
	assert_int_equal(f->api->xFindTokenizer(f->api, "parley", &uctx, &f->parley_m), SQLITE_OK);
	assert_int_equal(f->parley_m.xCreate(uctx, args, 2, &f->parley), SQLITE_OK);
	assert_int_equal(f->api->xFindTokenizer(f->api, "unicode61", &uctx, &f->uni_m), SQLITE_OK);
	assert_int_equal(f->uni_m.xCreate(uctx, args, 2, &f->uni), SQLITE_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	f->parley_m.xDelete(f->parley);
	f->uni_m.xDelete(f->uni);
	sqlite3_close(f->db);
	free(f);
	return 0;
}

/* text split by parley (after tag and the separator, when tag is not
 * NULL) gives unicode61's words of text, each after the tag and cut as
 * the index cuts them, at unicode61's offsets past the tag. */
static void
same_words(struct fixture *f, const char *tag, const char *text, size_t n)
{
	/* Untagged text with the separator early is read as tagged. */
	if (tag == NULL && memchr(text, STORE_FTS_SEP, n) != NULL)
		return;
	struct tokens a = { 0 }, b = { 0 };
	size_t ntag = tag != NULL ? strlen(tag) + 1 : 0;
	char *in = malloc(ntag + n + 1);
	assert_non_null(in);
	if (tag != NULL) {
		memcpy(in, tag, ntag - 1);
		in[ntag - 1] = STORE_FTS_SEP;
	}
	memcpy(in + ntag, text, n);
	assert_int_equal(f->parley_m.xTokenize(f->parley, &a, FTS5_TOKENIZE_DOCUMENT, in,
	    (int)(ntag + n), take_token), SQLITE_OK);
	assert_int_equal(f->uni_m.xTokenize(f->uni, &b, FTS5_TOKENIZE_DOCUMENT, text, (int)n,
	    take_token), SQLITE_OK);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		size_t want = (size_t)b.len[i];
		if (tag != NULL && want > 256)
			want = 256;  /* a room's words are cut */
		size_t tl = tag != NULL ? ntag - 1 : 0;
		assert_int_equal(a.len[i], (int)(tl + want));
		if (tag != NULL)
			assert_memory_equal(a.word[i], tag, tl);
		assert_memory_equal(a.word[i] + tl, b.word[i], want);
		assert_int_equal(a.start[i], b.start[i] + (int)ntag);
		assert_int_equal(a.end[i], b.end[i] + (int)ntag);
	}
	tokens_free(&a);
	tokens_free(&b);
	free(in);
}

static uint64_t rng = 0x2545f4914f6cdd1du;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_ascii_as_unicode61(void **state)
{
	struct fixture *f = *state;
	char tag[STORE_FTS_TAG_LEN + 1];
	store_fts_tag("#lobby", tag);
	static const char *const fixed[] = {
		"", " ", "hello", "Hello, World!", "don't", "foo-bar_baz", "C++ (parens) col:on",
		"S12 Q3456 T1733140000000000000 xxxxxxxxxxxxxxxxxxxx", "a\x1f" "b", "x\x7f" "y",
		"  trailing  ", "ALLCAPS123abc", "e-mail@example.com 1.2.3",
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		same_words(f, NULL, fixed[i], strlen(fixed[i]));
		same_words(f, tag, fixed[i], strlen(fixed[i]));
	}
	/* Random ASCII: few characters, so words and separators both come. */
	char text[700];
	for (int round = 0; round < 3000; round++) {
		size_t n = rnd() % 80;
		if (round % 100 == 0)
			n = 300 + rnd() % 300;  /* a word past the cut, sometimes */
		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd();
			if (round % 100 == 0 || r % 4 != 0)
				text[i] = "aZ09mQ"[r % 6];
			else
				text[i] = (char)(1 + r % 127);
		}
		same_words(f, NULL, text, n);
		same_words(f, tag, text, n);
	}
}

static void
test_not_ascii_as_before(void **state)
{
	struct fixture *f = *state;
	char tag[STORE_FTS_TAG_LEN + 1];
	store_fts_tag("#dev", tag);
	static const char *const texts[] = {
		"caf\xc3\xa9 CR\xc3\x88ME br\xc3\xbbl\xc3\xa9" "e", "\xc3\x85ngstr\xc3\xb6m ok",
		"na\xc3\xafve-ASCII mix", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		same_words(f, NULL, texts[i], strlen(texts[i]));
		same_words(f, tag, texts[i], strlen(texts[i]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ascii_as_unicode61, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ascii_as_before, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
