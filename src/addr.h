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

/* host (for IRC: "::1" is written "0::1", since a parameter may not start
 * with ':'), "host:port" or "[v6]:port" for logs, and the port. */
void addr_format(const struct sockaddr_storage *ss, char *host, size_t hostlen,
    char *full, size_t fulllen, uint16_t *port);
/* The per-address key of host (as addr_format writes it): the address
 * itself for IPv4, its /64 for IPv6 (an IPv4-mapped one is its IPv4). */
void addr_key(const char *host, char key[ADDR_KEY_MAX]);

#endif
