#include "chat/names.h"

#include <string.h>
#include <strings.h>

static int
nick_first_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("_[]{}\\|^`", c) != NULL);
}

static int
nick_char(unsigned char c)
{
	return nick_first_char(c) || (c >= '0' && c <= '9') || c == '-';
}

int
name_nick_valid(const char *nick, size_t max)
{
	size_t n = strlen(nick);
	if (n == 0 || n > max || n > NICK_LEN_MAX)
		return 0;
	if (!nick_first_char((unsigned char)nick[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!nick_char((unsigned char)nick[i]))
			return 0;
	return 1;
}

int
name_nick_reserved(const char *nick)
{
	/* Atheme's and Anope's services, and the ones IRC clients and
	 * scripts know by name. */
	static const char *const services[] = {
		"NickServ", "ChanServ", "MemoServ", "OperServ", "HostServ", "BotServ",
		"HelpServ", "InfoServ", "GroupServ", "StatServ", "SaslServ", "Global",
		"Alis",
	};
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		if (strcasecmp(nick, services[i]) == 0)
			return 1;
	return 0;
}

int
name_room_valid(const char *room, size_t max)
{
	size_t n = strlen(room);
	if (n < 2 || n > max || n > ROOM_LEN_MAX || room[0] != '#')
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)room[i];
		if (c <= ' ' || c == ',' || c == 0x7F)
			return 0;
		/* C1 controls (U+0080-U+009F), which some terminals obey too. */
		if (c == 0xC2 && (unsigned char)room[i + 1] >= 0x80 &&
		    (unsigned char)room[i + 1] <= 0x9F)
			return 0;
	}
	return 1;
}

int
name_host_valid(const char *host, size_t max)
{
	size_t n = strlen(host);
	if (n == 0 || n > max || host[0] == ':' || host[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-:/_", c) != NULL))
			return 0;
	}
	return 1;
}

int
name_room_from_input(char *dst, const char *typed, size_t max)
{
	size_t n = strlen(typed);
	size_t prefix = typed[0] == '#' ? 0 : 1;
	if (n + prefix > ROOM_LEN_MAX)
		return -1;
	dst[0] = '#';
	memcpy(dst + prefix, typed, n + 1);
	return name_room_valid(dst, max) ? 0 : -1;
}

void
name_fold(char *dst, const char *src)
{
	for (; *src != '\0'; src++, dst++)
		*dst = name_fold_char(*src);
	*dst = '\0';
}
