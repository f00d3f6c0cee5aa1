/* SCRAM-SHA-256's server side (RFC 5802 section 3, RFC 7677), over
 * OpenSSL's PBKDF2, HMAC and SHA-256; base64 by libsodium's codec. */
#include "accounts/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int
hmac(const uint8_t *key, size_t klen, const void *msg, size_t mlen, uint8_t out[SCRAM_KEY_LEN])
{
	unsigned int n = 0;
	return HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n) != NULL &&
	    n == SCRAM_KEY_LEN ? 0 : -1;
}

int
scram_credentials(const char *password, size_t len, const uint8_t *salt, size_t salt_len,
    uint32_t iterations, uint8_t stored_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
	uint8_t salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	int rc = -1;
	if (iterations == 0 || iterations > SCRAM_ITERATIONS_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, (int)salt_len, (int)iterations,
	        EVP_sha256(), SCRAM_KEY_LEN, salted) == 1 &&
	    hmac(salted, SCRAM_KEY_LEN, "Client Key", 10, client_key) == 0 &&
	    SHA256(client_key, SCRAM_KEY_LEN, stored_key) != NULL &&
	    hmac(salted, SCRAM_KEY_LEN, "Server Key", 10, server_key) == 0)
		rc = 0;
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(client_key, sizeof client_key);
	return rc;
}

/* The next attribute of s (up to a comma or the end): its letter in
 * *key and its value in [*val, *val + *vlen). Returns the rest after it
 * (past the comma), or NULL at the end of s. */
static const char *
attr(const char *s, const char *end, char *key, const char **val, size_t *vlen)
{
	if (s >= end || end - s < 2 || s[1] != '=')
		return NULL;
	*key = s[0];
	*val = s + 2;
	const char *comma = memchr(*val, ',', (size_t)(end - *val));
	const char *stop = comma != NULL ? comma : end;
	*vlen = (size_t)(stop - *val);
	return comma != NULL ? comma + 1 : end;
}

/* A saslname unescaped (=2C is ',', =3D is '='; a lone '=' is wrong):
 * -1 when malformed or too long for out (cap bytes with the NUL). */
static int
saslname(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '\0' || c == ',')
			return -1;
		if (c == '=') {
			if (n - i < 3)
				return -1;
			if (v[i + 1] == '2' && v[i + 2] == 'C')
				c = ',';
			else if (v[i + 1] == '3' && v[i + 2] == 'D')
				c = '=';
			else
				return -1;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* A nonce: printable ASCII but ',' (RFC 5802's "printable"). */
static int
nonce_ok(const char *v, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',')
			return 0;
	return 1;
}

enum scram_status
scram_client_first(struct scram *x, const char *msg, size_t len)
{
	if (x->step != 0 || len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len) != NULL)
		return SCRAM_BAD_MESSAGE;
	const char *end = msg + len, *p = msg;
	/* gs2-header: the binding flag, then the authzid, each up to a comma. */
	if (*p == 'p')
		return SCRAM_NO_BINDING;
	if ((*p != 'n' && *p != 'y') || end - p < 3 || p[1] != ',')
		return SCRAM_BAD_MESSAGE;
	const char *authz = p + 2;
	const char *comma = memchr(authz, ',', (size_t)(end - authz));
	if (comma == NULL)
		return SCRAM_BAD_MESSAGE;
	char authzid[SCRAM_USER_MAX + 1] = "";
	if (comma > authz) {
		if (comma - authz < 3 || authz[0] != 'a' || authz[1] != '=' ||
		    saslname(authz + 2, (size_t)(comma - authz - 2), authzid, sizeof authzid) != 0)
			return SCRAM_BAD_MESSAGE;
	}
	size_t hlen = (size_t)(comma + 1 - msg);
	if (hlen >= sizeof x->cbind)
		return SCRAM_BAD_MESSAGE;
	memcpy(x->cbind, msg, hlen);
	x->cbind[hlen] = '\0';
	/* client-first-message-bare: [m=...,] n=user, r=nonce [, ext] */
	p = comma + 1;
	size_t blen = (size_t)(end - p);
	memcpy(x->bare, p, blen);
	x->bare[blen] = '\0';
	char key;
	const char *v;
	size_t vlen;
	p = attr(p, end, &key, &v, &vlen);
	if (p == NULL || key != 'n' || saslname(v, vlen, x->user, sizeof x->user) != 0)
		return SCRAM_BAD_MESSAGE;
	p = attr(p, end, &key, &v, &vlen);
	if (p == NULL || key != 'r' || !nonce_ok(v, vlen) || vlen >= sizeof x->nonce / 2)
		return SCRAM_BAD_MESSAGE;
	memcpy(x->nonce, v, vlen);
	x->nonce[vlen] = '\0';
	if (authzid[0] != '\0' && strcmp(authzid, x->user) != 0)
		return SCRAM_BAD_MESSAGE;
	x->step = 1;
	return SCRAM_OK;
}

enum scram_status
scram_server_first(struct scram *x, const uint8_t *salt, size_t salt_len,
    uint32_t iterations, const char *server_nonce)
{
	size_t sn = strlen(server_nonce), cn = strlen(x->nonce);
	if (x->step != 1 || !nonce_ok(server_nonce, sn) || cn + sn >= sizeof x->nonce ||
	    salt_len == 0 || salt_len > 64)
		return SCRAM_BAD_MESSAGE;
	memcpy(x->nonce + cn, server_nonce, sn + 1);
	char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof b64, salt, salt_len, sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(x->server_first, sizeof x->server_first, "r=%s,s=%s,i=%u", x->nonce,
	    b64, (unsigned)iterations);
	if (n < 0 || (size_t)n >= sizeof x->server_first)
		return SCRAM_BAD_MESSAGE;
	x->step = 2;
	return SCRAM_OK;
}

enum scram_status
scram_client_final(struct scram *x, const char *msg, size_t len,
    const uint8_t stored_key[SCRAM_KEY_LEN], const uint8_t server_key[SCRAM_KEY_LEN],
    char out[SCRAM_SERVER_MSG_MAX + 1])
{
	if (x->step != 2 || len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len) != NULL)
		return SCRAM_BAD_MESSAGE;
	x->step = 3;  /* one try */
	const char *end = msg + len, *p = msg;
	char key;
	const char *v;
	size_t vlen;
	/* c=: base64 of the gs2 header (no binding data). */
	p = attr(p, end, &key, &v, &vlen);
	char cb[sodium_base64_ENCODED_LEN(sizeof x->cbind, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(cb, sizeof cb, (const unsigned char *)x->cbind, strlen(x->cbind),
	    sodium_base64_VARIANT_ORIGINAL);
	if (p == NULL || key != 'c' || vlen != strlen(cb) || memcmp(v, cb, vlen) != 0)
		return SCRAM_BAD_MESSAGE;
	/* r=: both nonces, as the server gave them. */
	p = attr(p, end, &key, &v, &vlen);
	if (p == NULL || key != 'r' || vlen != strlen(x->nonce) || memcmp(v, x->nonce, vlen) != 0)
		return SCRAM_BAD_MESSAGE;
	/* Extensions, then p= last. */
	const char *proof = NULL;
	size_t plen = 0;
	const char *without_proof_end = NULL;
	while (p != NULL && p < end) {
		const char *at = p;
		p = attr(p, end, &key, &v, &vlen);
		if (p == NULL)
			return SCRAM_BAD_MESSAGE;
		if (key == 'p') {
			if (p != end)
				return SCRAM_BAD_MESSAGE;
			proof = v;
			plen = vlen;
			without_proof_end = at - 1;  /* the comma before p= */
		}
	}
	if (proof == NULL)
		return SCRAM_BAD_MESSAGE;
	uint8_t client_proof[SCRAM_KEY_LEN];
	size_t bin = 0;
	if (sodium_base642bin(client_proof, sizeof client_proof, proof, plen, NULL, &bin, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0 || bin != SCRAM_KEY_LEN)
		return SCRAM_BAD_MESSAGE;
	/* AuthMessage = bare "," server-first "," final-without-proof */
	char auth[SCRAM_MSG_MAX * 2 + SCRAM_SERVER_MSG_MAX + 3];
	size_t wlen = (size_t)(without_proof_end - msg);
	int n = snprintf(auth, sizeof auth, "%s,%s,%.*s", x->bare, x->server_first, (int)wlen, msg);
	if (n < 0 || (size_t)n >= sizeof auth)
		return SCRAM_BAD_MESSAGE;
	uint8_t sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], check[SCRAM_KEY_LEN];
	if (hmac(stored_key, SCRAM_KEY_LEN, auth, (size_t)n, sig) != 0)
		return SCRAM_FAILED;
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = client_proof[i] ^ sig[i];
	if (SHA256(client_key, SCRAM_KEY_LEN, check) == NULL)
		return SCRAM_FAILED;
	OPENSSL_cleanse(client_key, sizeof client_key);
	if (CRYPTO_memcmp(check, stored_key, SCRAM_KEY_LEN) != 0)
		return SCRAM_BAD_PROOF;
	uint8_t server_sig[SCRAM_KEY_LEN];
	if (hmac(server_key, SCRAM_KEY_LEN, auth, (size_t)n, server_sig) != 0)
		return SCRAM_FAILED;
	char b64[sodium_base64_ENCODED_LEN(SCRAM_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof b64, server_sig, SCRAM_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, SCRAM_SERVER_MSG_MAX + 1, "v=%s", b64);
	return SCRAM_OK;
}
