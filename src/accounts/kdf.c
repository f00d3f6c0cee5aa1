/* argon2id through libsodium (ISC licence, Debian's libsodium-dev). */
#include "accounts/kdf.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

_Static_assert(KDF_HASH_MAX == crypto_pwhash_STRBYTES, "KDF_HASH_MAX");

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[KDF_HASH_MAX];
static int dummy_ok;

/* The hash of 32 random bytes, thrown away once hashed: nobody has its
 * password (and an unknown name's result is never used anyway). Made once
 * for the project rather than at every start, where it was an argon2id
 * hash and a verify, most of the CPU a parleyd spent starting (and the
 * test suite's largest cost: it starts hundreds). */
const char kdf_dummy_hash[KDF_HASH_MAX] = "$argon2id$v=19$m=19456,t=2,p=1$2t7WYtz7+sopKagYEdUvzA"
    "$0yL3FDHkDn7mQEUWy/o+/oswkgbc754y9/5bljzRqXs";

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
 * name's attempt is checked against. The built-in one while it has them;
 * else (the parameters changed since) one made now. */
static void
dummy_make(void)
{
	if (!kdf_needs_rehash(kdf_dummy_hash)) {
		memcpy(dummy_hash, kdf_dummy_hash, sizeof kdf_dummy_hash);
		dummy_ok = 1;
		return;
	}
	unsigned char secret[32];
	randombytes_buf(secret, sizeof secret);
	dummy_ok = kdf_hash((const char *)secret, sizeof secret, dummy_hash) == 0;
	sodium_memzero(secret, sizeof secret);
}

void
kdf_dummy_ready(void)
{
	pthread_once(&dummy_once, dummy_make);
}

int
kdf_verify_dummy(const char *password, size_t len)
{
	kdf_dummy_ready();
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
