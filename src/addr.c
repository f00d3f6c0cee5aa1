#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void
addr_format(const struct sockaddr_storage *ss, char *host, size_t hostlen,
    char *full, size_t fulllen, uint16_t *portp)
{
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
		port = ntohs(in->sin_port);
		snprintf(full, fulllen, "%s:%d", h, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
		port = ntohs(in6->sin6_port);
		snprintf(full, fulllen, "[%s]:%d", h, port);
	} else
		snprintf(full, fulllen, "?");
	/* "::1" as an IRC parameter would start with ':' and swallow the
	 * rest of the line; ircds write "0::1". */
	snprintf(host, hostlen, "%s%s", h[0] == ':' ? "0" : "", h);
	*portp = (uint16_t)port;
}

void
addr_key(const char *host, char key[ADDR_KEY_MAX])
{
	struct in6_addr a;
	if (inet_pton(AF_INET6, host, &a) != 1) {
		snprintf(key, ADDR_KEY_MAX, "%s", host);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		inet_ntop(AF_INET, &a.s6_addr[12], key, ADDR_KEY_MAX);
		return;
	}
	memset(a.s6_addr + ADDR_V6_PREFIX / 8, 0, 16 - ADDR_V6_PREFIX / 8);
	char net[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &a, net, sizeof net);
	snprintf(key, ADDR_KEY_MAX, "%s/%d", net, ADDR_V6_PREFIX);
}
