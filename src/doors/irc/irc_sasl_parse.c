/* AUTHENTICATE's payload: chunks, base64, PLAIN's fields (see the header).
 * Base64 is OpenSSL's (EVP_DecodeBlock), kept strict here: it would take
 * spaces around the text and pads in the middle, which no client sends. */
#include "doors/irc/irc_sasl_parse.h"

#include <openssl/evp.h>
#include <string.h>

#include "base/text.h"

enum sasl_chunk
sasl_chunk_add(struct sasl_buf *b, const char *param)
{
	size_t n = strlen(param);
	if (strcmp(param, "*") == 0)
		return SASL_CHUNK_ABORT;
	/* "+" is an empty chunk: the end of a payload whose last chunk was
	 * full, or an empty payload. */
	if (strcmp(param, "+") == 0)
		n = 0;
	if (n > SASL_CHUNK_MAX)
		return SASL_CHUNK_TOOLONG;
	if (b->len + n > SASL_PAYLOAD_MAX)
		return SASL_CHUNK_OVERFLOW;
	memcpy(b->data + b->len, param, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n == SASL_CHUNK_MAX ? SASL_CHUNK_MORE : SASL_CHUNK_DONE;
}

/* The value of a base64 digit, or -1. */
static int
b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

long
sasl_base64_decode(const char *in, size_t len, unsigned char *out)
{
	if (len % 4 != 0)
		return -1;
	size_t pads = 0;
	if (len > 0 && in[len - 1] == '=')
		pads = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pads; i++)
		if (b64_value(in[i]) < 0)
			return -1;
	/* The bits a pad leaves unused are 0: one text for each payload. */
	if (pads > 0 && (b64_value(in[len - pads - 1]) & (pads == 2 ? 0x0f : 0x03)) != 0)
		return -1;
	if (len == 0) {
		out[0] = '\0';
		return 0;
	}
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pads)
		return -1;
	n -= (int)pads;
	out[n] = '\0';
	return n;
}

size_t
sasl_base64_encode(const unsigned char *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* One field of PLAIN into dst (cap bytes with its NUL): -1 when too long
 * or not UTF-8. */
static int
field(char *dst, size_t cap, const unsigned char *src, size_t n)
{
	if (n >= cap || (n > 0 && !text_is_clean((const char *)src, n)))
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int
sasl_plain_split(const unsigned char *msg, size_t len, struct sasl_plain *out)
{
	const unsigned char *nul1 = memchr(msg, '\0', len);
	if (nul1 == NULL)
		return -1;
	size_t rest = len - (size_t)(nul1 + 1 - msg);
	const unsigned char *nul2 = memchr(nul1 + 1, '\0', rest);
	if (nul2 == NULL)
		return -1;
	const unsigned char *pw = nul2 + 1;
	size_t pwlen = len - (size_t)(pw - msg);
	size_t cidlen = (size_t)(nul2 - nul1 - 1);
	if (cidlen == 0 || pwlen == 0 || memchr(pw, '\0', pwlen) != NULL)
		return -1;
	if (field(out->authzid, sizeof out->authzid, msg, (size_t)(nul1 - msg)) < 0 ||
	    field(out->authcid, sizeof out->authcid, nul1 + 1, cidlen) < 0 ||
	    field(out->passwd, sizeof out->passwd, pw, pwlen) < 0)
		return -1;
	return 0;
}
