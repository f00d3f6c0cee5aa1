/* libFuzzer: the PROXY protocol header parser (and the address helpers a
 * proxy's words go through) take any bytes a trusted proxy, or whatever
 * sits at its address, can send. The parser never reads past n; a header
 * it finds whole is at most PROXY_HEADER_MAX bytes and within the input;
 * what it says of every prefix agrees with what it says of the whole
 * (a byte-at-a-time reader sees the same header); an address it names is
 * IPv4 or IPv6 and formats back to text that parses again. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "net/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past it. */
	uint8_t *p = malloc(size ? size : 1);
	memcpy(p, data, size);
	size_t len;
	struct proxy_header h;
	enum proxy_status st = proxy_parse(p, size, &len, &h);
	if (st == PROXY_DONE) {
		assert(len > 0 && len <= size && len <= PROXY_HEADER_MAX);
		if (h.proxied) {
			assert(h.src.ss_family == AF_INET || h.src.ss_family == AF_INET6);
			char host[INET6_ADDRSTRLEN], full[INET6_ADDRSTRLEN + 8], key[ADDR_KEY_MAX];
			uint16_t port;
			addr_format(&h.src, host, sizeof host, full, sizeof full, &port);
			addr_key(host, key);
			struct sockaddr_storage again;
			assert(addr_from_text(full, &again) == 0);
			assert(again.ss_family == h.src.ss_family);
		}
		/* Every shorter prefix is a header in the making, never another
		 * answer: a reader taking bytes as they come agrees. */
		for (size_t n = 0; n < len; n++) {
			size_t l2;
			struct proxy_header h2;
			enum proxy_status s2 = proxy_parse(p, n, &l2, &h2);
			assert(s2 == PROXY_MORE || s2 == PROXY_BAD);
		}
		/* And bytes after it change nothing. */
		size_t l3;
		struct proxy_header h3;
		assert(proxy_parse(p, len, &l3, &h3) == PROXY_DONE && l3 == len);
	}
	if (st == PROXY_MORE)
		assert(size < PROXY_HEADER_MAX);
	/* The text helpers take any string. */
	char text[128];
	size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	struct sockaddr_storage ss;
	struct addr_net net;
	if (addr_from_text(text, &ss) == 0 && addr_net_parse("::/0", &net) == 0)
		(void)addr_net_match(&net, &ss);
	if (addr_net_parse(text, &net) == 0) {
		assert(net.family == AF_INET || net.family == AF_INET6);
		assert(net.prefix <= (net.family == AF_INET ? 32u : 128u));
	}
	free(p);
	return 0;
}
