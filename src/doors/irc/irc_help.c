/* HELP and HELPOP (Modern IRC): one usage line per command, so a user
 * need not leave the client to learn the syntax. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "doors/irc/irc.h"

static const struct {
	const char *command;
	const char *usage;
} topics[] = {
	{ "ADMIN", "ADMIN: who runs this server" },
	{ "AWAY", "AWAY [:message]: mark yourself away, or back without a message" },
	{ "BATCH", "BATCH +id draft/multiline target, lines, BATCH -id: one message of several lines" },
	{ "CAP", "CAP LS [302] | LIST | REQ :caps | END: capability negotiation" },
	{ "CHATHISTORY", "CHATHISTORY LATEST|BEFORE|AFTER|AROUND #room ref limit | BETWEEN #room ref ref limit | TARGETS ts ts limit: a room's history" },
	{ "CHGHOST", "CHGHOST nick host: give a user another displayed host (operators)" },
	{ "HELP", "HELP [command]: this help" },
	{ "INFO", "INFO: about this server" },
	{ "INVITE", "INVITE nick #room: invite someone into a room" },
	{ "ISON", "ISON nick [nick ...]: which of these are here" },
	{ "JOIN", "JOIN #room[,#room] [key[,key]] | JOIN 0: join rooms, or leave them all" },
	{ "KICK", "KICK #room[,#room] nick[,nick] [:reason]: put someone out of a room" },
	{ "KILL", "KILL nick :reason: disconnect a user (operators)" },
	{ "LIST", "LIST [#room|mask|!mask|>n|<n|C>n|C<n|T>n|T<n][,...]: list rooms" },
	{ "LUSERS", "LUSERS: how many users, operators and rooms" },
	{ "MODE", "MODE #room [+-modes [args]] | MODE nick [+-iB]: see or change modes" },
	{ "MONITOR", "MONITOR + nick[,nick] | - nick[,nick] | C | L | S: be told when nicks come and go" },
	{ "MOTD", "MOTD: the message of the day" },
	{ "NAMES", "NAMES #room[,#room]: who is in a room" },
	{ "NICK", "NICK newnick: change your nickname" },
	{ "NOTICE", "NOTICE target[,target] :text: a message no one answers automatically" },
	{ "OPER", "OPER name password: become an IRC operator" },
	{ "PART", "PART #room[,#room] [:reason]: leave rooms" },
	{ "PING", "PING token: the server answers PONG token" },
	{ "PRIVMSG", "PRIVMSG target[,target] :text: talk to a room or a person" },
	{ "QUIT", "QUIT [:reason]: leave the server" },
	{ "REDACT", "REDACT target msgid [:reason]: take back a message" },
	{ "SEARCH", "SEARCH in=#room;text=words[;from=nick;after=ts;before=ts;limit=n]: find messages" },
	{ "SETNAME", "SETNAME :real name: change your real name" },
	{ "TAGMSG", "TAGMSG target: send only client tags (message-tags)" },
	{ "TIME", "TIME: the server's time" },
	{ "TOPIC", "TOPIC #room [:topic]: see or set a room's topic" },
	{ "USERHOST", "USERHOST nick [nick ...]: their user and host" },
	{ "VERSION", "VERSION: the server's version and ISUPPORT" },
	{ "WHO", "WHO mask|#room [o][%fields[,token]]: who matches (WHOX with %)" },
	{ "WHOIS", "WHOIS nick: about someone" },
	{ "WHOWAS", "WHOWAS nick [count]: about someone who has left" },
};
#define NTOPICS (sizeof topics / sizeof topics[0])
/* The index's lines are short: about ten command names each. */
#define HELP_INDEX_LINE 60

void
irc_cmd_help(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		irc_num(c, RPL_HELPSTART, "index", "Commands (HELP <command> for one):");
		char line[IRC_LINE_MAX] = "";
		size_t len = 0;
		for (size_t i = 0; i < NTOPICS; i++) {
			if (len + strlen(topics[i].command) + 1 > HELP_INDEX_LINE) {
				irc_num(c, RPL_HELPTXT, "index", line);
				len = 0;
			}
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
			    len ? " " : "", topics[i].command);
		}
		if (len > 0)
			irc_num(c, RPL_HELPTXT, "index", line);
		irc_num(c, RPL_ENDOFHELP, "index");
		return;
	}
	const char *subject = m->params[0];
	for (size_t i = 0; i < NTOPICS; i++) {
		if (strcasecmp(topics[i].command, subject) != 0)
			continue;
		irc_num(c, RPL_HELPSTART, topics[i].command, topics[i].usage);
		irc_num(c, RPL_ENDOFHELP, topics[i].command);
		return;
	}
	irc_num(c, ERR_HELPNOTFOUND,
	    irc_param_is_middle(subject) ? subject : "*");
}
