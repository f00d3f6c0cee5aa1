/* Password hashing: argon2id (RFC 9106) through libsodium's
 * crypto_pwhash_str, whose string carries its own salt and parameters,
 * so a hash made with other parameters still verifies. Slow on purpose
 * (and KDF_MEMLIMIT of memory while it runs): worker threads only. */
#ifndef PARLEY_KDF_H
#define PARLEY_KDF_H

#include <stddef.h>

/* OWASP's first argon2id setting (Password Storage Cheat Sheet): 19 MiB,
 * two passes, one lane (libsodium's argon2id has one). About 70 ms of
 * one core a hash here (README, "Accounts"). */
#define KDF_OPSLIMIT 2
#define KDF_MEMLIMIT (19u << 20)
/* A hash string with its NUL (crypto_pwhash_STRBYTES). */
#define KDF_HASH_MAX 128

/* Once, before any other call, from any thread: -1 when libsodium
 * cannot start. */
int kdf_init(void);
/* password (len bytes) hashed with a fresh salt into out. -1 when it
 * fails (out of memory). */
int kdf_hash(const char *password, size_t len, char out[KDF_HASH_MAX]);
/* 1 when password matches hash, else 0 (a hash that does not parse
 * too). */
int kdf_verify(const char *hash, const char *password, size_t len);
/* The same work as kdf_verify against a hash nobody has (made once), for
 * a name that has no account: every attempt costs the same. Returns 0. */
int kdf_verify_dummy(const char *password, size_t len);
/* Has that hash ready: the built-in kdf_dummy_hash when it was made with
 * KDF_OPSLIMIT and KDF_MEMLIMIT (test_kdf checks), else one made now (an
 * argon2id hash's time: a worker's job). */
void kdf_dummy_ready(void);
extern const char kdf_dummy_hash[KDF_HASH_MAX];
/* 1 when hash was made with other parameters than these (rehash it at
 * the next login that knows the password). */
int kdf_needs_rehash(const char *hash);

#endif
