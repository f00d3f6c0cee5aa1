/* libFuzzer: the WebSocket decoder takes any bytes a client can send, in
 * any chunks, without reading or writing out of bounds, and what it hands
 * up keeps the rules of RFC 6455: control payloads of at most 125 bytes,
 * message bytes only inside a message and never past max_message, valid
 * UTF-8 in text, a close frame checked, nothing after a close or a
 * failure, and a failure is -1 with one of the close codes it may send.
 *
 * The first input byte picks where the stream is split in two, the second
 * max_message; the rest is the stream. It is decoded three ways (split,
 * byte by byte, all at once) and by a small reference decoder written
 * from the RFC that sees the whole buffer, and all four must agree. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* UTF-8 checked as code points rather than as a byte table: after each
 * byte, whether some valid character could still start with the bytes
 * of the one so far (so it fails at the same byte ws_utf8_step does). */
struct u8 {
	uint32_t cp;     /* the bits so far */
	uint32_t min;    /* the smallest code point this length may encode */
	int need;        /* continuation bytes still to come */
};

static int
u8_step(struct u8 *u, uint8_t b)
{
	if (u->need == 0) {
		if (b < 0x80)
			return 0;
		if ((b & 0xe0) == 0xc0) {
			u->need = 1, u->cp = b & 0x1f, u->min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			u->need = 2, u->cp = b & 0x0f, u->min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			u->need = 3, u->cp = b & 0x07, u->min = 0x10000;
		} else {
			return -1;
		}
	} else {
		if ((b & 0xc0) != 0x80)
			return -1;
		u->cp = u->cp << 6 | (b & 0x3f);
		u->need--;
	}
	/* The code points the sequence can still become. */
	uint32_t shift = 6 * (uint32_t)u->need;
	uint32_t lo = u->cp << shift, hi = lo | ((1u << shift) - 1);
	if (hi < u->min || lo > 0x10ffff || (lo >= 0xd800 && hi <= 0xdfff))
		return -1;
	return 0;
}

static int
close_code_allowed(unsigned c)
{
	/* 7.4.1 and 7.4.2: 1004-1006 and 1015 are never sent; 1012-1014
	 * were registered since; 3000-4999 are for libraries and apps. */
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* Close payload: 0 when valid, else the close code it earns. */
static int
close_payload_error(const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n == 1)
		return WS_CLOSE_PROTOCOL;
	if (!close_code_allowed((unsigned)p[0] << 8 | p[1]))
		return WS_CLOSE_PROTOCOL;
	struct u8 u = { 0, 0, 0 };
	for (size_t i = 2; i < n; i++)
		if (u8_step(&u, p[i]) < 0)
			return WS_CLOSE_BAD_DATA;
	return u.need != 0 ? WS_CLOSE_BAD_DATA : 0;
}

/* What a decoder handed up: records of a type byte, a 4-byte length and
 * the bytes; consecutive data() calls make one 'D' record. */
struct log {
	uint8_t *b;
	size_t n, cap;
	size_t last;     /* where the last record starts */
};

static void
log_put(struct log *l, uint8_t type, const uint8_t *p, size_t n)
{
	if (type == 'D' && l->n > 0 && l->b[l->last] == 'D') {
		uint32_t len;
		memcpy(&len, l->b + l->last + 1, 4);
		assert(l->n + n <= l->cap);
		memcpy(l->b + l->n, p, n);
		l->n += n;
		len += (uint32_t)n;
		memcpy(l->b + l->last + 1, &len, 4);
		return;
	}
	assert(l->n + 5 + n <= l->cap);
	l->last = l->n;
	l->b[l->n] = type;
	uint32_t len = (uint32_t)n;
	memcpy(l->b + l->n + 1, &len, 4);
	if (n > 0)
		memcpy(l->b + l->n + 5, p, n);
	l->n += 5 + n;
}

static int
ends_with_data(const struct log *l)
{
	return l->n > 0 && l->b[l->last] == 'D';
}

/* Two logs of the same input agree. When the message failed UTF-8, the
 * decoders may have handed up different amounts of its last bytes before
 * finding the bad one: the last data run may differ, one a prefix of the
 * other, or be missing from one. */
static void
logs_agree(const struct log *a, const struct log *b, int utf8_failure)
{
	if (!utf8_failure) {
		assert(a->n == b->n);
		assert(memcmp(a->b, b->b, a->n) == 0);
		return;
	}
	size_t an = a->n, bn = b->n;
	if (ends_with_data(a) && ends_with_data(b)) {
		size_t la = a->n - a->last - 5, lb = b->n - b->last - 5;
		size_t k = la < lb ? la : lb;
		assert(memcmp(a->b + a->last + 5, b->b + b->last + 5, k) == 0);
		an = a->last;
		bn = b->last;
	} else if (ends_with_data(a)) {
		an = a->last;
	} else if (ends_with_data(b)) {
		bn = b->last;
	}
	assert(an == bn);
	assert(memcmp(a->b, b->b, an) == 0);
}

/* One run of the streaming decoder, and what its callbacks check. */
struct run {
	struct ws_decoder d;
	struct log log;
	uint64_t max;
	uint64_t msg_bytes;    /* handed up in the message so far */
	int msg_type;          /* WS_TEXT or WS_BINARY once its bytes come */
	struct u8 u;           /* the text so far, checked here again */
	int closed;            /* a close frame was handed up */
	int failed;            /* ws_decode returned -1 */
};

static void
on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct run *r = ctx;
	assert(!r->closed && !r->failed);
	/* Only inside a message: a text or binary frame opened it. */
	assert(r->d.message == WS_TEXT || r->d.message == WS_BINARY);
	assert(r->msg_type == 0 || r->msg_type == r->d.message);
	r->msg_type = r->d.message;
	r->msg_bytes += n;
	assert(r->msg_bytes <= r->max);
	if (r->msg_type == WS_TEXT)
		for (size_t i = 0; i < n; i++)
			assert(u8_step(&r->u, p[i]) == 0);
	log_put(&r->log, 'D', p, n);
}

static void
on_end(void *ctx)
{
	struct run *r = ctx;
	assert(!r->closed && !r->failed);
	assert(r->d.message == 0);
	/* A text message ends on a character boundary. */
	assert(r->msg_type != WS_TEXT || r->u.need == 0);
	assert(r->msg_bytes <= r->max);
	r->msg_bytes = 0;
	r->msg_type = 0;
	memset(&r->u, 0, sizeof r->u);
	log_put(&r->log, 'E', NULL, 0);
}

static void
on_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t n)
{
	struct run *r = ctx;
	assert(!r->closed && !r->failed);
	assert(op == WS_PING || op == WS_PONG || op == WS_CLOSE);
	assert(n <= WS_CONTROL_MAX);
	if (op == WS_CLOSE) {
		assert(close_payload_error(p, n) == 0);
		assert(r->d.closed);
		r->closed = 1;
	}
	log_put(&r->log, op == WS_PING ? 'P' : op == WS_PONG ? 'O' : 'X', p, n);
}

static const struct ws_events events = { on_data, on_end, on_control };

static int
feed(struct run *r, const uint8_t *p, size_t n)
{
	int rc = ws_decode(&r->d, p, n, &events, r);
	assert(rc == 0 || rc == -1);
	assert((rc == -1) == (r->d.error != 0));
	if (rc < 0) {
		assert(r->d.error == WS_CLOSE_PROTOCOL || r->d.error == WS_CLOSE_BAD_DATA ||
		    r->d.error == WS_CLOSE_TOO_BIG);
		assert(r->d.why != NULL && r->d.closed);
		r->failed = 1;
	}
	return rc;
}

static void
run_init(struct run *r, uint64_t max, size_t cap)
{
	memset(r, 0, sizeof *r);
	ws_decoder_init(&r->d, max);
	r->max = max;
	r->log.cap = cap;
	r->log.b = malloc(cap);
	assert(r->log.b != NULL);
}

/* Decodes p in pieces of step bytes (or split in two at split, when
 * step is 0), then once more with a byte, which must change nothing. */
static void
run_decode(struct run *r, const uint8_t *p, size_t n, size_t split, size_t step)
{
	if (step == 0) {
		if (feed(r, p, split) == 0)
			feed(r, p + split, n - split);
	} else {
		for (size_t at = 0; at < n; at += step) {
			size_t k = n - at < step ? n - at : step;
			if (feed(r, p + at, k) < 0)
				break;
		}
	}
	if (r->closed || r->failed) {
		size_t before = r->log.n;
		uint16_t error = r->d.error;
		const uint8_t more[2] = { 0x89, 0x80 };
		feed(r, more, sizeof more);
		assert(r->log.n == before && r->d.error == error);
	}
}

/* The reference: the whole buffer, frame by frame, as RFC 6455 5.2-5.6,
 * 5.5.1 and 8.1 say. Returns the close code of the failure, 0 if none. */
static int
reference(const uint8_t *p, size_t size, uint64_t max, struct log *log)
{
	int msg = 0;
	uint64_t msg_len = 0;
	struct u8 u = { 0, 0, 0 };
	size_t pos = 0;
	uint8_t *buf = malloc(size + 1);
	assert(buf != NULL);
	int ret = 0;
	for (;;) {
		if (size - pos < 2)
			break;
		int fin = p[pos] >> 7, rsv = (p[pos] >> 4) & 7, op = p[pos] & 0xf;
		int masked = p[pos + 1] >> 7;
		unsigned len7 = p[pos + 1] & 0x7f;
		size_t hlen = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
		if (size - pos < hlen)
			break;
		const uint8_t *h = p + pos;
		uint64_t len = len7;
		if (len7 == 126)
			len = (uint64_t)h[2] << 8 | h[3];
		if (len7 == 127) {
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | h[2 + i];
		}
		int control = op >= 8;
		if (rsv != 0 || !masked || (len >> 63) != 0) {
			ret = WS_CLOSE_PROTOCOL;
			break;
		}
		if (op == WS_PING || op == WS_PONG || op == WS_CLOSE) {
			if (!fin || len > WS_CONTROL_MAX) {
				ret = WS_CLOSE_PROTOCOL;
				break;
			}
		} else if (op == WS_TEXT || op == WS_BINARY) {
			if (msg) {
				ret = WS_CLOSE_PROTOCOL;
				break;
			}
			msg = op;
			msg_len = 0;
			memset(&u, 0, sizeof u);
		} else if (op == WS_CONTINUATION) {
			if (!msg) {
				ret = WS_CLOSE_PROTOCOL;
				break;
			}
		} else {
			ret = WS_CLOSE_PROTOCOL;
			break;
		}
		if (!control) {
			if (msg_len + len > max || msg_len + len < msg_len) {
				ret = WS_CLOSE_TOO_BIG;
				break;
			}
			msg_len += len;
		}
		const uint8_t *key = h + hlen - 4;
		size_t have = size - pos - hlen;
		size_t n = len < have ? (size_t)len : have;
		for (size_t i = 0; i < n; i++)
			buf[i] = h[hlen + i] ^ key[i % 4];
		pos += hlen + n;
		if (control) {
			if (n < len)
				break;
			if (op == WS_CLOSE) {
				ret = close_payload_error(buf, n);
				if (ret == 0)
					log_put(log, 'X', buf, n);
				break;
			}
			log_put(log, op == WS_PING ? 'P' : 'O', buf, n);
			continue;
		}
		size_t good = n;
		if (msg == WS_TEXT)
			for (size_t i = 0; i < n; i++)
				if (u8_step(&u, buf[i]) < 0) {
					good = i;
					ret = WS_CLOSE_BAD_DATA;
					break;
				}
		if (good > 0)
			log_put(log, 'D', buf, good);
		if (ret != 0 || n < len)
			break;
		if (fin) {
			if (msg == WS_TEXT && u.need != 0) {
				ret = WS_CLOSE_BAD_DATA;
				break;
			}
			msg = 0;
			log_put(log, 'E', NULL, 0);
		}
	}
	free(buf);
	return ret;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t n = size - 2;
	size_t split = n * data[0] / 255;
	uint64_t max = data[1];
	/* A copy of exactly n bytes, so ASan sees any read past the end. */
	uint8_t *in = malloc(n ? n : 1);
	assert(in != NULL);
	memcpy(in, data + 2, n);
	size_t cap = 2 * n + 64;

	static struct run split_run, byte_run, whole_run;
	run_init(&split_run, max, cap);
	run_init(&byte_run, max, cap);
	run_init(&whole_run, max, cap);
	run_decode(&split_run, in, n, split, 0);
	run_decode(&byte_run, in, n, 0, 1);
	run_decode(&whole_run, in, n, 0, n ? n : 1);

	struct log ref = { malloc(cap), 0, cap, 0 };
	assert(ref.b != NULL);
	int ref_error = reference(in, n, max, &ref);

	const struct run *runs[] = { &split_run, &byte_run, &whole_run };
	for (int i = 0; i < 3; i++) {
		const struct run *r = runs[i];
		assert(r->d.error == ref_error);
		if (ref_error != 0)
			assert(strcmp(r->d.why, byte_run.d.why) == 0);
		logs_agree(&r->log, &ref, ref_error == WS_CLOSE_BAD_DATA);
		/* However the bytes came, the decoder ends in the same state. */
		if (ref_error == 0) {
			assert(r->d.closed == byte_run.d.closed);
			assert(r->d.message == byte_run.d.message);
			assert(r->d.head_len == byte_run.d.head_len);
			assert(r->d.left == byte_run.d.left);
			assert(r->d.message_len == byte_run.d.message_len);
		}
	}
	/* Byte by byte hands up every valid byte before a bad one, as the
	 * reference does. */
	if (ref_error == WS_CLOSE_BAD_DATA) {
		assert(byte_run.log.n == ref.n);
		assert(memcmp(byte_run.log.b, ref.b, ref.n) == 0);
	}

	/* ws_header agrees with the lengths it is given. */
	uint8_t h[WS_HEADER_MAX];
	uint64_t len = 0;
	for (size_t i = 0; i < 8 && i < n; i++)
		len = len << 8 | in[i];
	len >>= data[0] % 64;
	size_t hn = ws_header(h, WS_BINARY, len);
	assert(h[0] == 0x82);
	if (len < 126) {
		assert(hn == 2 && h[1] == len);
	} else if (len <= 0xffff) {
		assert(hn == 4 && h[1] == 126 && ((uint64_t)h[2] << 8 | h[3]) == len);
	} else {
		uint64_t back = 0;
		for (int i = 0; i < 8; i++)
			back = back << 8 | h[2 + i];
		assert(hn == 10 && h[1] == 127 && back == len);
	}

	free(ref.b);
	free(split_run.log.b);
	free(byte_run.log.b);
	free(whole_run.log.b);
	free(in);
	return 0;
}
