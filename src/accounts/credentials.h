/* What is kept of a password: its argon2id hash and its SCRAM-SHA-256
 * credentials (a fresh salt each), made once for both the accounts
 * service and the admin command line. Slow (the KDF): a worker's job,
 * or a command line's. */
#ifndef PARLEY_CREDENTIALS_H
#define PARLEY_CREDENTIALS_H

struct store_account;

/* Fills acc's pwhash and scram_* from password (NUL-terminated). 0, or
 * -1 when the KDF or the crypto library fails. */
int account_credentials(const char *password, struct store_account *acc);

#endif
