#include "net/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/addr.h"

/* Version 1: "PROXY", the protocol, two addresses, two ports; a seventh
 * word is one too many. */
#define PROXY_V1_WORDS 6
/* Version 2: the signature, version and command, family and protocol, and
 * a 16-bit length (of what follows), then the addresses: two IPv4
 * addresses and two ports, or two IPv6 addresses and two ports. */
#define PROXY_V2_FIXED (PROXY_V2_SIG_LEN + 4)
#define PROXY_V2_VER_CMD PROXY_V2_SIG_LEN
#define PROXY_V2_FAMILY (PROXY_V2_SIG_LEN + 1)
#define PROXY_V2_LENGTH (PROXY_V2_SIG_LEN + 2)
#define PROXY_V2_IPV4_LEN 12
#define PROXY_V2_IPV6_LEN 36

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
	char *words[PROXY_V1_WORDS + 1], *save = NULL;
	int nw = 0;
	for (char *w = strtok_r(line, " ", &save); w != NULL && nw < PROXY_V1_WORDS + 1;
	    w = strtok_r(NULL, " ", &save))
		words[nw++] = w;
	*len = total;
	memset(out, 0, sizeof *out);
	if (nw >= 2 && strcmp(words[1], "UNKNOWN") == 0)
		return PROXY_DONE; /* whatever follows is to be ignored */
	if (nw != PROXY_V1_WORDS)
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

/* The fixed part, then the addresses (and TLVs, skipped). */
static enum proxy_status
parse_v2(const uint8_t *p, size_t n, size_t *len, struct proxy_header *out)
{
	if (n < PROXY_V2_FIXED)
		return PROXY_MORE;
	size_t total = PROXY_V2_FIXED +
	    ((size_t)p[PROXY_V2_LENGTH] << 8 | p[PROXY_V2_LENGTH + 1]);
	if ((p[PROXY_V2_VER_CMD] & 0xF0) != 0x20 || total > PROXY_HEADER_MAX)
		return PROXY_BAD;
	if (n < total)
		return PROXY_MORE;
	*len = total;
	memset(out, 0, sizeof *out);
	unsigned cmd = p[PROXY_V2_VER_CMD] & 0x0F, fam = p[PROXY_V2_FAMILY];
	if (cmd == 0x0)
		return PROXY_DONE; /* LOCAL: the proxy's own connection */
	if (cmd != 0x1)
		return PROXY_BAD;
	const uint8_t *a = p + PROXY_V2_FIXED;
	if (fam == 0x11) { /* TCP over IPv4 */
		if (total < PROXY_V2_FIXED + PROXY_V2_IPV4_LEN)
			return PROXY_BAD;
		struct sockaddr_in *in = (struct sockaddr_in *)&out->src;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		memcpy(&in->sin_port, a + 8, 2);
		out->proxied = 1;
	} else if (fam == 0x21) { /* TCP over IPv6 */
		if (total < PROXY_V2_FIXED + PROXY_V2_IPV6_LEN)
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
