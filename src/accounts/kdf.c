/* argon2id through libsodium (ISC licence, Debian's libsodium-dev). */
#include "accounts/kdf.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

_Static_assert(KDF_HASH_MAX == crypto_pwhash_STRBYTES, "KDF_HASH_MAX");

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[KDF_HASH_MAX];
static int dummy_ok;

int
kdf_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
kdf_hash(const char *password, size_t len, char out[KDF_HASH_MAX])
{
	return crypto_pwhash_str_alg(out, password, len, KDF_OPSLIMIT, KDF_MEMLIMIT,
	    crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

int
kdf_verify(const char *hash, const char *password, size_t len)
{
	/* The stored string is NUL-terminated within KDF_HASH_MAX; libsodium
	 * reads it as a string. */
	if (memchr(hash, '\0', KDF_HASH_MAX) == NULL)
		return 0;
	return crypto_pwhash_str_verify(hash, password, len) == 0;
}

/* A hash of random bytes, with this build's parameters: what an unknown
 * name's attempt is checked against. */
static void
dummy_make(void)
{
	unsigned char secret[32];
	randombytes_buf(secret, sizeof secret);
	dummy_ok = kdf_hash((const char *)secret, sizeof secret, dummy_hash) == 0;
	sodium_memzero(secret, sizeof secret);
}

int
kdf_verify_dummy(const char *password, size_t len)
{
	pthread_once(&dummy_once, dummy_make);
	if (dummy_ok)
		(void)kdf_verify(dummy_hash, password, len);
	else
		/* Could not make one (out of memory): hash instead, which
		 * costs the same. */
		(void)kdf_hash(password, len, (char[KDF_HASH_MAX]){ 0 });
	return 0;
}

int
kdf_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, KDF_OPSLIMIT, KDF_MEMLIMIT) != 0;
}
