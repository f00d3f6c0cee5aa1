/* Unit tests for the accounts service's pure parts: SCRAM-SHA-256 with
 * RFC 7677's example exchange (section 3) byte for byte, and its
 * refusals (a wrong proof, channel binding asked for, a changed nonce,
 * malformed messages, steps out of order); the KDF (argon2id: a hash
 * verifies its password only, carries its parameters, the dummy
 * verification works); the throttle (a burst, then refusals counted,
 * forgiveness with time, refunds, the table's bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "accounts/kdf.h"
#include "accounts/scram.h"
#include "accounts/throttle.h"

/* RFC 7677, section 3: user "user", password "pencil". */
#define V_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define V_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define V_SALT_B64 "W22ZaJ0SNY7soEsUEjb6gQ=="
#define V_SERVER_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define V_CLIENT_FINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define V_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

struct vector {
	uint8_t salt[16];
	size_t salt_len;
	uint8_t stored[SCRAM_KEY_LEN], server[SCRAM_KEY_LEN];
};

static void
vector_keys(struct vector *v)
{
	assert_int_equal(sodium_base642bin(v->salt, sizeof v->salt, V_SALT_B64,
	    strlen(V_SALT_B64), NULL, &v->salt_len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(v->salt_len, 16);
	assert_int_equal(scram_credentials("pencil", 6, v->salt, v->salt_len, 4096, v->stored,
	    v->server), 0);
}

/* Up to the server's first message, as in the example. */
static void
vector_start(struct scram *x, const struct vector *v)
{
	memset(x, 0, sizeof *x);
	assert_int_equal(scram_client_first(x, V_CLIENT_FIRST, strlen(V_CLIENT_FIRST)), SCRAM_OK);
	assert_string_equal(x->user, "user");
	assert_int_equal(scram_server_first(x, v->salt, v->salt_len, 4096, V_SERVER_NONCE),
	    SCRAM_OK);
	assert_string_equal(x->server_first, V_SERVER_FIRST);
}

static void
test_scram_rfc7677(void **state)
{
	(void)state;
	struct vector v;
	vector_keys(&v);
	struct scram x;
	vector_start(&x, &v);
	char out[SCRAM_SERVER_MSG_MAX + 1];
	assert_int_equal(scram_client_final(&x, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL), v.stored,
	    v.server, out), SCRAM_OK);
	assert_string_equal(out, V_SERVER_FINAL);
}

static void
test_scram_refusals(void **state)
{
	(void)state;
	struct vector v;
	vector_keys(&v);
	struct scram x;
	char out[SCRAM_SERVER_MSG_MAX + 1];

	/* The same proof against another password's keys. */
	uint8_t stored[SCRAM_KEY_LEN], server[SCRAM_KEY_LEN];
	assert_int_equal(scram_credentials("pencils", 7, v.salt, v.salt_len, 4096, stored,
	    server), 0);
	vector_start(&x, &v);
	assert_int_equal(scram_client_final(&x, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL), stored,
	    server, out), SCRAM_BAD_PROOF);
	/* One try per exchange. */
	assert_int_equal(scram_client_final(&x, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL), v.stored,
	    v.server, out), SCRAM_BAD_MESSAGE);

	/* A proof flipped by one bit. */
	vector_start(&x, &v);
	const char *bad = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=";
	assert_int_equal(scram_client_final(&x, bad, strlen(bad), v.stored, v.server, out),
	    SCRAM_BAD_PROOF);

	/* The server's nonce changed. */
	vector_start(&x, &v);
	bad = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	assert_int_equal(scram_client_final(&x, bad, strlen(bad), v.stored, v.server, out),
	    SCRAM_BAD_MESSAGE);

	/* The binding header not the one sent ("y,," is "eSws"). */
	vector_start(&x, &v);
	bad = "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	assert_int_equal(scram_client_final(&x, bad, strlen(bad), v.stored, v.server, out),
	    SCRAM_BAD_MESSAGE);

	/* No proof, or a proof that is not base64 of 32 bytes. */
	vector_start(&x, &v);
	bad = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	assert_int_equal(scram_client_final(&x, bad, strlen(bad), v.stored, v.server, out),
	    SCRAM_BAD_MESSAGE);
	vector_start(&x, &v);
	bad = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA";
	assert_int_equal(scram_client_final(&x, bad, strlen(bad), v.stored, v.server, out),
	    SCRAM_BAD_MESSAGE);

	/* First messages that are refused. */
	static const char *const firsts[] = {
		"p=tls-unique,,n=user,r=abc",  /* channel binding */
		"",
		"n",
		"x,,n=user,r=abc",
		"n,,r=abc,n=user",             /* out of order */
		"n,,m=ext,n=user,r=abc",       /* a mandatory extension */
		"n,,n=,r=abc",
		"n,,n=us=er,r=abc",            /* a bad escape */
		"n,,n=user,r=",
		"n,,n=user,r=a b",
		"n,a=other,n=user,r=abc",      /* acting as someone else */
		"n,,n=user",
	};
	for (size_t i = 0; i < sizeof firsts / sizeof *firsts; i++) {
		memset(&x, 0, sizeof x);
		enum scram_status st = scram_client_first(&x, firsts[i], strlen(firsts[i]));
		assert_int_equal(st, i == 0 ? SCRAM_NO_BINDING : SCRAM_BAD_MESSAGE);
	}
	/* A NUL inside is refused, an escaped name taken. */
	memset(&x, 0, sizeof x);
	assert_int_equal(scram_client_first(&x, "n,,n=u\0s,r=abc", 14), SCRAM_BAD_MESSAGE);
	memset(&x, 0, sizeof x);
	const char *esc = "n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=abc";
	assert_int_equal(scram_client_first(&x, esc, strlen(esc)), SCRAM_OK);
	assert_string_equal(x.user, "a,b=c");
	/* A final before the server's first. */
	memset(&x, 0, sizeof x);
	assert_int_equal(scram_client_first(&x, V_CLIENT_FIRST, strlen(V_CLIENT_FIRST)), SCRAM_OK);
	assert_int_equal(scram_client_final(&x, V_CLIENT_FINAL, strlen(V_CLIENT_FINAL), v.stored,
	    v.server, out), SCRAM_BAD_MESSAGE);
}

static void
test_kdf(void **state)
{
	(void)state;
	assert_int_equal(kdf_init(), 0);
	char h1[KDF_HASH_MAX], h2[KDF_HASH_MAX];
	assert_int_equal(kdf_hash("correct horse", 13, h1), 0);
	assert_int_equal(kdf_hash("correct horse", 13, h2), 0);
	/* Salted: the same password, another string. */
	assert_string_not_equal(h1, h2);
	assert_non_null(strstr(h1, "$argon2id$"));
	char params[64];
	snprintf(params, sizeof params, "$m=%u,t=%u,p=1$", KDF_MEMLIMIT / 1024, KDF_OPSLIMIT);
	assert_non_null(strstr(h1, params));
	assert_int_equal(kdf_verify(h1, "correct horse", 13), 1);
	assert_int_equal(kdf_verify(h2, "correct horse", 13), 1);
	assert_int_equal(kdf_verify(h1, "correct horsE", 13), 0);
	assert_int_equal(kdf_verify(h1, "correct hors", 12), 0);
	assert_int_equal(kdf_verify("not a hash", "correct horse", 13), 0);
	assert_int_equal(kdf_needs_rehash(h1), 0);
	/* A hash of other parameters verifies, and wants remaking. */
	char weak[crypto_pwhash_STRBYTES];
	assert_int_equal(crypto_pwhash_str_alg(weak, "pw", 2, 1, 8192,
	    crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_equal(kdf_verify(weak, "pw", 2), 1);
	assert_int_equal(kdf_needs_rehash(weak), 1);
	/* The built-in dummy hash has this build's parameters (else every
	 * start makes one: change it with them) and matches nothing. */
	assert_non_null(strstr(kdf_dummy_hash, params));
	assert_int_equal(kdf_needs_rehash(kdf_dummy_hash), 0);
	assert_int_equal(kdf_verify(kdf_dummy_hash, "", 0), 0);
	assert_int_equal(kdf_verify_dummy("anything", 8), 0);
}

static void
test_throttle(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(3, 5, 60000);
	assert_non_null(t);
	int64_t now = 1000000;
	/* Five failures pass, the sixth attempt is refused. */
	int allowed = 0, refused = 0;
	for (int i = 0; i < 10; i++) {
		if (throttle_allowed(t, "alice", now)) {
			allowed++;
			throttle_fail(t, "alice", now);
		} else {
			refused++;
		}
	}
	assert_int_equal(allowed, 5);
	assert_int_equal(refused, 5);
	/* Others are not held back. */
	assert_true(throttle_allowed(t, "bob", now));
	/* A minute forgives one failure: one more attempt. */
	assert_false(throttle_allowed(t, "alice", now + 59999));
	assert_true(throttle_allowed(t, "alice", now + 60000));
	throttle_fail(t, "alice", now + 60000);
	assert_false(throttle_allowed(t, "alice", now + 60000));
	/* A refund gives one back; a clear all. */
	throttle_refund(t, "alice", now + 60000);
	assert_true(throttle_allowed(t, "alice", now + 60000));
	throttle_clear(t, "alice");
	assert_int_equal(throttle_size(t), 0);
	/* Bounded: the oldest touched is forgotten. */
	for (int i = 0; i < 5; i++)
		throttle_fail(t, "a", now);
	throttle_fail(t, "b", now);
	throttle_fail(t, "c", now);
	assert_int_equal(throttle_size(t), 3);
	assert_false(throttle_allowed(t, "a", now));
	throttle_fail(t, "d", now);
	assert_int_equal(throttle_size(t), 3);
	assert_true(throttle_allowed(t, "a", now));  /* forgotten */
	/* A long key is cut, not refused. */
	char big[200];
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	throttle_fail(t, big, now);
	assert_true(throttle_allowed(t, big, now));
	throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_scram_refusals),
		cmocka_unit_test(test_kdf),
		cmocka_unit_test(test_throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
