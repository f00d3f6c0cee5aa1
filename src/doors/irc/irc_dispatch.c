/* A line from an IRC client: NUL bytes out, parsed, the parts others
 * will see repaired to valid UTF-8, then run as its command (or kept as
 * part of a multiline batch), its reply labeled as the client asked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/text.h"
#include "doors/irc/irc.h"

/* The commands. A command with fewer parameters than min_params is
 * answered ERR_NEEDMOREPARAMS here, and never runs; one whose answer to
 * too few is something else (NICK, WHOIS) or comes after another check
 * (PASS, USER, BATCH) counts them itself. */
static const struct irc_command {
	const char *name;
	irc_cmd_fn *fn;
	uint8_t min_params;
	uint8_t before_registration;  /* allowed before the welcome */
	uint8_t debug;                /* only with debug-commands 1 */
} commands[] = {
	{ "ADMIN", irc_cmd_admin, 0, 0, 0 },
	{ "AUTHENTICATE", irc_cmd_authenticate, 1, 1, 0 },
	{ "AWAY", irc_cmd_away, 0, 0, 0 },
	{ "BATCH", irc_cmd_batch, 0, 0, 0 },
	{ "CAP", irc_cmd_cap, 1, 1, 0 },
	{ "CHANSERV", irc_cmd_chanserv, 0, 0, 0 },
	{ "CHATHISTORY", irc_cmd_chathistory, 0, 0, 0 },
	{ "CHGHOST", irc_cmd_chghost, 2, 0, 0 },
	{ "CS", irc_cmd_chanserv, 0, 0, 0 },
	{ "DEBUG", irc_cmd_debug, 1, 0, 1 },
	{ "HELP", irc_cmd_help, 0, 0, 0 },
	{ "HELPOP", irc_cmd_help, 0, 0, 0 },
	{ "INFO", irc_cmd_info, 0, 0, 0 },
	{ "INVITE", irc_cmd_invite, 2, 0, 0 },
	{ "ISON", irc_cmd_ison, 1, 0, 0 },
	{ "JOIN", irc_cmd_join, 1, 0, 0 },
	{ "KICK", irc_cmd_kick, 2, 0, 0 },
	{ "KILL", irc_cmd_kill, 2, 0, 0 },
	{ "LIST", irc_cmd_list, 0, 0, 0 },
	{ "LUSERS", irc_cmd_lusers, 0, 0, 0 },
	{ "MODE", irc_cmd_mode, 1, 0, 0 },
	{ "MONITOR", irc_cmd_monitor, 1, 0, 0 },
	{ "MARKREAD", irc_cmd_markread, 0, 0, 0 },
	{ "MOTD", irc_cmd_motd, 0, 0, 0 },
	{ "NAMES", irc_cmd_names, 0, 0, 0 },
	{ "NICK", irc_cmd_nick, 0, 1, 0 },
	{ "NICKSERV", irc_cmd_nickserv, 0, 0, 0 },
	{ "NOTICE", irc_cmd_notice, 0, 0, 0 },
	{ "NS", irc_cmd_nickserv, 0, 0, 0 },
	{ "OPER", irc_cmd_oper, 2, 0, 0 },
	{ "PART", irc_cmd_part, 1, 0, 0 },
	{ "PASS", irc_cmd_pass, 0, 1, 0 },
	{ "PING", irc_cmd_ping, 0, 1, 0 },
	{ "PONG", irc_cmd_pong, 0, 1, 0 },
	{ "PRIVMSG", irc_cmd_privmsg, 0, 0, 0 },
	{ "REDACT", irc_cmd_redact, 2, 0, 0 },
	{ "REGISTER", irc_cmd_register, 0, 1, 0 },
	{ "QUIT", irc_cmd_quit, 0, 1, 0 },
	{ "SEARCH", irc_cmd_search, 1, 0, 0 },
	{ "SETNAME", irc_cmd_setname, 0, 0, 0 },
	{ "TAGMSG", irc_cmd_tagmsg, 0, 0, 0 },
	{ "TIME", irc_cmd_time, 0, 0, 0 },
	{ "TOPIC", irc_cmd_topic, 1, 0, 0 },
	{ "USER", irc_cmd_user, 0, 1, 0 },
	{ "USERHOST", irc_cmd_userhost, 1, 0, 0 },
	{ "VERIFY", irc_cmd_verify, 0, 1, 0 },
	{ "VERSION", irc_cmd_version, 0, 0, 0 },
	{ "WHO", irc_cmd_who, 0, 0, 0 },
	{ "WHOIS", irc_cmd_whois, 0, 0, 0 },
	{ "WHOWAS", irc_cmd_whowas, 0, 0, 0 },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Every line of every client looks its command up: a hash of the name,
 * case folded, into a table of twice as many slots as commands, filled
 * once (the table above stays in the order easiest to read and extend
 * in). A hit costs one hash over the name and, nearly always, one
 * comparison; a binary search took six strcasecmp. */
#define COMMAND_SLOTS 128  /* a power of two, at least twice NCOMMANDS */

static uint32_t
command_hash(const char *name)
{
	uint32_t h = 2166136261u;  /* FNV-1a; a command is letters or digits */
	for (; *name != '\0'; name++)
		h = (h ^ ((unsigned char)*name | 0x20)) * 16777619u;
	return h;
}

static const struct irc_command *
command_find(struct conn *c, const char *name)
{
	static const struct irc_command *slots[COMMAND_SLOTS];
	static int ready;
	_Static_assert(COMMAND_SLOTS >= 2 * NCOMMANDS, "the command table needs room");
	if (!ready) {
		for (size_t i = 0; i < NCOMMANDS; i++) {
			uint32_t at = command_hash(commands[i].name) & (COMMAND_SLOTS - 1);
			while (slots[at] != NULL)
				at = (at + 1) & (COMMAND_SLOTS - 1);
			slots[at] = &commands[i];
		}
		ready = 1;
	}
	const struct irc_command *cmd = NULL;
	for (uint32_t at = command_hash(name) & (COMMAND_SLOTS - 1); slots[at] != NULL;
	    at = (at + 1) & (COMMAND_SLOTS - 1)) {
		if (strcasecmp(slots[at]->name, name) == 0) {
			cmd = slots[at];
			break;
		}
	}
	if (cmd == NULL)
		return NULL;
	return cmd->debug && !door_cfg(c)->debug_commands ? NULL : cmd;
}

static char *
remove_nul(char *line, size_t len)
{
	/* Most lines hold none: nothing moves before the first. */
	char *nul = memchr(line, '\0', len);
	if (nul == NULL) {
		line[len] = '\0';
		return line + len;
	}
	char *out = nul;
	for (size_t i = (size_t)(nul - line); i < len; i++)
		if (line[i] != '\0')
			*out++ = line[i];
	*out = '\0';
	return out;
}

/* s as valid UTF-8: itself when it is, else a repaired copy at *at. */
static char *
repair(char *s, char **at)
{
	size_t n = strlen(s);
	if (text_is_clean(s, n))
		return s;
	char *copy = *at;
	*at += text_clean(copy, s, n) + 1;
	return copy;
}

static void
utf8_warn(struct conn *c, const char *command)
{
	irc_send(c, ":%s WARN %s INVALID_UTF8 :Your message was not correctly "
	    "encoded as UTF-8 and had to be modified", irc_server_name(c), command);
}

static void
command_run(struct conn *c, const struct irc_command *cmd, struct irc_message *m,
    int modified)
{
	if (cmd == NULL)
		irc_num(c, ERR_UNKNOWNCOMMAND,
		    text_is_clean(m->command, strlen(m->command)) ? m->command : "*");
	else if (c->user == NULL && !cmd->before_registration)
		irc_num(c, ERR_NOTREGISTERED);
	else {
		/* UTF8ONLY: what others see is valid UTF-8. A line that was not
		 * is repaired rather than refused, and its sender told so first. */
		if (modified)
			utf8_warn(c, cmd->name);
		if (m->nparams < cmd->min_params)
			irc_num(c, ERR_NEEDMOREPARAMS, cmd->name);
		else
			cmd->fn(c, m);
	}
}

void
irc_dispatch(struct conn *c, char *line, size_t len)
{
	if (c->user != NULL)
		c->user->last_active = clock_now_ms();  /* WHOIS idle */
	/* NUL bytes go first (that only shrinks the line); the length rules
	 * then apply to what the client sent, and only the parts others will
	 * see are repaired to valid UTF-8, where they may grow. */
	len = (size_t)(remove_nul(line, len) - line);
	if (!c->spoke && door_foreign_line(line, len)) {
		/* A browser's request (a web page's, sent here): its body
		 * would register and speak as a client. */
		irc_send_closing(c, "Not IRC");
		conn_close(c, "Not IRC", CONN_CLOSE_AFTER_FLUSH);
		return;
	}
	struct irc_message m;  /* irc_parse clears it first */
	enum irc_parse_status st = irc_parse(line, len, &m);
	switch (st) {
	case IRC_PARSE_OK:
	case IRC_PARSE_BAD_COMMAND:  /* answered below, with its label */
		break;
	case IRC_PARSE_EMPTY:
		return;
	case IRC_PARSE_TOO_LONG:
	case IRC_PARSE_TAGS_TOO_LONG:
		irc_num(c, ERR_INPUTTOOLONG);
		return;
	case IRC_PARSE_NO_COMMAND:
		irc_num(c, ERR_UNKNOWNCOMMAND, "*");
		return;
	}
	char repaired[TEXT_CLEAN_MAX(IRC_TAGS_LEN_MAX + IRC_LINE_MAX) + IRC_PARAMS_MAX +
	    IRC_TAGS_MAX];
	char *at = repaired;
	for (int i = 0; i < m.nparams; i++)
		m.params[i] = repair(m.params[i], &at);
	for (int i = 0; i < m.ntags; i++)
		if (m.tags[i].value != NULL)
			m.tags[i].value = repair(m.tags[i].value, &at);
	int modified = at != repaired;
	const struct irc_command *cmd = st == IRC_PARSE_OK ? command_find(c, m.command) : NULL;
	/* draft/multiline: a line of a client's batch is kept, not run; the
	 * batch is answered at its end, with the label of its BATCH +. */
	const char *ref = irc_tag_value(&m, "batch");
	if (ref != NULL && c->user != NULL && st == IRC_PARSE_OK) {
		if (modified && cmd != NULL)
			utf8_warn(c, cmd->name);
		irc_multiline_line(c, &m, ref);
	} else {
		if (cmd == NULL || cmd->fn != irc_cmd_batch)
			irc_label_begin(c, irc_tag_value(&m, "label"));
		command_run(c, cmd, &m, modified);
	}
	irc_reply_end(c);
}

