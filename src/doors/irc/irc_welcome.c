/* The welcome burst a client gets on registering (001-005, LUSERS,
 * MOTD), parts of which are commands too (LUSERS, MOTD, VERSION). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doors/irc/irc.h"

/* ISUPPORT (005). A line carries at most 15 parameters: the nick, the
 * tokens and the closing text, so the tokens go out a dozen at a time. */
#define ISUPPORT_PER_LINE 12
#define ISUPPORT_MAX 32
#define ISUPPORT_TOKEN_MAX 80

void
irc_send_isupport(struct conn *c)
{
	const struct config *cfg = door_cfg(c);
	char tok[ISUPPORT_MAX][ISUPPORT_TOKEN_MAX];
	int n = 0;
	/* More tokens than the array holds is a mistake here, not input. */
#define TOKEN(...) (n < ISUPPORT_MAX ? (void)snprintf(tok[n++], sizeof tok[0], \
	__VA_ARGS__) : abort())
	TOKEN("AWAYLEN=%d", HUB_AWAY_MAX);
	TOKEN("BOT=B");
	TOKEN("CASEMAPPING=ascii");
	TOKEN("CHANLIMIT=#:%d", HUB_ROOMS_PER_USER);
	TOKEN("CHANMODES=beI,k,l,imnst");
	TOKEN("CHANNELLEN=%lu", cfg->channel_len);
	TOKEN("CHANTYPES=#");
	if (door_env(c)->store != NULL)
		TOKEN("CHATHISTORY=%lu", cfg->chathistory_max);
	TOKEN("ELIST=CMNTU");
	TOKEN("HOSTLEN=%d", USER_HOST_MAX);
	TOKEN("KEYLEN=%d", HUB_KEY_MAX);
	TOKEN("KICKLEN=%d", HUB_REASON_MAX);
	TOKEN("EXCEPTS=e");
	TOKEN("INVEX=I");
	TOKEN("MAXLIST=beI:%d", HUB_MASKS_PER_ROOM);
	TOKEN("MODES=4");
	TOKEN("MONITOR=%d", HUB_MONITOR_PER_USER);
	if (door_env(c)->store != NULL)
		TOKEN("MSGREFTYPES=msgid,timestamp");
	TOKEN("NETWORK=Parley");
	TOKEN("NICKLEN=%lu", cfg->nick_len);
	TOKEN("PREFIX=(ov)@+");
	TOKEN("TARGMAX=JOIN:,KICK:%d,NAMES:%d,NOTICE:%d,PART:,PRIVMSG:%d,WHOIS:1",
	    IRC_TARGETS_MAX, IRC_TARGETS_MAX, IRC_TARGETS_MAX, IRC_TARGETS_MAX);
	TOKEN("TOPICLEN=%lu", cfg->topic_len);
	TOKEN("USERLEN=%d", USER_IDENT_MAX);
	TOKEN("UTF8ONLY");
	TOKEN("WHOX");
#undef TOKEN
	for (int i = 0; i < n; i += ISUPPORT_PER_LINE) {
		char line[ISUPPORT_PER_LINE * ISUPPORT_TOKEN_MAX] = "";
		size_t len = 0;
		for (int j = i; j < n && j < i + ISUPPORT_PER_LINE; j++)
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
			    len ? " " : "", tok[j]);
		irc_num(c, RPL_ISUPPORT, line);
	}
}

void
irc_welcome(struct conn *c)
{
	struct user *u = c->user;
	const char *sn = irc_server_name(c);
	irc_num(c, RPL_WELCOME,
	    u->nick, u->ident, u->host);
	irc_num(c, RPL_YOURHOST, sn, PARLEY_VERSION);
	irc_num(c, RPL_CREATED, door_env(c)->started);
	irc_num(c, RPL_MYINFO, sn, PARLEY_VERSION);
	irc_send_isupport(c);
	irc_send_lusers(c);
	irc_send_motd(c);
}


/* In a cluster the hub mirrors every node's users and rooms: users,
 * operators, invisible users and channels count the whole cluster, and
 * the servers are the nodes alive at the last heartbeat check; 255 and
 * 265 count this node's own, and 253 its own connections. */
void
irc_send_lusers(struct conn *c)
{
	struct hub *hub = door_hub(c);
	const struct cluster *cl = door_env(c)->cluster;
	unsigned invisible = hub->ninvisible, rooms = hub->nrooms;
	unsigned users = hub->nusers, local = hub->nlocal;
	unsigned servers = 1;
	if (cl != NULL && cluster_up(cl) && cluster_stats(cl)->nodes > 1)
		servers = cluster_stats(cl)->nodes;
	irc_num(c, RPL_LUSERCLIENT,
	    users - invisible, invisible, servers);
	irc_num(c, RPL_LUSEROP, hub->nopers);
	unsigned long unknown = (*door_env(c)->nconns) > local ? (*door_env(c)->nconns) - local : 0;
	irc_num(c, RPL_LUSERUNKNOWN, unknown);
	irc_num(c, RPL_LUSERCHANNELS, rooms);
	irc_num(c, RPL_LUSERME, local, servers - 1);
	irc_num(c, RPL_LOCALUSERS, local,
	    hub->max_local, local, hub->max_local);
	irc_num(c, RPL_GLOBALUSERS, users,
	    hub->max_users, users, hub->max_users);
}


void
irc_send_motd(struct conn *c)
{
	const char *path = door_cfg(c)->motd_file;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (f == NULL) {
		irc_num(c, ERR_NOMOTD);
		return;
	}
	irc_num(c, RPL_MOTDSTART, irc_server_name(c));
	char line[IRC_LIST_LINE];
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		irc_num(c, RPL_MOTD, line);
	}
	fclose(f);
	irc_num(c, RPL_ENDOFMOTD);
}

