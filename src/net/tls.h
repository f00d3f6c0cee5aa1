/* The server's TLS context (OpenSSL): one for every tls listener, made
 * from tls-cert and tls-key at start and made again on SIGHUP. Sessions
 * already running keep the context they started with (OpenSSL counts its
 * references), so a reload drops nobody. */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <openssl/ssl.h>

/* Loads the pair; on failure prints one line saying what is wrong with
 * which file and returns -1. */
int tls_init(const char *cert, const char *key);
/* Loads the pair again: 0 and the new one is used for new sessions, or -1
 * (logged) and the old one stays. */
int tls_reload(void);
/* A server session on fd, or NULL when TLS is not set up (or out of
 * memory). */
SSL *tls_session(int fd);
/* The last OpenSSL error as text, for log lines; clears the queue. */
const char *tls_error(void);
void tls_free(void);

#endif
