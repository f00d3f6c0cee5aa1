/* libFuzzer: what a client sends in AUTHENTICATE, as any client may send
 * it. The input is a series of AUTHENTICATE parameters (one a line): the
 * chunks are put together as the door does, each complete payload is
 * decoded from base64 and read as PLAIN's fields. Nothing reads or writes
 * outside what it was given, and what is accepted keeps the rules the door
 * relies on: a payload within its bound, base64 that encodes back to
 * itself, PLAIN fields that are UTF-8, within their bounds, the name and
 * password not empty. Each payload is also a SCRAM-SHA-256 message, in
 * turn (accounts/scram.c's attribute lists: the client's first, then its
 * final against made-up keys), and the raw input is read as a decoded
 * payload of each kind. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accounts/scram.h"
#include "base/text.h"
#include "doors/irc/irc_sasl_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX (4 * SASL_PAYLOAD_MAX)

static void
check_plain(const unsigned char *msg, size_t len)
{
	struct sasl_plain p;
	if (sasl_plain_split(msg, len, &p) < 0)
		return;
	assert(p.authcid[0] != '\0' && p.passwd[0] != '\0');
	assert(strlen(p.authzid) <= SASL_NAME_MAX && strlen(p.authcid) <= SASL_NAME_MAX);
	assert(strlen(p.passwd) <= SASL_PASSWORD_MAX);
	assert(text_is_clean(p.authcid, strlen(p.authcid)));
	assert(text_is_clean(p.passwd, strlen(p.passwd)));
	/* The three fields and two NULs are the whole message. */
	assert(strlen(p.authzid) + strlen(p.authcid) + strlen(p.passwd) + 2 == len);
}

/* One SCRAM exchange per input, its steps in turn. */
static struct scram x;

static void
check_scram(const unsigned char *msg, size_t len)
{
	static const uint8_t salt[SCRAM_SALT_LEN] = { 1, 2, 3 };
	static const uint8_t stored[SCRAM_KEY_LEN] = { 4 }, server[SCRAM_KEY_LEN] = { 5 };
	char out[SCRAM_SERVER_MSG_MAX + 1];
	if (x.step == 0) {
		if (scram_client_first(&x, (const char *)msg, len) != SCRAM_OK)
			return;
		assert(strlen(x.user) <= SCRAM_USER_MAX && x.user[0] != '\0');
		assert(strlen(x.nonce) <= SCRAM_NONCE_MAX);
		if (scram_server_first(&x, salt, sizeof salt, SCRAM_ITERATIONS, "fuzznonce") ==
		    SCRAM_OK)
			assert(strlen(x.server_first) <= SCRAM_SERVER_MSG_MAX);
		return;
	}
	/* Made-up keys: no proof is right, and none may be taken. */
	assert(scram_client_final(&x, (const char *)msg, len, stored, server, out) != SCRAM_OK);
}

static void
check_payload(const struct sasl_buf *b)
{
	assert(b->len <= SASL_PAYLOAD_MAX && b->data[b->len] == '\0');
	static unsigned char msg[SASL_PAYLOAD_MAX / 4 * 3 + 1];
	long n = sasl_base64_decode(b->data, b->len, msg);
	if (n < 0)
		return;
	assert((size_t)n <= b->len / 4 * 3);
	/* Strict base64: what was taken encodes back to the same text. */
	static char again[SASL_PAYLOAD_MAX + 1];
	size_t m = sasl_base64_encode(msg, (size_t)n, again);
	assert(m == b->len && memcmp(again, b->data, m) == 0);
	check_plain(msg, (size_t)n);
	check_scram(msg, (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX)
		return 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&x, 0, sizeof x);
	check_plain(data, size);
	check_scram(data, size);
	static struct sasl_buf b;
	b.len = 0;
	char *line = s, *next;
	for (; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		enum sasl_chunk r = sasl_chunk_add(&b, line);
		assert(b.len <= SASL_PAYLOAD_MAX);
		if (r == SASL_CHUNK_MORE)
			continue;
		if (r == SASL_CHUNK_DONE)
			check_payload(&b);
		b.len = 0;
	}
	free(s);
	return 0;
}
