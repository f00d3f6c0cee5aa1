/* Peer addresses: how they are written in logs and to IRC users, and which
 * ones count as one for the per-address limit. */
#ifndef PARLEY_ADDR_H
#define PARLEY_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv6 address counts by its /64 for max-per-ip: that is one
 * subscriber's network (RFC 6177), and anyone who has one has 2^64
 * addresses to pick from. */
#define ADDR_V6_PREFIX 64
/* The longest key addr_key makes: an IPv6 /64, "/64" included. */
#define ADDR_KEY_MAX (INET6_ADDRSTRLEN + 4)

/* "host:port", or "[host]:port" for IPv6, as logs write an address: the
 * longest, its NUL included. */
#define ADDR_HOSTPORT_MAX (INET6_ADDRSTRLEN + 8)
void addr_hostport(char *buf, size_t cap, const char *host, uint16_t port);
/* host (for IRC: "::1" is written "0::1", since a parameter may not start
 * with ':'), "host:port" or "[v6]:port" for logs, and the port. */
void addr_format(const struct sockaddr_storage *ss, char *host, size_t hostlen,
    char *full, size_t fulllen, uint16_t *port);
/* The per-address key of host (as addr_format writes it): the address
 * itself for IPv4, its /64 for IPv6 (an IPv4-mapped one is its IPv4). */
void addr_key(const char *host, char key[ADDR_KEY_MAX]);

/* A port in decimal digits, 0 to 65535 (at most 5 digits, no sign, no
 * space): 0, or -1. */
int addr_port_parse(const char *s, uint16_t *port);

/* An address or a network: "192.0.2.1", "10.0.0.0/8", "2001:db8::/32". */
struct addr_net {
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
	unsigned prefix;             /* leading bits that must match */
};

/* -1 when text is neither an address nor address/prefix. */
int addr_net_parse(const char *text, struct addr_net *net);
/* Whether the peer address ss is in net (an IPv4-mapped IPv6 address
 * counts as IPv4). */
int addr_net_match(const struct addr_net *net, const struct sockaddr_storage *ss);
/* Text (as in X-Forwarded-For: "192.0.2.1", "2001:db8::1", "[2001:db8::1]",
 * with a ":port" after an IPv4 or bracketed address) into ss, port 0
 * unless given. -1 when it is no address. */
int addr_from_text(const char *text, struct sockaddr_storage *ss);

#endif
