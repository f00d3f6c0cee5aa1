#include "accounts/credentials.h"

#include <sodium.h>
#include <string.h>

#include "accounts/kdf.h"
#include "accounts/scram.h"
#include "store/store.h"

_Static_assert(KDF_HASH_MAX <= STORE_PWHASH_MAX, "a hash fits the store");
_Static_assert(SCRAM_SALT_LEN <= STORE_SCRAM_SALT_MAX, "a salt fits the store");
_Static_assert(SCRAM_KEY_LEN == STORE_SCRAM_KEY_LEN, "SCRAM keys");

int
account_credentials(const char *password, struct store_account *acc)
{
	size_t len = strlen(password);
	if (kdf_hash(password, len, acc->pwhash) != 0)
		return -1;
	acc->scram_salt_len = SCRAM_SALT_LEN;
	randombytes_buf(acc->scram_salt, SCRAM_SALT_LEN);
	acc->scram_iter = SCRAM_ITERATIONS;
	return scram_credentials(password, len, acc->scram_salt, acc->scram_salt_len,
	    acc->scram_iter, acc->scram_stored_key, acc->scram_server_key);
}
