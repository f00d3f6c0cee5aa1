/* Reading what a client sends in AUTHENTICATE (IRCv3 sasl-3.1): the
 * payload's 400-byte chunks put together, its base64, and PLAIN's three
 * fields. Pure functions of the client's bytes, with no conn or account
 * behind them, so a fuzzer can drive them (tests/fuzz/fuzz_sasl.c). */
#ifndef PARLEY_IRC_SASL_PARSE_H
#define PARLEY_IRC_SASL_PARSE_H

#include <stddef.h>

/* A chunk of the payload: a longer one is refused (905). */
#define SASL_CHUNK_MAX 400
/* A whole payload, in base64: past it the exchange fails (904). The
 * largest a client sends is PLAIN with a long password; 8 chunks hold a
 * password of over 2,000 bytes. */
#define SASL_PAYLOAD_MAX (8 * SASL_CHUNK_MAX)
/* The fields of PLAIN, and of whatever a mechanism reads: a name and a
 * password, in bytes. */
#define SASL_NAME_MAX 64
#define SASL_PASSWORD_MAX 1024

/* A payload as its chunks come. */
struct sasl_buf {
	char data[SASL_PAYLOAD_MAX + 1];
	size_t len;
};

enum sasl_chunk {
	SASL_CHUNK_MORE,     /* a full chunk: more (or "+") follows */
	SASL_CHUNK_DONE,     /* the payload is complete (maybe empty) */
	SASL_CHUNK_ABORT,    /* "*": the client gives up (906) */
	SASL_CHUNK_TOOLONG,  /* a chunk over SASL_CHUNK_MAX (905) */
	SASL_CHUNK_OVERFLOW, /* the payload passed SASL_PAYLOAD_MAX (904) */
};

/* Adds one AUTHENTICATE parameter to b. After DONE, b holds the base64
 * payload (NUL-terminated); after anything but MORE the caller empties b
 * (b->len = 0) before the next payload. */
enum sasl_chunk sasl_chunk_add(struct sasl_buf *b, const char *param);

/* Strict base64 (RFC 4648, padded; no spaces) of in[0..len) into out (at
 * least len / 4 * 3 + 1 bytes, NUL-terminated for convenience): the
 * number of bytes, or -1 when in is not base64. */
long sasl_base64_decode(const char *in, size_t len, unsigned char *out);
/* in as base64 into out (at least 4 * ((len + 2) / 3) + 1 bytes). */
size_t sasl_base64_encode(const unsigned char *in, size_t len, char *out);

/* PLAIN (RFC 4616): "[authzid] NUL authcid NUL passwd". */
struct sasl_plain {
	char authzid[SASL_NAME_MAX + 1];   /* "" when none */
	char authcid[SASL_NAME_MAX + 1];
	char passwd[SASL_PASSWORD_MAX + 1];
};
/* 0, or -1 when msg is not that: not exactly two NULs, an empty authcid
 * or password, a field too long or not UTF-8. */
int sasl_plain_split(const unsigned char *msg, size_t len, struct sasl_plain *out);

#endif
