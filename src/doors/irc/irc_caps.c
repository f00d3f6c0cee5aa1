/* Capability negotiation (IRCv3 capability-negotiation, CAP 302): the
 * capabilities the server offers, and the CAP command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "doors/irc/irc.h"

/* The capabilities CAP LS offers. A capability with a value writes it
 * (e.g. "max-bytes=4096") and may decline to be offered to c at all;
 * one without a bit is only a policy to read, never to request (sts). */
typedef int cap_value_fn(struct conn *c, char *value, size_t cap);
/* CAP LS 302: values, and lists over several lines (cap-notify implied). */
#define CAP_302 302
#define CAP_NAME_MAX 64     /* longer than any capability's name */
#define CAP_VALUE_MAX 128   /* a value: sts's port and duration, multiline's limits */

/* IRCv3 sts, when configured: a plain connection is told to move to the
 * TLS port; a TLS one that asked for the server's name (SNI) is told how
 * long to stay (not one that came by another name or an address, as the
 * specification advises). WebSocket clients are not offered it: their
 * browser cannot take a TLS IRC port, and HTTPS has its own policy. */
static int
cap_sts(struct conn *c, char *value, size_t cap)
{
	const struct config *cfg = door_cfg(c);
	if (cfg->sts_duration == NULL || conn_websocket(c))
		return 0;
	if (!conn_secure(c)) {
		snprintf(value, cap, "port=%lu,duration=%s", cfg->sts_port, cfg->sts_duration);
		return 1;
	}
	const char *sni = conn_tls_servername(c);
	if (sni == NULL || strcasecmp(sni, cfg->server_name) != 0)
		return 0;
	snprintf(value, cap, "duration=%s", cfg->sts_duration);
	return 1;
}

/* draft/multiline: its limits. */
static int
cap_multiline(struct conn *c, char *value, size_t cap)
{
	(void)c;
	snprintf(value, cap, "%s", IRC_MULTILINE_CAP);
	return 1;
}

/* draft/chathistory, draft/event-playback, soju.im/search: offered only
 * by a server that keeps history. */
static int
cap_history(struct conn *c, char *value, size_t cap)
{
	(void)value;
	(void)cap;
	return door_env(c)->store != NULL;
}

/* Accounts: offered only by a server that keeps them. sasl's value lists
 * its mechanisms (3.2); they are the same for the server's whole life, so
 * cap-notify never has a change of them to tell. */
static int
cap_sasl(struct conn *c, char *value, size_t cap)
{
	snprintf(value, cap, "%s", IRC_SASL_MECHS);
	return irc_accounts(c) != NULL;
}

static int
cap_accounts(struct conn *c, char *value, size_t cap)
{
	(void)value;
	(void)cap;
	return irc_accounts(c) != NULL;
}

/* draft/account-registration: REGISTER before the connection is complete
 * too (before-connect, register-before-connect), unless the server has a
 * password, which REGISTER must not get around; no e-mail is asked for. */
static int
cap_register(struct conn *c, char *value, size_t cap)
{
	snprintf(value, cap, "%s", irc_register_early(c) ? "before-connect" : "");
	return irc_accounts(c) != NULL;
}

static const struct {
	const char *name;
	unsigned bit;
	cap_value_fn *value;    /* NULL: always offered, no value */
} caps[] = {
	{ "account-notify", CAP_ACCOUNT_NOTIFY, cap_accounts },
	{ "account-tag", CAP_ACCOUNT_TAG, cap_accounts },
	{ "away-notify", CAP_AWAY_NOTIFY, NULL },
	{ "batch", CAP_BATCH, NULL },
	{ "cap-notify", CAP_CAP_NOTIFY, NULL },
	{ "chghost", CAP_CHGHOST, NULL },
	{ "draft/account-registration", CAP_ACCOUNT_REGISTRATION, cap_register },
	{ "draft/chathistory", CAP_CHATHISTORY, cap_history },
	{ "draft/event-playback", CAP_EVENT_PLAYBACK, cap_history },
	{ "draft/message-redaction", CAP_MESSAGE_REDACTION, NULL },
	{ "draft/multiline", CAP_MULTILINE, cap_multiline },
	{ "draft/read-marker", CAP_READ_MARKER, cap_history },
	{ "echo-message", CAP_ECHO_MESSAGE, NULL },
	{ "extended-join", CAP_EXTENDED_JOIN, NULL },
	{ "extended-monitor", CAP_EXTENDED_MONITOR, NULL },
	{ "invite-notify", CAP_INVITE_NOTIFY, NULL },
	{ "labeled-response", CAP_LABELED_RESPONSE, NULL },
	{ "message-tags", CAP_MESSAGE_TAGS, NULL },
	{ "multi-prefix", CAP_MULTI_PREFIX, NULL },
	{ "no-implicit-names", CAP_NO_IMPLICIT_NAMES, NULL },
	{ "sasl", CAP_SASL, cap_sasl },
	{ "server-time", CAP_SERVER_TIME, NULL },
	{ "setname", CAP_SETNAME, NULL },
	{ "soju.im/search", CAP_SEARCH, cap_history },
	{ "standard-replies", CAP_STANDARD_REPLIES, NULL },
	{ "sts", 0, cap_sts },
	{ "userhost-in-names", CAP_USERHOST_IN_NAMES, NULL },
};
#define NCAPS (sizeof caps / sizeof caps[0])


/* The bit of a capability c may have, or 0. */
static unsigned
cap_find(struct conn *c, const char *name)
{
	char value[CAP_VALUE_MAX];
	for (size_t i = 0; i < NCAPS; i++)
		if (strcmp(caps[i].name, name) == 0)
			return caps[i].bit && caps[i].value == NULL ? caps[i].bit :
			    caps[i].bit && caps[i].value(c, value, sizeof value) ? caps[i].bit : 0;
	return 0;
}

/* CAP LS (every capability offered to c, with values for 302) or CAP
 * LIST (those in which). A 302 client gets as many lines as the list
 * needs, each but the last marked with "*". */
static void
cap_list(struct conn *c, const char *sub, int ls, unsigned which)
{
	struct irc_session *s = irc_session(c);
	char head[IRC_LINE_MAX];
	int hn = snprintf(head, sizeof head, ":%s CAP %s %s ", irc_server_name(c),
	    irc_target(c), sub);
	/* Room for "* :" after the head. */
	size_t budget = hn > 0 ? irc_text_room((size_t)hn, sizeof "* :" - 1) : 0;
	char list[IRC_LINE_MAX] = "";
	size_t len = 0;
	for (size_t i = 0; i < NCAPS; i++) {
		char value[CAP_VALUE_MAX] = "", item[CAP_NAME_MAX + 1 + CAP_VALUE_MAX];
		if (ls && caps[i].value != NULL &&
		    !caps[i].value(c, value, sizeof value))
			continue;
		if (!ls && !(which & caps[i].bit))
			continue;
		int n = snprintf(item, sizeof item, "%s%s%s", caps[i].name,
		    ls && s->cap_version >= CAP_302 && value[0] ? "=" : "",
		    ls && s->cap_version >= CAP_302 ? value : "");
		if (n < 0 || (size_t)n >= sizeof item)
			continue;
		if (len + 1 + (size_t)n > budget) {
			/* Before 302 a client reads one line only; ours fits. */
			if (s->cap_version < CAP_302 || len == 0)
				break;
			irc_send(c, "%s* :%s", head, list);
			len = 0;
		}
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
		    len ? " " : "", item);
	}
	irc_send(c, "%s:%s", head, list);
}

void
irc_cmd_cap(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	const char *sub = m->params[0];
	if (strcasecmp(sub, "LS") == 0) {
		if (c->user == NULL)
			s->negotiating = 1;
		if (m->nparams > 1 && atoi(m->params[1]) >= CAP_302) {
			s->cap_version = CAP_302;
			s->caps |= CAP_CAP_NOTIFY; /* implied by 302 */
		}
		cap_list(c, "LS", 1, 0);
	} else if (strcasecmp(sub, "LIST") == 0) {
		cap_list(c, "LIST", 0, s->caps);
	} else if (strcasecmp(sub, "REQ") == 0) {
		if (c->user == NULL)
			s->negotiating = 1;
		const char *req = m->nparams > 1 ? m->params[1] : "";
		char copy[IRC_LINE_MAX], *p = copy, *word;
		snprintf(copy, sizeof copy, "%s", req);
		unsigned on = 0, off = 0;
		int ok = 1;
		while ((word = text_word(&p)) != NULL) {
			int remove = word[0] == '-';
			unsigned bit = cap_find(c, word + remove);
			if (bit == 0 || (remove && bit == CAP_CAP_NOTIFY && s->cap_version >= CAP_302))
				ok = 0;
			else if (remove)
				off |= bit;
			else
				on |= bit;
		}
		/* All or nothing, as the specification says. */
		if (ok) {
			s->caps = (s->caps | on) & ~off;
			irc_send(c, ":%s CAP %s ACK :%s", irc_server_name(c), irc_target(c), req);
		} else
			irc_send(c, ":%s CAP %s NAK :%s", irc_server_name(c), irc_target(c), req);
	} else if (strcasecmp(sub, "END") == 0) {
		if (c->user == NULL) {
			s->negotiating = 0;
			irc_try_register(c);
		}
	} else
		irc_num(c, ERR_INVALIDCAPCMD, sub);
}

