/* SASL (IRCv3 sasl-3.1 and 3.2): AUTHENTICATE with PLAIN, SCRAM-SHA-256
 * and EXTERNAL, before registration or after it (a new login replaces
 * the old one). The client's payload comes in chunks of 400 bytes of
 * base64 (irc_sasl_parse.c puts them together); each mechanism's check is
 * the accounts service's, on its workers, and its answer comes back
 * through the command's reply (irc_reply_keep), so the client gets its
 * replies in order and nothing waits on the loop. Registration waits for
 * a check under way; an exchange still waiting for the client when
 * registration ends is aborted (906).
 *
 * No payload, password or proof is ever logged; the buffers that held
 * them are wiped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts/accounts.h"
#include "doors/irc/irc.h"

static const struct {
	const char *name;
	enum irc_sasl_mech mech;
} mechs[] = {
	{ "PLAIN", MECH_PLAIN },
	{ "SCRAM-SHA-256", MECH_SCRAM },
	{ "EXTERNAL", MECH_EXTERNAL },
};

/* SCRAM's steps: the client's first message, its final one, then its
 * empty answer to the server's final message. */
enum { SCRAM_FIRST, SCRAM_FINAL, SCRAM_DONE };

static void
sasl_fail(struct conn *c)
{
	irc_sasl_end(c);
	irc_num(c, ERR_SASLFAIL);
}

static void
sasl_success(struct conn *c, const char *account)
{
	char name[ACCOUNT_LEN_MAX + 1];
	snprintf(name, sizeof name, "%s", account);
	irc_sasl_end(c);
	irc_account_tell(c, name);
	irc_num(c, RPL_SASLSUCCESS);
	irc_account_apply(c, name);
}

/* data (len bytes) to the client: base64, 400 bytes a line, "+" after a
 * last line that was full (or for nothing at all). */
static void
sasl_send(struct conn *c, const char *data, size_t len)
{
	/* A SCRAM message is short; one longer than this is a bug. */
	char b64[4 * ((SASL_PAYLOAD_MAX + 2) / 3) + 1];
	if (len > SASL_PAYLOAD_MAX) {
		sasl_fail(c);
		return;
	}
	size_t n = sasl_base64_encode((const unsigned char *)data, len, b64);
	size_t at = 0;
	do {
		size_t piece = n - at > SASL_CHUNK_MAX ? SASL_CHUNK_MAX : n - at;
		if (piece == 0)
			irc_send(c, "AUTHENTICATE +");
		else
			irc_send(c, "AUTHENTICATE %.*s", (int)piece, b64 + at);
		at += piece;
		if (piece == SASL_CHUNK_MAX && at == n)
			irc_send(c, "AUTHENTICATE +");
	} while (at < n);
}

static void
sasl_answer(struct conn *c, struct irc_sasl *x, const struct account_result *r)
{
	if (r->status == ACCOUNT_THROTTLED) {
		irc_sasl_end(c);
		irc_num(c, ERR_SASLTHROTTLED);
		return;
	}
	/* Not the password's fault (the database is away): say so, so that
	 * nobody takes it for a wrong one. */
	if (r->status == ACCOUNT_FAILED) {
		irc_sasl_end(c);
		irc_num(c, ERR_SASLUNAVAILABLE);
		return;
	}
	if (r->status != ACCOUNT_OK) {
		sasl_fail(c);
		return;
	}
	switch (x->mech) {
	case MECH_PLAIN:
		sasl_success(c, r->account);
		return;
	case MECH_EXTERNAL:
		/* A name asked for must be the certificate's account. */
		if (x->account[0] != '\0' && strcasecmp(x->account, r->account) != 0)
			sasl_fail(c);
		else
			sasl_success(c, r->account);
		return;
	case MECH_SCRAM:
		if (x->step == SCRAM_FIRST) {
			x->step = SCRAM_FINAL;
			sasl_send(c, r->data, r->len);
		} else {
			x->step = SCRAM_DONE;
			snprintf(x->account, sizeof x->account, "%s", r->account);
			sasl_send(c, r->data, r->len);
		}
		return;
	}
}

/* The service's answer to a step of an exchange: to c, if the exchange
 * is still c's (not aborted meanwhile: the client was told then). */
static void
sasl_checked(struct conn *c, const struct account_result *r, struct irc_account_job *j)
{
	struct irc_session *s = irc_session(c);
	if (s->sasl != NULL && j->gen == s->sasl_gen) {
		s->sasl->busy = 0;
		sasl_answer(c, s->sasl, r);
	}
	/* Registration may have waited for this answer. */
	if (c->user == NULL)
		irc_try_register(c);
}

/* Hands a step to the service: call is made with the job's context. */
static struct irc_account_job *
sasl_job(struct conn *c)
{
	struct irc_account_job *j = irc_account_job(c, sasl_checked);
	if (j == NULL)
		return NULL;
	j->gen = irc_session(c)->sasl_gen;
	j->busy = 1;
	irc_session(c)->sasl->busy = 1;
	return j;
}

static void
sasl_plain(struct conn *c, const unsigned char *msg, size_t len)
{
	struct sasl_plain p;
	/* No acting as another (authzid), which no account may. */
	if (sasl_plain_split(msg, len, &p) < 0 ||
	    (p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0)) {
		explicit_bzero(&p, sizeof p);
		sasl_fail(c);
		return;
	}
	struct irc_account_job *j = sasl_job(c);
	if (j != NULL)
		irc_account_wait(c, j, accounts_login(irc_accounts(c), p.authcid, p.passwd,
		    irc_account_addr(c), irc_account_done, j));
	explicit_bzero(&p, sizeof p);
}

static void
sasl_external(struct conn *c, const unsigned char *msg, size_t len)
{
	struct irc_sasl *x = irc_session(c)->sasl;
	if (len > ACCOUNT_LEN_MAX || memchr(msg, '\0', len) != NULL) {
		sasl_fail(c);
		return;
	}
	memcpy(x->account, msg, len);
	x->account[len] = '\0';
	struct irc_account_job *j = sasl_job(c);
	if (j != NULL)
		irc_account_wait(c, j, accounts_login_cert(irc_accounts(c), x->fp,
		    irc_account_addr(c), irc_account_done, j));
}

static void
sasl_scram(struct conn *c, const unsigned char *msg, size_t len)
{
	struct irc_sasl *x = irc_session(c)->sasl;
	if (x->step == SCRAM_DONE) {
		/* The client has checked the server's proof: nothing to say. */
		if (len == 0)
			sasl_success(c, x->account);
		else
			sasl_fail(c);
		return;
	}
	struct irc_account_job *j = sasl_job(c);
	if (j == NULL)
		return;
	if (x->step == SCRAM_FIRST)
		irc_account_wait(c, j, accounts_scram_first(irc_accounts(c), &x->scram,
		    (const char *)msg, len, irc_account_addr(c), irc_account_done, j));
	else
		irc_account_wait(c, j, accounts_scram_final(irc_accounts(c), x->scram,
		    (const char *)msg, len, irc_account_done, j));
}

/* AUTHENTICATE mechanism: a new exchange. */
static void
sasl_start(struct conn *c, const char *name)
{
	struct irc_session *s = irc_session(c);
	if (strcmp(name, "*") == 0) {
		irc_num(c, ERR_SASLABORTED);
		return;
	}
	size_t i = 0;
	while (i < sizeof mechs / sizeof mechs[0] && strcasecmp(mechs[i].name, name) != 0)
		i++;
	if (i == sizeof mechs / sizeof mechs[0]) {
		irc_num(c, RPL_SASLMECHS, IRC_SASL_MECHS);
		irc_num(c, ERR_SASLFAIL);
		return;
	}
	char fp[CONN_FINGERPRINT_MAX] = "";
	if (mechs[i].mech == MECH_EXTERNAL && conn_tls_fingerprint(c, fp) < 0) {
		irc_num(c, ERR_SASLFAIL);  /* no certificate: nothing to go by */
		return;
	}
	if ((s->sasl = calloc(1, sizeof *s->sasl)) == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	s->sasl_gen++;
	s->sasl->mech = mechs[i].mech;
	memcpy(s->sasl->fp, fp, sizeof fp);
	irc_send(c, "AUTHENTICATE +");
}

void
irc_cmd_authenticate(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	const char *arg = m->params[0];
	if (irc_accounts(c) == NULL) {
		irc_num(c, ERR_SASLFAIL);
		return;
	}
	struct irc_sasl *x = s->sasl;
	if (x == NULL) {
		sasl_start(c, arg);
		return;
	}
	if (x->busy) {
		/* The client did not wait for the answer to its last step. */
		if (strcmp(arg, "*") == 0) {
			irc_sasl_end(c);
			irc_num(c, ERR_SASLABORTED);
		} else
			sasl_fail(c);
		return;
	}
	switch (sasl_chunk_add(&x->buf, arg)) {
	case SASL_CHUNK_MORE:
		return;
	case SASL_CHUNK_ABORT:
		irc_sasl_end(c);
		irc_num(c, ERR_SASLABORTED);
		return;
	case SASL_CHUNK_TOOLONG:
		irc_sasl_end(c);
		irc_num(c, ERR_SASLTOOLONG);
		return;
	case SASL_CHUNK_OVERFLOW:
		sasl_fail(c);
		return;
	case SASL_CHUNK_DONE:
		break;
	}
	unsigned char msg[SASL_PAYLOAD_MAX / 4 * 3 + 1];
	long n = sasl_base64_decode(x->buf.data, x->buf.len, msg);
	explicit_bzero(x->buf.data, x->buf.len);
	x->buf.len = 0;
	if (n < 0) {
		sasl_fail(c);
		return;
	}
	switch (x->mech) {
	case MECH_PLAIN:
		sasl_plain(c, msg, (size_t)n);
		break;
	case MECH_EXTERNAL:
		sasl_external(c, msg, (size_t)n);
		break;
	case MECH_SCRAM:
		sasl_scram(c, msg, (size_t)n);
		break;
	}
	explicit_bzero(msg, (size_t)n);
}
