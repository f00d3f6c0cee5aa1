#include "base/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
addr_hostport(char *buf, size_t cap, const char *host, uint16_t port)
{
	int v6 = strchr(host, ':') != NULL;
	snprintf(buf, cap, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port);
}

void
addr_format(const struct sockaddr_storage *ss, char *host, size_t hostlen,
    char *full, size_t fulllen, uint16_t *portp)
{
	char h[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
		port = ntohs(in->sin_port);
		addr_hostport(full, fulllen, h, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
		port = ntohs(in6->sin6_port);
		addr_hostport(full, fulllen, h, port);
	} else
		snprintf(full, fulllen, "?");
	/* "::1" as an IRC parameter would start with ':' and swallow the
	 * rest of the line; ircds write "0::1". */
	snprintf(host, hostlen, "%s%s", h[0] == ':' ? "0" : "", h);
	*portp = port;
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

int
addr_port_parse(const char *s, uint16_t *port)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return -1;
	unsigned long v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
addr_net_parse(const char *text, struct addr_net *net)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(net, 0, sizeof *net);
	if (inet_pton(AF_INET, addr, net->bytes) == 1) {
		net->family = AF_INET;
		net->prefix = 32;
	} else if (inet_pton(AF_INET6, addr, net->bytes) == 1) {
		net->family = AF_INET6;
		net->prefix = 128;
	} else
		return -1;
	if (slash != NULL) {
		char *end;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > net->prefix)
			return -1;
		net->prefix = (unsigned)bits;
	}
	return 0;
}

int
addr_net_match(const struct addr_net *net, const struct sockaddr_storage *ss)
{
	const uint8_t *a;
	if (ss->ss_family == AF_INET && net->family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6) && net->family == AF_INET)
			a = in6->s6_addr + 12;
		else if (net->family == AF_INET6)
			a = in6->s6_addr;
		else
			return 0;
	} else
		return 0;
	unsigned whole = net->prefix / 8, rest = net->prefix % 8;
	if (memcmp(a, net->bytes, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[whole] & mask) == (net->bytes[whole] & mask);
}

int
addr_from_text(const char *text, struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN];
	const char *start = text, *end;
	const char *port = NULL;
	if (*text == '[') {
		start = text + 1;
		end = strchr(start, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		if (end[1] == ':')
			port = end + 2;
	} else {
		const char *colon = strchr(text, ':');
		/* One colon: IPv4 and a port; more: a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			end = colon;
			port = colon + 1;
		} else
			end = text + strlen(text);
	}
	size_t n = (size_t)(end - start);
	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, start, n);
	addr[n] = '\0';
	uint16_t portnum = 0;
	if (port != NULL && addr_port_parse(port, &portnum) < 0)
		return -1;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(portnum);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(portnum);
	} else
		return -1;
	return 0;
}
