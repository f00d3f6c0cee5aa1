/* What the hub's refusals are called in IRC: a numeric for most, a
 * standard reply for those newer than numerics. The numerics themselves
 * are in irc_numeric.h. */
#include <stdio.h>

#include "doors/irc/irc.h"

void
irc_hub_error(struct conn *c, enum hub_status st, const char *name, const char *room)
{
	const char *r = room ? room : name;
	char context[IRC_LINE_MAX];
	switch (st) {
	case HUB_OK:
	case HUB_EALREADY:
		return;
	case HUB_ENOMEM:
		irc_fail(c, "*", "TEMPORARILY_UNAVAILABLE", NULL, "Out of memory");
		return;
	case HUB_EBADNICK:
		irc_num(c, ERR_ERRONEUSNICKNAME, name);
		return;
	case HUB_ERESERVED:
		irc_num(c, ERR_NICKRESERVED, name);
		return;
	case HUB_ENICKINUSE:
		irc_num(c, ERR_NICKNAMEINUSE, name);
		return;
	case HUB_EOWNED:
		irc_num(c, ERR_NICKOWNED, name);
		return;
	case HUB_ENONICK:
		irc_num(c, ERR_NOSUCHNICK, name);
		return;
	case HUB_EBADROOM:
	case HUB_ENOROOM:
		irc_num(c, ERR_NOSUCHCHANNEL, r);
		return;
	case HUB_ENOTIN:
	case HUB_ENOCURRENT:
		irc_num(c, ERR_NOTONCHANNEL, r);
		return;
	case HUB_ETOOMANY:
		irc_num(c, ERR_TOOMANYCHANNELS, r);
		return;
	case HUB_EMADE:
		irc_num(c, ERR_TOOMANYMADE, r);
		return;
	case HUB_EROOMS:
		irc_num(c, ERR_NOMOREROOMS, r);
		return;
	case HUB_ECHANOP:
		irc_num(c, ERR_CHANOPRIVSNEEDED, r);
		return;
	case HUB_EBANNED:
		irc_num(c, ERR_BANNEDFROMCHAN, r);
		return;
	case HUB_EINVITEONLY:
		irc_num(c, ERR_INVITEONLYCHAN, r);
		return;
	case HUB_EBADKEY:
		irc_num(c, ERR_BADCHANNELKEY, r);
		return;
	case HUB_EFULL:
		irc_num(c, ERR_CHANNELISFULL, r);
		return;
	case HUB_ECANNOTSEND:
		irc_num(c, ERR_CANNOTSENDTOCHAN, r);
		return;
	case HUB_EUSERNOTIN:
		irc_num(c, ERR_USERNOTINCHANNEL, name, r);
		return;
	case HUB_EUSERON:
		irc_num(c, ERR_USERONCHANNEL, name, r);
		return;
	case HUB_EUNKNOWNMODE:
		irc_num(c, ERR_UNKNOWNMODE, name);
		return;
	case HUB_ENEEDARG:
		irc_num(c, ERR_INVALIDMODEPARAM,
		    r, name);
		return;
	case HUB_EBANLIST:
		irc_num(c, ERR_BANLISTFULL, r, name);
		return;
	case HUB_ENOPRIV:
		irc_num(c, ERR_NOPRIVILEGES);
		return;
	case HUB_EUNKNOWNMSG:
		snprintf(context, sizeof context, "%s %s", r, name);
		irc_fail(c, "REDACT", "UNKNOWN_MSGID", context,
		    "This message does not exist or is too old");
		return;
	case HUB_ENOTYOURS:
		snprintf(context, sizeof context, "%s %s", r, name);
		irc_fail(c, "REDACT", "REDACT_FORBIDDEN", context,
		    "You are not authorised to delete this message");
		return;
	case HUB_ENOACCOUNT:
		irc_fail(c, "*", "ACCOUNT_REQUIRED", NULL, "You must be logged in to do that");
		return;
	case HUB_EBADHOST:
		irc_fail_vendor(c, "CHGHOST", "INVALID_HOST", name, "That is not a valid host name");
		return;
	}
}
