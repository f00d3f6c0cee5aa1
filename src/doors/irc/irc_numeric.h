/* The IRC numerics the server sends, each once: its name (Modern IRC's,
 * or ours for a second text of one code), its code, and its format for
 * the parameters after the target. Sent with irc_num:
 *
 *     irc_num(c, ERR_NEEDMOREPARAMS, "JOIN");
 *
 * Each name stands for two arguments, the code and the format, so the
 * compiler checks every call's arguments against the text (a table of
 * strings looked up at run time could not be checked). */
#ifndef PARLEY_IRC_NUMERIC_H
#define PARLEY_IRC_NUMERIC_H

/* The code of a numeric, alone: IRC_CODE(RPL_MONONLINE) is "730". */
#define IRC_CODE_(code, fmt) code
#define IRC_CODE(numeric) IRC_CODE_(numeric)

/* Registration. */
#define RPL_WELCOME           "001", ":Welcome to the Parley IRC Network %s!%s@%s"
#define RPL_YOURHOST          "002", ":Your host is %s, running version parley-%s"
#define RPL_CREATED           "003", ":This server was created %s"
#define RPL_MYINFO            "004", "%s parley-%s Bio Ibeklmnostv Ibeklov"
#define RPL_ISUPPORT          "005", "%s :are supported by this server"
#define ERR_NOTREGISTERED     "451", ":You have not registered"
#define ERR_NEEDMOREPARAMS    "461", "%s :Not enough parameters"
#define ERR_ALREADYREGISTERED "462", ":You may not reregister"
#define ERR_PASSWDMISMATCH    "464", ":Password incorrect"
#define ERR_NONICKNAMEGIVEN   "431", ":No nickname given"
#define ERR_ERRONEUSNICKNAME  "432", "%s :Erroneous nickname"
#define ERR_NICKRESERVED      "432", "%s :Nickname is reserved for a service"
#define RPL_TRYAGAIN          "263", "%s :Please wait a while and try again."
#define ERR_NICKNAMEINUSE     "433", "%s :Nickname is already in use"
#define ERR_NICKOWNED         "433", "%s :Nickname is registered to an account; log in to use it"
#define ERR_INVALIDCAPCMD     "410", "%s :Invalid CAP command"
#define ERR_NOORIGIN          "409", ":No origin specified"
#define ERR_INPUTTOOLONG      "417", ":Input line was too long"
#define ERR_UNKNOWNCOMMAND    "421", "%s :Unknown command"

/* LUSERS, MOTD, ADMIN, INFO, VERSION, TIME. */
#define RPL_LUSERCLIENT       "251", ":There are %u users and %u invisible on %u servers"
#define RPL_LUSEROP           "252", "%u :operator(s) online"
#define RPL_LUSERUNKNOWN      "253", "%lu :unknown connection(s)"
#define RPL_LUSERCHANNELS     "254", "%u :channels formed"
#define RPL_LUSERME           "255", ":I have %u clients and %u servers"
#define RPL_LOCALUSERS        "265", "%u %u :Current local users %u, max %u"
#define RPL_GLOBALUSERS       "266", "%u %u :Current global users %u, max %u"
#define RPL_MOTDSTART         "375", ":- %s Message of the day - "
#define RPL_MOTD              "372", ":- %s"
#define RPL_ENDOFMOTD         "376", ":End of /MOTD command."
#define ERR_NOMOTD            "422", ":MOTD File is missing"
#define RPL_ADMINME           "256", "%s :Administrative info"
#define RPL_ADMINLOC1         "257", ":Parley server %s"
#define RPL_ADMINLOC2         "258", ":Run by whoever started parleyd"
#define RPL_ADMINEMAIL        "259", ":root@%s"
#define RPL_INFO              "371", ":%s"
#define RPL_ENDOFINFO         "374", ":End of /INFO list"
#define RPL_VERSION           "351", "parley-%s %s :Parley group chat"
#define RPL_TIME              "391", "%s %lld 0 :%s"

/* Users. */
#define RPL_UMODEIS           "221", "+%s%s%s"
#define RPL_AWAY              "301", "%s :%s"
#define RPL_USERHOST          "302", ":%s"
#define RPL_ISON              "303", ":%s"
#define RPL_UNAWAY            "305", ":You are no longer marked as being away"
#define RPL_NOWAWAY           "306", ":You have been marked as being away"
#define RPL_WHOISUSER         "311", "%s %s %s * :%s"
#define RPL_WHOISSERVER       "312", "%s %s :%s"
#define RPL_WHOISOPERATOR     "313", "%s :is an IRC operator"
#define RPL_WHOWASUSER        "314", "%s %s %s * :%s"
#define RPL_ENDOFWHO          "315", "%s :End of WHO list"
#define RPL_WHOISIDLE         "317", "%s %lld %lld :seconds idle, signon time"
#define RPL_ENDOFWHOIS        "318", "%s :End of /WHOIS list"
#define RPL_WHOISCHANNELS     "319", "%s :%s"
#define RPL_WHOISACCOUNT      "330", "%s %s :is logged in as"
#define RPL_WHOISBOT          "335", "%s :is a bot"
#define RPL_WHOREPLY          "352", "%s %s %s %s %s %s :0 %s"
#define RPL_WHOSPCRPL         "354", "%s"
#define RPL_ENDOFWHOWAS       "369", "%s :End of WHOWAS"
#define RPL_WHOISHOST         "378", "%s :is connecting from *@%s %s"
#define RPL_YOUREOPER         "381", ":You are now an IRC operator"
#define RPL_VISIBLEHOST       "396", "%s :is now your displayed host"
#define RPL_WHOISSECURE       "671", "%s :is using a secure connection"
#define ERR_NOSUCHNICK        "401", "%s :No such nick/channel"
#define ERR_WASNOSUCHNICK     "406", "%s :There was no such nickname"
#define ERR_NOPRIVILEGES      "481", ":Permission Denied- You're not an IRC operator"
#define ERR_UMODEUNKNOWNFLAG  "501", ":Unknown MODE flag"
#define ERR_USERSDONTMATCH    "502", ":Can't change mode for other users"

/* Channels. */
#define RPL_LISTSTART         "321", "Channel :Users  Name"
#define RPL_LIST              "322", "%s %u :[%s] %s"
#define RPL_LISTEND           "323", ":End of /LIST"
#define RPL_CHANNELMODEIS     "324", "%s %s"
#define RPL_CREATIONTIME      "329", "%s %lld"
#define RPL_NOTOPIC           "331", "%s :No topic is set"
#define RPL_TOPIC             "332", "%s :%s"
#define RPL_TOPICWHOTIME      "333", "%s %s %lld"
#define RPL_INVITING          "341", "%s %s"
#define RPL_INVITELIST        "346", "%s %s %s %lld"
#define RPL_ENDOFINVITELIST   "347", "%s :End of channel invite exception list"
#define RPL_EXCEPTLIST        "348", "%s %s %s %lld"
#define RPL_ENDOFEXCEPTLIST   "349", "%s :End of channel exception list"
#define RPL_NAMREPLY          "353", "%c %s :%.*s"
#define RPL_ENDOFNAMES        "366", "%s :End of /NAMES list"
#define RPL_BANLIST           "367", "%s %s %s %lld"
#define RPL_ENDOFBANLIST      "368", "%s :End of channel ban list"
#define ERR_NOSUCHCHANNEL     "403", "%s :No such channel"
#define ERR_CANNOTSENDTOCHAN  "404", "%s :Cannot send to channel"
#define ERR_TOOMANYCHANNELS   "405", "%s :You have joined too many channels"
#define ERR_TOOMANYMADE       "405", "%s :You have created too many channels"
#define ERR_NOMOREROOMS       "405", "%s :Cannot create channel: the server has as many as it holds"
#define ERR_TOOMANYTARGETS    "407", "%s :Too many targets"
#define ERR_NORECIPIENT       "411", ":No recipient given (%s)"
#define ERR_NOTEXTTOSEND      "412", ":No text to send"
#define ERR_USERNOTINCHANNEL  "441", "%s %s :They aren't on that channel"
#define ERR_NOTONCHANNEL      "442", "%s :You're not on that channel"
#define ERR_USERONCHANNEL     "443", "%s %s :is already on channel"
#define ERR_CHANNELISFULL     "471", "%s :Cannot join channel (+l)"
#define ERR_UNKNOWNMODE       "472", "%s :is unknown mode char to me"
#define ERR_INVITEONLYCHAN    "473", "%s :Cannot join channel (+i)"
#define ERR_BANNEDFROMCHAN    "474", "%s :Cannot join channel (+b)"
#define ERR_BADCHANNELKEY     "475", "%s :Cannot join channel (+k)"
#define ERR_BADCHANMASK       "476", "%s :Bad Channel Mask"
#define ERR_BANLISTFULL       "478", "%s %s :Channel list is full"
#define ERR_CHANOPRIVSNEEDED  "482", "%s :You're not channel operator"
#define ERR_INVALIDMODEPARAM  "696", "%s %s * :You must specify a valid parameter for that mode"

/* Accounts and SASL (IRCv3 sasl-3.1, Modern IRC): 900's mask is the
 * client's nick!ident@host. */
#define RPL_LOGGEDIN          "900", "%s %s :You are now logged in as %s"
#define RPL_LOGGEDOUT         "901", "%s :You are now logged out"
#define RPL_SASLSUCCESS       "903", ":SASL authentication successful"
#define ERR_SASLFAIL          "904", ":SASL authentication failed"
#define ERR_SASLTHROTTLED     "904", ":SASL authentication failed: too many attempts, try again later"
#define ERR_SASLUNAVAILABLE   "904", ":SASL authentication failed: the account database cannot be read now, try again later"
#define ERR_SASLTOOLONG       "905", ":SASL message too long"
#define ERR_SASLABORTED       "906", ":SASL authentication aborted"
#define RPL_SASLMECHS         "908", "%s :are available SASL mechanisms"

/* HELP. */
#define RPL_HELPSTART         "704", "%s :%s"
#define RPL_HELPTXT           "705", "%s :%s"
#define RPL_ENDOFHELP         "706", "%s :End of /HELP"
#define ERR_HELPNOTFOUND      "524", "%s :No help available on this topic"

/* MONITOR: the lists carry targets, a comma between two. */
#define RPL_MONONLINE         "730", ":%s"
#define RPL_MONOFFLINE        "731", ":%s"
#define RPL_MONLIST           "732", ":%s"
#define RPL_ENDOFMONLIST      "733", ":End of MONITOR list"
#define ERR_MONLISTFULL       "734", "%d %s :Monitor list is full"

#endif
