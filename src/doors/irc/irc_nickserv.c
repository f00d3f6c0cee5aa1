/* NickServ, for the clients and bots that know no SASL: "/msg NickServ
 * IDENTIFY password" and its kin, answered as NOTICEs from NickServ, over
 * the same accounts service SASL uses. Nobody can hold the nickname
 * NickServ (names.c), so what is said to it never reaches a user, and it
 * is neither logged nor echoed: it holds passwords. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "accounts/accounts.h"
#include "base/text.h"
#include "doors/irc/irc.h"

static void ns_say(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ns_say(struct conn *c, const char *fmt, ...)
{
	char text[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	irc_send(c, ":%s!%s@%s NOTICE %s :%s", IRC_NICKSERV, IRC_NICKSERV,
	    irc_server_name(c), irc_target(c), text);
}

static const char *const help[] = {
	"NickServ keeps accounts: an account is the nickname it was registered with.",
	"REGISTER <password>           register your current nickname",
	"IDENTIFY [account] <password> log in (SASL does it as you connect)",
	"LOGOUT                        log out",
	"PASSWD <old> <new>            change your password",
	"CERT ADD [fingerprint]        log in by this TLS certificate (SASL EXTERNAL)",
	"CERT DEL <fingerprint>        forget a certificate",
	"CERT LIST                     the certificates that log you in",
	"DROP <password>               delete your account and all kept for it",
	"INFO [account]                whether an account exists, and since when",
};

/* What the service said, as NickServ says it. */
static void
ns_status(struct conn *c, const struct account_result *r, const char *what)
{
	switch (r->status) {
	case ACCOUNT_BAD_CREDENTIALS:
		ns_say(c, "%s: invalid account name or password", what);
		return;
	case ACCOUNT_THROTTLED:
		ns_say(c, "%s: too many failed attempts; try again later", what);
		return;
	default:
		ns_say(c, "%s: %s", what, account_status_text(r->status));
		return;
	}
}

/* The account's fingerprints (fps: a space between), a NOTICE each, and
 * this connection's certificate's, if any. */
static void
cert_list(struct conn *c, const char *fps, const char *account)
{
	size_t n = 0;
	for (const char *p = fps != NULL ? fps : ""; *p != '\0';) {
		size_t len = strcspn(p, " ");
		ns_say(c, "Certificate of %s: %.*s", account, (int)len, p);
		n++;
		p += len + (p[len] == ' ');
	}
	ns_say(c, "%zu certificate%s log%s in as %s", n, n == 1 ? "" : "s",
	    n == 1 ? "s" : "", account);
	char mine[CONN_FINGERPRINT_MAX];
	if (conn_tls_fingerprint(c, mine) == 0)
		ns_say(c, "This connection's certificate: %s", mine);
	else
		ns_say(c, "This connection has no TLS client certificate");
}

static void
ns_done(struct conn *c, const struct account_result *r, struct irc_account_job *j)
{
	const char *w = j->word;
	if (r->status != ACCOUNT_OK) {
		ns_status(c, r, w);
		return;
	}
	if (strcmp(w, "REGISTER") == 0) {
		irc_account_set(c, r->account);
		ns_say(c, "Account %s registered; you are logged in", r->account);
	} else if (strcmp(w, "IDENTIFY") == 0) {
		irc_account_set(c, r->account);
		ns_say(c, "You are now logged in as %s", r->account);
	} else if (strcmp(w, "PASSWD") == 0) {
		ns_say(c, "Your password is changed");
	} else if (strcmp(w, "CERT ADD") == 0) {
		ns_say(c, "This certificate now logs you in as %s (SASL EXTERNAL)", j->name);
	} else if (strcmp(w, "CERT DEL") == 0) {
		ns_say(c, "That certificate no longer logs anyone in");
	} else if (strcmp(w, "CERT LIST") == 0) {
		cert_list(c, r->data, j->name);
	} else if (strcmp(w, "DROP") == 0) {
		/* The hub logged out whoever was logged in as it. */
		ns_say(c, "Account %s is dropped", j->name);
	} else if (strcmp(w, "INFO") == 0) {
		time_t at = (time_t)(r->created_ms / 1000);
		struct tm tm;
		char when[64];
		gmtime_r(&at, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
		ns_say(c, "Account %s, registered %s", r->account, when);
	}
}

static struct irc_account_job *
ns_job(struct conn *c, const char *word, const char *name)
{
	struct irc_account_job *j = irc_account_job(c, ns_done);
	if (j != NULL) {
		snprintf(j->word, sizeof j->word, "%s", word);
		snprintf(j->name, sizeof j->name, "%s", name);
	}
	return j;
}

/* The account c must be logged in as for a command, or NULL (said). */
static const char *
ns_logged_in(struct conn *c, const char *word)
{
	const char *acct = irc_account_of(c);
	if (acct[0] == '\0') {
		ns_say(c, "%s: you are not logged in", word);
		return NULL;
	}
	return acct;
}

static void
ns_cert(struct conn *c, char **args, int n)
{
	struct accounts *a = irc_accounts(c);
	const char *acct = ns_logged_in(c, "CERT");
	if (acct == NULL)
		return;
	const char *sub = n > 0 ? args[0] : "";
	char fp[CONN_FINGERPRINT_MAX] = "";
	if (n > 1)
		snprintf(fp, sizeof fp, "%s", args[1]);
	if (strcasecmp(sub, "ADD") == 0) {
		if (n < 2 && conn_tls_fingerprint(c, fp) < 0) {
			ns_say(c, "CERT ADD: connect with a TLS client certificate, or name its "
			    "SHA-256 fingerprint");
			return;
		}
		struct irc_account_job *j = ns_job(c, "CERT ADD", acct);
		if (j != NULL)
			irc_account_wait(c, j, accounts_cert_add(a, acct, fp, irc_account_done, j));
	} else if (strcasecmp(sub, "DEL") == 0 && n > 1) {
		struct irc_account_job *j = ns_job(c, "CERT DEL", acct);
		if (j != NULL)
			irc_account_wait(c, j, accounts_cert_del(a, acct, fp, irc_account_done, j));
	} else if (strcasecmp(sub, "LIST") == 0) {
		struct irc_account_job *j = ns_job(c, "CERT LIST", acct);
		if (j != NULL)
			irc_account_wait(c, j, accounts_cert_list(a, acct, irc_account_done, j));
	} else
		ns_say(c, "CERT ADD [fingerprint] | CERT DEL <fingerprint> | CERT LIST");
}

void
irc_nickserv(struct conn *c, char *text)
{
	struct accounts *a = irc_accounts(c);
	char *args[4];
	int n = 0;
	size_t len = strlen(text);
	char *p = text, *word = text_word(&p);
	/* The last argument takes the rest: a password may hold spaces. */
	while (n < 3 && (args[n] = text_word(&p)) != NULL)
		n++;
	if (p != NULL && *p != '\0' && n == 3)
		args[n++] = p;
	if (word == NULL || strcasecmp(word, "HELP") == 0) {
		for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
			ns_say(c, "%s", help[i]);
		return;
	}
	if (a == NULL) {
		ns_say(c, "This server keeps no accounts");
		return;
	}
	const char *addr = irc_account_addr(c);
	struct irc_account_job *j = NULL;
	const char *acct;
	if (strcasecmp(word, "REGISTER") == 0 && n >= 1) {
		if (irc_account_of(c)[0] != '\0') {
			ns_say(c, "REGISTER: you are logged in already");
			return;
		}
		if ((j = ns_job(c, "REGISTER", c->user->nick)) != NULL)
			irc_account_wait(c, j, accounts_register(a, c->user->nick, args[0], addr,
			    irc_account_done, j));
	} else if ((strcasecmp(word, "IDENTIFY") == 0 || strcasecmp(word, "LOGIN") == 0) &&
	    n >= 1) {
		const char *name = n >= 2 ? args[0] : c->user->nick;
		const char *pw = n >= 2 ? args[1] : args[0];
		if ((j = ns_job(c, "IDENTIFY", name)) != NULL)
			irc_account_wait(c, j, accounts_login(a, name, pw, addr, irc_account_done, j));
	} else if (strcasecmp(word, "LOGOUT") == 0) {
		if (ns_logged_in(c, "LOGOUT") != NULL) {
			irc_account_set(c, NULL);
			ns_say(c, "You are now logged out");
		}
	} else if (strcasecmp(word, "PASSWD") == 0 && n >= 2) {
		if ((acct = ns_logged_in(c, "PASSWD")) != NULL &&
		    (j = ns_job(c, "PASSWD", acct)) != NULL)
			irc_account_wait(c, j, accounts_passwd(a, acct, args[0], args[1], addr,
			    irc_account_done, j));
	} else if (strcasecmp(word, "CERT") == 0) {
		ns_cert(c, args, n);
	} else if (strcasecmp(word, "DROP") == 0 && n >= 1) {
		if ((acct = ns_logged_in(c, "DROP")) != NULL &&
		    (j = ns_job(c, "DROP", acct)) != NULL)
			irc_account_wait(c, j, accounts_drop(a, acct, args[0], addr,
			    irc_account_done, j));
	} else if (strcasecmp(word, "INFO") == 0) {
		const char *name = n >= 1 ? args[0] : irc_account_of(c)[0] ?
		    irc_account_of(c) : c->user->nick;
		if ((j = ns_job(c, "INFO", name)) != NULL)
			irc_account_wait(c, j, accounts_info(a, name, irc_account_done, j));
	} else
		ns_say(c, "Unknown command or missing parameters: %s (try HELP)", word);
	/* The text held a password: it goes no further than this. */
	explicit_bzero(text, len);
}

/* NICKSERV and NS: the service's commands without a PRIVMSG, as Ergo and
 * Atheme's clients send them. */
void
irc_cmd_nickserv(struct conn *c, struct irc_message *m)
{
	char text[IRC_LINE_MAX];
	size_t len = 0;
	text[0] = '\0';
	for (int i = 0; i < m->nparams && len < sizeof text; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i ? " " : "",
		    m->params[i]);
	irc_nickserv(c, text);
	explicit_bzero(text, sizeof text);
}
