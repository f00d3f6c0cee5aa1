/* A TLS context (OpenSSL): one for every tls listener, made from tls-cert
 * and tls-key at start and made again on SIGHUP, owned by the server.
 * Sessions already running keep the context they started with (OpenSSL
 * counts its references), so a reload drops nobody. */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* Room for tls_error's text. */
#define TLS_ERROR_MAX 256

struct tls_context {
	SSL_CTX *ctx;           /* NULL: not set up (no tls listener) */
	char *cert, *key;       /* the files, read again on a reload */
};

/* Loads the pair; on failure prints one line saying what is wrong with
 * which file and returns -1. */
int tls_context_load(struct tls_context *tls, const char *cert, const char *key);
/* Loads the pair (again, or new files, or the first time): 0 and the new
 * one is used for new sessions, or -1 (logged) and the old one stays. */
int tls_context_reload(struct tls_context *tls, const char *cert, const char *key);
/* A server session on fd, or NULL when TLS is not set up (or out of
 * memory). With client_cert, the client is asked for a certificate,
 * which is taken unverified (its fingerprint is a credential, SASL
 * EXTERNAL); a client without one is served all the same. */
SSL *tls_context_session(struct tls_context *tls, int fd, int client_cert);
/* The SHA-256 fingerprint of the client's certificate, as 64 lower-case
 * hex digits, into hex (TLS_FINGERPRINT_LEN + 1 bytes): 0, or -1 when it
 * sent none. */
#define TLS_FINGERPRINT_LEN 64
int tls_peer_fingerprint(SSL *ssl, char *hex);
void tls_context_free(struct tls_context *tls);
/* The last OpenSSL error as text, for log lines, into buf (cap bytes, at
 * most TLS_ERROR_MAX needed); clears the queue. Returns the text. */
const char *tls_error(char *buf, size_t cap);

#endif
