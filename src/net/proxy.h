/* The PROXY protocol (HAProxy's, versions 1 and 2): the header a reverse
 * proxy sends before a connection's own bytes, naming the client it
 * carries. Read only from the addresses proxy-from names. No sockets
 * here: the caller hands over the bytes it has and reads exactly as many
 * as the header is long. */
#ifndef PARLEY_PROXY_H
#define PARLEY_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Version 1 is a line of at most 107 bytes with its CR LF; version 2 is
 * 16 bytes and its addresses and TLVs, at most this many here (HAProxy
 * sends a few hundred at most). */
#define PROXY_V1_MAX 107
#define PROXY_HEADER_MAX 1024
/* Bytes that tell a version 2 header from anything else. */
#define PROXY_V2_SIG_LEN 12

enum proxy_status {
	PROXY_MORE,       /* a header so far (every byte of it): more are needed */
	PROXY_DONE,       /* a whole header of *len bytes */
	PROXY_NONE,       /* these bytes start no PROXY header */
	PROXY_BAD,        /* a header, but a malformed or unsupported one */
};

struct proxy_header {
	/* 0: the proxy speaks for itself (v1 UNKNOWN, v2 LOCAL, or an
	 * address family other than TCP over IPv4 or IPv6); 1: for src. */
	int proxied;
	struct sockaddr_storage src;
};

/* Looks at the first n bytes of a connection (n may run past the header).
 * On PROXY_DONE, *len is the header's length and *out what it says. */
enum proxy_status proxy_parse(const uint8_t *p, size_t n, size_t *len,
    struct proxy_header *out);

#endif
