#include "link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wait.h"

/* One context for the whole run: the trust and the options do not change
 * between reconnects. NULL without --tls. */
static SSL_CTX *tls_ctx;
static int tls_insecure;

/* The most specific reason in OpenSSL's error queue (its last entry),
 * which it empties. */
static const char *
tls_reason(void)
{
	unsigned long e = 0, next;

	while ((next = ERR_get_error()) != 0)
		e = next;
	if (e == 0)
		return "unknown error";
	const char *reason = ERR_reason_error_string(e);
	return reason != NULL ? reason : "unknown error";
}

int
link_tls_init(const struct link_tls *opts, char *why, size_t whylen)
{
	tls_insecure = opts->insecure;
	if (!opts->on)
		return 0;
	if (opts->ca_file != NULL) {
		/* OpenSSL's own words for a missing file are hard to read. */
		FILE *f = fopen(opts->ca_file, "r");
		if (f == NULL) {
			snprintf(why, whylen, "cannot read --tls-ca %s: %s",
			    opts->ca_file, strerror(errno));
			return -1;
		}
		fclose(f);
	}
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(why, whylen, "cannot set up TLS: %s", tls_reason());
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A server that goes without close_notify has closed, as a plain
	 * one would have: the last line, if cut, shows as it came. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* The output queue is written as far as the socket takes it, and
	 * moves its bytes up before the next try. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	int ok = 1;
	if (opts->ca_file != NULL)
		ok = SSL_CTX_load_verify_file(ctx, opts->ca_file) == 1;
	else
		ok = SSL_CTX_set_default_verify_paths(ctx) == 1;
	if (!ok) {
		snprintf(why, whylen, opts->ca_file != NULL ?
		    "--tls-ca %s: no usable PEM certificate in it (%s)" :
		    "cannot load the system's certificates%s (%s)",
		    opts->ca_file != NULL ? opts->ca_file : "", tls_reason());
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_verify(ctx, tls_insecure ? SSL_VERIFY_NONE :
	    SSL_VERIFY_PEER, NULL);
	tls_ctx = ctx;
	return 0;
}

void
link_tls_free(void)
{
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
}

/* OpenSSL writes to the socket with write(2), and a write to a connection
 * the server has reset raises SIGPIPE, whose default kills the client.
 * Ignoring SIGPIPE for good would also keep `parley | head` running after
 * head has gone; so it is held off around each call into TLS only, and
 * one that call raised is taken back before it could be delivered. */
static void
pipe_hold(sigset_t *old)
{
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe, old);
}

static void
pipe_release(const sigset_t *old)
{
	sigset_t pipe, pending;
	int saved = errno;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	/* Not pending before the hold: its default would have killed us. */
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&pipe, NULL, &(struct timespec){ 0, 0 });
	sigprocmask(SIG_SETMASK, old, NULL);
	errno = saved;
}

static int
is_ip_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* Tells OpenSSL which name the certificate must carry: a DNS name (also
 * sent as SNI) or an IP address, each checked against the certificate's
 * subjectAltName the way browsers do. */
static int
expect_name(SSL *ssl, const char *host)
{
	if (is_ip_address(host))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) == 1 ? 0 : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (tls_insecure)
		return 0;
	/* No partial wildcards (w*.example.org), as RFC 6125 advises. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

/* One line on why the handshake that SSL_do_handshake answered r (error
 * err) failed. */
static void
handshake_failed(SSL *ssl, int err, const char *host, const char *shown,
    char *why, size_t whylen)
{
	long v = SSL_get_verify_result(ssl);

	if (!tls_insecure && v == X509_V_ERR_HOSTNAME_MISMATCH) {
		snprintf(why, whylen, "the TLS certificate of %s is not for %s; "
		    "--insecure skips the check", shown, host);
	} else if (!tls_insecure && v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		snprintf(why, whylen, "the TLS certificate of %s is not for the "
		    "address %s; --insecure skips the check", shown, host);
	} else if (!tls_insecure && v != X509_V_OK) {
		snprintf(why, whylen, "the TLS certificate of %s is not trusted "
		    "(%s); --tls-ca FILE trusts it, --insecure skips the check",
		    shown, X509_verify_cert_error_string(v));
	} else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
		snprintf(why, whylen, "TLS handshake with %s failed: %s", shown,
		    errno != 0 && err == SSL_ERROR_SYSCALL ? strerror(errno) :
		    "the server closed the connection");
	} else {
		unsigned long e = ERR_peek_last_error();
		int plain = ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER ||
		    ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG);
		snprintf(why, whylen, "TLS handshake with %s failed: %s%s", shown,
		    tls_reason(), plain ? " (is it a plain-text port, not a "
		    "tls one?)" : "");
	}
	ERR_clear_error();
}

/* Shakes hands on l->ssl until done, the deadline or *cancel. */
static int
handshake(struct link *l, const char *host, const char *shown, int timeout_ms,
    const volatile sig_atomic_t *cancel, char *why, size_t whylen)
{
	long deadline = wait_now_ms() + timeout_ms;

	for (;;) {
		sigset_t old;
		ERR_clear_error();
		errno = 0;
		pipe_hold(&old);
		int r = SSL_do_handshake(l->ssl);
		pipe_release(&old);
		if (r == 1)
			return 0;
		int err = SSL_get_error(l->ssl, r);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			handshake_failed(l->ssl, err, host, shown, why, whylen);
			return -1;
		}
		err = wait_fd(l->fd, err == SSL_ERROR_WANT_READ ? POLLIN :
		    POLLOUT, deadline, cancel);
		if (err == EINTR) {
			snprintf(why, whylen, "interrupted");
			return -1;
		}
		if (err == ETIMEDOUT) {
			snprintf(why, whylen, "TLS handshake with %s: no answer "
			    "within %ds", shown, timeout_ms / 1000);
			return -1;
		}
		if (err != 0) {
			snprintf(why, whylen, "poll: %s", strerror(err));
			return -1;
		}
	}
}

int
link_open(struct link *l, int fd, const char *host, const char *shown,
    int timeout_ms, const volatile sig_atomic_t *cancel, char *why,
    size_t whylen)
{
	*l = (struct link){ .fd = fd };
	if (tls_ctx == NULL)
		return 0;
	ERR_clear_error();
	l->ssl = SSL_new(tls_ctx);
	if (l->ssl == NULL || SSL_set_fd(l->ssl, fd) != 1 ||
	    expect_name(l->ssl, host) == -1) {
		snprintf(why, whylen, "cannot start TLS with %s: %s", shown,
		    tls_reason());
		link_close(l);
		return -1;
	}
	SSL_set_connect_state(l->ssl);
	if (handshake(l, host, shown, timeout_ms, cancel, why, whylen) == -1) {
		link_close(l);
		return -1;
	}
	return 0;
}

void
link_close(struct link *l)
{
	if (l->ssl != NULL) {
		/* close_notify, if the socket takes it now; no waiting. */
		if (SSL_is_init_finished(l->ssl)) {
			sigset_t old;
			pipe_hold(&old);
			SSL_shutdown(l->ssl);
			pipe_release(&old);
		}
		SSL_free(l->ssl);
		ERR_clear_error();
	}
	if (l->fd != -1)
		close(l->fd);
	*l = (struct link){ .fd = -1 };
}

/* What an SSL_read or SSL_write (writing) that returned r comes to, as
 * read(2) would say it; the reason of an error of TLS's own is kept in
 * l->why. */
static ssize_t
tls_failed(struct link *l, int r, int writing)
{
	switch (SSL_get_error(l->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		if (writing)
			l->write_wants_read = 1;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		if (!writing)
			l->read_wants_write = 1;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0; /* end of file with no close_notify */
		return -1;
	default:
		snprintf(l->why, sizeof l->why, "TLS: %s", tls_reason());
		errno = EPROTO;
		return -1;
	}
}

ssize_t
link_read(struct link *l, void *buf, size_t n)
{
	if (l->ssl == NULL)
		return read(l->fd, buf, n);
	ERR_clear_error();
	errno = 0;
	l->read_wants_write = 0;
	sigset_t old;
	pipe_hold(&old);
	int r = SSL_read(l->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
	pipe_release(&old);
	if (r > 0)
		return r;
	return tls_failed(l, r, 0);
}

ssize_t
link_write(struct link *l, const void *buf, size_t n)
{
	if (l->ssl == NULL)
		return send(l->fd, buf, n, MSG_NOSIGNAL);
	ERR_clear_error();
	errno = 0;
	l->write_wants_read = 0;
	sigset_t old;
	pipe_hold(&old);
	int r = SSL_write(l->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
	pipe_release(&old);
	if (r > 0)
		return r;
	ssize_t got = tls_failed(l, r, 1);
	if (got == 0) {
		/* Nothing written and not for want of room: the peer is gone. */
		errno = EPIPE;
		return -1;
	}
	return got;
}

int
link_pending(const struct link *l)
{
	return l->ssl != NULL && SSL_pending(l->ssl) > 0;
}

const char *
link_strerror(const struct link *l, int err)
{
	if (err == EPROTO && l->why[0] != '\0')
		return l->why;
	return strerror(err);
}
