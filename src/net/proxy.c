#include "net/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/addr.h"

static const uint8_t v2_sig[PROXY_V2_SIG_LEN] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

/* Whether the n bytes at p may still begin prefix (or begin with it). */
static int
starts(const uint8_t *p, size_t n, const void *prefix, size_t plen)
{
	return memcmp(p, prefix, n < plen ? n : plen) == 0;
}

/* "PROXY TCP4 src dst sport dport\r\n", "PROXY TCP6 ...", "PROXY UNKNOWN ...". */
static enum proxy_status
parse_v1(const uint8_t *p, size_t n, size_t *len, struct proxy_header *out)
{
	const uint8_t *lf = memchr(p, '\n', n < PROXY_V1_MAX ? n : PROXY_V1_MAX);
	if (lf == NULL)
		return n >= PROXY_V1_MAX ? PROXY_BAD : PROXY_MORE;
	size_t total = (size_t)(lf - p) + 1;
	if (total < 2 || lf[-1] != '\r')
		return PROXY_BAD;
	char line[PROXY_V1_MAX + 1];
	memcpy(line, p, total - 2);
	line[total - 2] = '\0';
	char *words[7], *save = NULL;
	int nw = 0;
	for (char *w = strtok_r(line, " ", &save); w != NULL && nw < 7;
	    w = strtok_r(NULL, " ", &save))
		words[nw++] = w;
	*len = total;
	memset(out, 0, sizeof *out);
	if (nw >= 2 && strcmp(words[1], "UNKNOWN") == 0)
		return PROXY_DONE; /* whatever follows is to be ignored */
	if (nw != 6)
		return PROXY_BAD;
	int v6 = strcmp(words[1], "TCP6") == 0;
	if (!v6 && strcmp(words[1], "TCP4") != 0)
		return PROXY_BAD;
	uint16_t sport, dport;
	uint8_t dst[16];
	if (addr_port_parse(words[4], &sport) < 0 || addr_port_parse(words[5], &dport) < 0)
		return PROXY_BAD;
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->src;
		if (inet_pton(AF_INET6, words[2], &in6->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, words[3], dst) != 1)
			return PROXY_BAD;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(sport);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&out->src;
		if (inet_pton(AF_INET, words[2], &in->sin_addr) != 1 ||
		    inet_pton(AF_INET, words[3], dst) != 1)
			return PROXY_BAD;
		in->sin_family = AF_INET;
		in->sin_port = htons(sport);
	}
	out->proxied = 1;
	return PROXY_DONE;
}

/* 12 bytes of signature, version and command, family and protocol, a
 * 16-bit length, then the addresses (and TLVs, skipped). */
static enum proxy_status
parse_v2(const uint8_t *p, size_t n, size_t *len, struct proxy_header *out)
{
	if (n < 16)
		return PROXY_MORE;
	size_t total = 16 + ((size_t)p[14] << 8 | p[15]);
	if ((p[12] & 0xF0) != 0x20 || total > PROXY_HEADER_MAX)
		return PROXY_BAD;
	if (n < total)
		return PROXY_MORE;
	*len = total;
	memset(out, 0, sizeof *out);
	unsigned cmd = p[12] & 0x0F, fam = p[13];
	if (cmd == 0x0)
		return PROXY_DONE; /* LOCAL: the proxy's own connection */
	if (cmd != 0x1)
		return PROXY_BAD;
	const uint8_t *a = p + 16;
	if (fam == 0x11) { /* TCP over IPv4 */
		if (total < 16 + 12)
			return PROXY_BAD;
		struct sockaddr_in *in = (struct sockaddr_in *)&out->src;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		memcpy(&in->sin_port, a + 8, 2);
		out->proxied = 1;
	} else if (fam == 0x21) { /* TCP over IPv6 */
		if (total < 16 + 36)
			return PROXY_BAD;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->src;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		memcpy(&in6->sin6_port, a + 32, 2);
		out->proxied = 1;
	}
	/* Other families (UNSPEC, UDP, UNIX): the receiver uses the real
	 * connection's address, as the specification says. */
	return PROXY_DONE;
}

enum proxy_status
proxy_parse(const uint8_t *p, size_t n, size_t *len, struct proxy_header *out)
{
	*len = 0;
	if (n == 0)
		return PROXY_MORE;
	if (starts(p, n, v2_sig, sizeof v2_sig))
		return n < sizeof v2_sig ? PROXY_MORE : parse_v2(p, n, len, out);
	if (starts(p, n, "PROXY ", 6))
		return n < 6 ? PROXY_MORE : parse_v1(p, n, len, out);
	return PROXY_NONE;
}
