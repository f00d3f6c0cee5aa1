/* The connection to the server once TCP is up: a non-blocking socket,
 * with TLS over it when asked (--tls). Reads and writes go through here so
 * that the rest of the client need not know which; they behave like
 * read(2) and send(2), EAGAIN included, for the client's poll loop. */
#ifndef PARLEY_LINK_H
#define PARLEY_LINK_H

#include <openssl/ssl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct link_tls {
	int on;                 /* --tls (or implied by the two below) */
	const char *ca_file;    /* --tls-ca: trust this, not the system's CAs */
	int insecure;           /* --insecure: no certificate check at all */
};

struct link {
	int fd;                 /* -1 when not connected */
	SSL *ssl;               /* NULL without TLS */
	int read_wants_write;   /* TLS must write before it can read more */
	int write_wants_read;   /* and the other way round */
	char why[300];          /* the last TLS error, for link_strerror */
};

/* Sets up TLS once at start, when opts->on. Returns 0, or -1 with a
 * one-line reason in why (a --tls-ca file that cannot be used). */
int link_tls_init(const struct link_tls *opts, char *why, size_t whylen);
void link_tls_free(void);

/* Takes the connected socket fd to host (as typed, for checking the
 * certificate's name; shown names it in messages) and, with TLS, shakes
 * hands within timeout_ms, checking the certificate unless --insecure.
 * Returns 0, or -1 with the socket closed and one line in why. Gives up
 * with why "interrupted" when *cancel becomes nonzero. */
int link_open(struct link *l, int fd, const char *host, const char *shown,
    int timeout_ms, const volatile sig_atomic_t *cancel, char *why,
    size_t whylen);
void link_close(struct link *l);

ssize_t link_read(struct link *l, void *buf, size_t n);
ssize_t link_write(struct link *l, const void *buf, size_t n);
/* Bytes TLS has decrypted and holds: poll does not see them. */
int link_pending(const struct link *l);
/* What went wrong, for an errno a link_read or link_write left. */
const char *link_strerror(const struct link *l, int err);

#endif
