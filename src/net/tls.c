#include "net/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Mozilla's "intermediate" TLS 1.2 suites (forward secret, AEAD only);
 * TLS 1.3 suites are OpenSSL's defaults. */
static const char TLS12_CIPHERS[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

const char *
tls_error(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "unknown error";
	/* The last one in the queue is the most specific. */
	unsigned long next;
	while ((next = ERR_get_error()) != 0)
		e = next;
	ERR_error_string_n(e, buf, cap);
	const char *reason = ERR_reason_error_string(e);
	return reason != NULL ? reason : buf;
}

/* Whether path can be opened, with the reason in why when not: OpenSSL's
 * own messages for a missing file are hard to read. */
static int
readable(const char *path, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	fclose(f);
	return 1;
}

/* A new context from the files, or NULL with the problem in err. */
static SSL_CTX *
ctx_load(const char *cert, const char *key, char *err, size_t errlen)
{
	char why[256], tls_why[TLS_ERROR_MAX];
	if (!readable(cert, why, sizeof why)) {
		snprintf(err, errlen, "cannot read tls-cert %s: %s", cert, why);
		return NULL;
	}
	if (!readable(key, why, sizeof why)) {
		snprintf(err, errlen, "cannot read tls-key %s: %s", key, why);
		return NULL;
	}
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "cannot make a TLS context: %s",
		    tls_error(tls_why, sizeof tls_why));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Partial writes and a moving buffer suit a non-blocking writer with
	 * its own staging; released buffers keep an idle session small. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "tls-cert %s: not a usable PEM certificate (%s)", cert,
		    tls_error(tls_why, sizeof tls_why));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			snprintf(err, errlen, "tls-key %s does not belong to tls-cert %s", key, cert);
		else
			snprintf(err, errlen, "tls-key %s: not a usable PEM private key (%s)", key,
			    tls_error(tls_why, sizeof tls_why));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls-key %s does not belong to tls-cert %s", key, cert);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
tls_context_load(struct tls_context *tls, const char *cert, const char *key)
{
	char err[768];
	SSL_CTX *ctx = ctx_load(cert, key, err, sizeof err);
	if (ctx == NULL) {
		fprintf(stderr, "parleyd: %s\n", err);
		return -1;
	}
	tls_context_free(tls);
	tls->ctx = ctx;
	tls->cert = strdup(cert);
	tls->key = strdup(key);
	return 0;
}

int
tls_context_reload(struct tls_context *tls, const char *cert, const char *key)
{
	char err[768];
	SSL_CTX *ctx = ctx_load(cert, key, err, sizeof err);
	char *c = ctx != NULL ? strdup(cert) : NULL, *k = ctx != NULL ? strdup(key) : NULL;
	if (ctx == NULL || c == NULL || k == NULL) {
		log_warn("SIGHUP: kept the old certificate: %s", ctx == NULL ? err : "out of memory");
		SSL_CTX_free(ctx);
		free(c);
		free(k);
		return -1;
	}
	tls_context_free(tls);
	tls->ctx = ctx;
	tls->cert = c;
	tls->key = k;
	log_info("SIGHUP: reloaded %s and %s", tls->cert, tls->key);
	return 0;
}

/* A client certificate is a name, not a proof of one by any CA: whatever
 * it is signed by, the handshake goes on, and only its fingerprint is
 * used (an account lists the fingerprints it accepts). */
static int
accept_any_cert(int preverified, X509_STORE_CTX *store)
{
	(void)preverified;
	(void)store;
	return 1;
}

SSL *
tls_context_session(struct tls_context *tls, int fd, int client_cert)
{
	if (tls->ctx == NULL)
		return NULL;
	SSL *ssl = SSL_new(tls->ctx);
	if (ssl == NULL)
		return NULL;
	if (client_cert)
		SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any_cert);
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

int
tls_peer_fingerprint(SSL *ssl, char *hex)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1 ||
	    n * 2 != TLS_FINGERPRINT_LEN)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void
tls_context_free(struct tls_context *tls)
{
	SSL_CTX_free(tls->ctx);
	free(tls->cert);
	free(tls->key);
	tls->ctx = NULL;
	tls->cert = tls->key = NULL;
}
