/* Unit tests for the WebSocket decoder (RFC 6455, the server's side): how
 * masked client frames become message bytes, message ends and control
 * frames however the bytes are split, and which close code each breach of
 * the protocol gets; and the header the server writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/ws.h"

#define MAX_MESSAGE 100000
#define BIG 70000

/* What the decoder handed up. The log has one letter per event: 'd' for a
 * run of data() calls, 'e' for end(), and 'p', 'o', 'x' for a ping, a
 * pong or a close. */
struct rec {
	char log[256];
	size_t nlog;
	uint8_t cur[MAX_MESSAGE];      /* the message being received */
	size_t ncur;
	uint8_t last[MAX_MESSAGE];     /* the last complete message */
	size_t nlast;
	int ends;
	int ndata;                     /* data() calls */
	enum ws_opcode ctl_op;         /* the last control frame */
	uint8_t ctl[WS_CONTROL_MAX];
	size_t nctl;
	int nctls;
};

static struct rec rec;

static void
log_event(char c)
{
	if (c == 'd' && rec.nlog > 0 && rec.log[rec.nlog - 1] == 'd')
		return;
	if (rec.nlog + 1 < sizeof rec.log)
		rec.log[rec.nlog++] = c;
	rec.log[rec.nlog] = '\0';
}

static void
on_data(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	assert_true(rec.ncur + n <= sizeof rec.cur);
	memcpy(rec.cur + rec.ncur, p, n);
	rec.ncur += n;
	rec.ndata++;
	log_event('d');
}

static void
on_end(void *ctx)
{
	(void)ctx;
	memcpy(rec.last, rec.cur, rec.ncur);
	rec.nlast = rec.ncur;
	rec.ncur = 0;
	rec.ends++;
	log_event('e');
}

static void
on_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t n)
{
	(void)ctx;
	assert_true(n <= WS_CONTROL_MAX);
	rec.ctl_op = op;
	memcpy(rec.ctl, p, n);
	rec.nctl = n;
	rec.nctls++;
	log_event(op == WS_PING ? 'p' : op == WS_PONG ? 'o' : op == WS_CLOSE ? 'x' : '?');
}

static const struct ws_events events = { on_data, on_end, on_control };

static void
rec_reset(void)
{
	memset(&rec, 0, sizeof rec);
}

/* A frame as a client sends it: FIN, RSV bits (rsv << 4), opcode, mask bit
 * and the shortest length encoding; the payload masked with a key that
 * changes from frame to frame. Returns the bytes written. */
static size_t
frame_ex(uint8_t *out, int fin, int rsv, int op, const void *payload, size_t n, int masked)
{
	static uint8_t seed = 0x11;
	const uint8_t *pl = payload;
	size_t at = 0;
	out[at++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
	uint8_t m = masked ? 0x80 : 0;
	if (n < 126) {
		out[at++] = (uint8_t)(m | n);
	} else if (n <= 0xffff) {
		out[at++] = m | 126;
		out[at++] = (uint8_t)(n >> 8);
		out[at++] = (uint8_t)n;
	} else {
		out[at++] = m | 127;
		for (int i = 0; i < 8; i++)
			out[at++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	}
	uint8_t key[4] = { seed, (uint8_t)(seed * 3 + 1), (uint8_t)(seed ^ 0xa5), (uint8_t)(seed + 0x3c) };
	seed = (uint8_t)(seed * 7 + 13);
	if (masked) {
		memcpy(out + at, key, 4);
		at += 4;
	}
	for (size_t i = 0; i < n; i++)
		out[at + i] = masked ? pl[i] ^ key[i & 3] : pl[i];
	return at + n;
}

static size_t
frame(uint8_t *out, int fin, int op, const void *payload, size_t n)
{
	return frame_ex(out, fin, 0, op, payload, n, 1);
}

static size_t
frame_str(uint8_t *out, int fin, int op, const char *s)
{
	return frame(out, fin, op, s, strlen(s));
}

/* A close frame with code and reason (code < 0: no payload at all). */
static size_t
close_frame(uint8_t *out, int code, const char *reason, size_t rlen)
{
	uint8_t pl[WS_CONTROL_MAX + 8] = { 0 };
	size_t n = 0;
	if (code >= 0) {
		pl[n++] = (uint8_t)(code >> 8);
		pl[n++] = (uint8_t)code;
		memcpy(pl + n, reason, rlen);
		n += rlen;
	}
	return frame(out, 1, WS_CLOSE, pl, n);
}

static int
decode(struct ws_decoder *d, const uint8_t *p, size_t n)
{
	return ws_decode(d, p, n, &events, NULL);
}

/* Feeds buf in chunks of step bytes; the first -1 ends it. */
static int
decode_chunks(struct ws_decoder *d, const uint8_t *p, size_t n, size_t step)
{
	for (size_t at = 0; at < n; at += step) {
		size_t k = n - at < step ? n - at : step;
		if (decode(d, p + at, k) < 0)
			return -1;
	}
	return d->error ? -1 : 0;
}

/* Decodes buf from a fresh decoder, all at once, and checks the error. */
static void
expect_error(const uint8_t *buf, size_t n, uint64_t max, uint16_t code)
{
	struct ws_decoder d;
	ws_decoder_init(&d, max);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), -1);
	assert_int_equal(d.error, code);
	assert_non_null(d.why);
	assert_true(d.closed);
	/* And byte by byte, with the same code. */
	ws_decoder_init(&d, max);
	rec_reset();
	assert_int_equal(decode_chunks(&d, buf, n, 1), -1);
	assert_int_equal(d.error, code);
}

static void
expect_ok(const uint8_t *buf, size_t n, uint64_t max)
{
	struct ws_decoder d;
	ws_decoder_init(&d, max);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), 0);
	assert_int_equal(d.error, 0);
}

static void
expect_message(const void *want, size_t n)
{
	assert_int_equal(rec.nlast, n);
	assert_memory_equal(rec.last, want, n);
}

/* The RFC's own example (5.7): a masked text frame holding "Hello". */
static const uint8_t rfc_hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	0x7f, 0x9f, 0x4d, 0x51, 0x58 };

static void
test_masked_text_one_call(void **state)
{
	(void)state;
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, rfc_hello, sizeof rfc_hello), 0);
	assert_string_equal(rec.log, "de");
	expect_message("Hello", 5);
	assert_int_equal(d.message, 0);
	assert_false(d.closed);
}

static void
test_masked_text_byte_by_byte(void **state)
{
	(void)state;
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	for (size_t i = 0; i < sizeof rfc_hello; i++) {
		assert_int_equal(decode(&d, rfc_hello + i, 1), 0);
		/* Nothing ends before the last byte. */
		assert_int_equal(rec.ends, i + 1 == sizeof rfc_hello ? 1 : 0);
	}
	assert_string_equal(rec.log, "de");
	expect_message("Hello", 5);
	/* A zero-length call is harmless. */
	assert_int_equal(decode(&d, rfc_hello, 0), 0);
	assert_int_equal(rec.ends, 1);
}

/* Two messages, a ping between fragments, a pong and a close, in one
 * buffer: every split into two calls gives the same events, and so does
 * every chunk size. */
static void
test_every_split_same_result(void **state)
{
	(void)state;
	uint8_t buf[512];
	size_t n = 0;
	n += frame_str(buf + n, 1, WS_TEXT, "first message");
	n += frame_str(buf + n, 0, WS_TEXT, "sec\xc3");
	n += frame_str(buf + n, 1, WS_PING, "are you there");
	n += frame_str(buf + n, 0, WS_CONTINUATION, "\xa9ond ");
	n += frame_str(buf + n, 1, WS_PONG, "");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "message \xe2\x82\xac");
	n += close_frame(buf + n, 1000, "bye", 3);
	n += frame_str(buf + n, 1, WS_TEXT, "ignored");
	const char *want_log = "dedpdodex";
	const char *want = "sec\xc3\xa9ond message \xe2\x82\xac";

	struct ws_decoder d;
	for (size_t split = 0; split <= n; split++) {
		ws_decoder_init(&d, MAX_MESSAGE);
		rec_reset();
		assert_int_equal(decode(&d, buf, split), 0);
		assert_int_equal(decode(&d, buf + split, n - split), 0);
		assert_string_equal(rec.log, want_log);
		expect_message(want, strlen(want));
		assert_int_equal(rec.ctl_op, WS_CLOSE);
		assert_int_equal(rec.nctl, 5);
		assert_memory_equal(rec.ctl, "\x03\xe8" "bye", 5);
		assert_true(d.closed);
		assert_int_equal(d.error, 0);
	}
	for (size_t step = 1; step <= 17; step++) {
		ws_decoder_init(&d, MAX_MESSAGE);
		rec_reset();
		assert_int_equal(decode_chunks(&d, buf, n, step), 0);
		assert_string_equal(rec.log, want_log);
		expect_message(want, strlen(want));
	}
}

static void
test_empty_text_message(void **state)
{
	(void)state;
	uint8_t buf[16];
	size_t n = frame(buf, 1, WS_TEXT, "", 0);
	assert_int_equal(n, 6);
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "e");
	assert_int_equal(rec.nlast, 0);
}

static void
check_length(size_t len, size_t want_header)
{
	uint8_t *payload = malloc(len);
	uint8_t *buf = malloc(len + 16);
	assert_non_null(payload);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	size_t n = frame(buf, 1, WS_BINARY, payload, len);
	assert_int_equal(n, len + want_header);

	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), 0);
	assert_int_equal(rec.ends, 1);
	expect_message(payload, len);

	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode_chunks(&d, buf, n, 7), 0);
	assert_int_equal(rec.ends, 1);
	expect_message(payload, len);
	free(payload);
	free(buf);
}

static void
test_length_16bit(void **state)
{
	(void)state;
	check_length(125, 2 + 4);
	check_length(126, 4 + 4);
	check_length(200, 4 + 4);
	check_length(65535, 4 + 4);
}

static void
test_length_64bit(void **state)
{
	(void)state;
	check_length(65536, 10 + 4);
	check_length(BIG, 10 + 4);
}

static void
test_length_64bit_top_bit(void **state)
{
	(void)state;
	uint8_t buf[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4 };
	expect_error(buf, sizeof buf, UINT64_MAX, WS_CLOSE_PROTOCOL);
	assert_int_equal(rec.nlog, 0);
	uint8_t top[] = { 0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
	expect_error(top, sizeof top, UINT64_MAX, WS_CLOSE_PROTOCOL);
}

static void
test_fragmented_message(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = 0;
	n += frame_str(buf + n, 0, WS_TEXT, "Hel");
	n += frame_str(buf + n, 0, WS_CONTINUATION, "lo ");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "world");
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "de");
	assert_int_equal(rec.ends, 1);
	expect_message("Hello world", 11);

	/* Empty fragments count for nothing but the structure. */
	n = 0;
	n += frame_str(buf + n, 0, WS_BINARY, "");
	n += frame_str(buf + n, 0, WS_CONTINUATION, "ab");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "");
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "de");
	expect_message("ab", 2);
}

static void
test_ping_between_fragments(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = 0;
	n += frame_str(buf + n, 0, WS_TEXT, "Hel");
	n += frame_str(buf + n, 1, WS_PING, "ping!");
	n += frame_str(buf + n, 0, WS_CONTINUATION, "lo ");
	n += frame_str(buf + n, 1, WS_PONG, "pong");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "world");
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	/* Up to the ping: the ping comes while the message is still open. */
	size_t first = 2 + 4 + 3 + 2 + 4 + 5;
	assert_int_equal(decode(&d, buf, first), 0);
	assert_string_equal(rec.log, "dp");
	assert_int_equal(rec.ctl_op, WS_PING);
	assert_int_equal(rec.nctl, 5);
	assert_memory_equal(rec.ctl, "ping!", 5);
	assert_int_equal(d.message, WS_TEXT);
	assert_int_equal(rec.ends, 0);
	assert_int_equal(decode(&d, buf + first, n - first), 0);
	assert_string_equal(rec.log, "dpdode");
	expect_message("Hello world", 11);
	assert_int_equal(rec.ctl_op, WS_PONG);
	assert_memory_equal(rec.ctl, "pong", 4);
}

static void
test_control_payloads(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint8_t pl[WS_CONTROL_MAX];
	for (size_t i = 0; i < sizeof pl; i++)
		pl[i] = (uint8_t)(0xff - i);
	size_t n = frame(buf, 1, WS_PING, pl, sizeof pl);
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "p");
	assert_int_equal(rec.nctl, WS_CONTROL_MAX);
	assert_memory_equal(rec.ctl, pl, WS_CONTROL_MAX);

	n = frame(buf, 1, WS_PING, "", 0);
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "p");
	assert_int_equal(rec.nctl, 0);
}

static void
test_unmasked_frame(void **state)
{
	(void)state;
	/* The RFC's unmasked "Hello" (5.7): only a server may send it. */
	const uint8_t buf[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	expect_error(buf, sizeof buf, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	assert_int_equal(rec.nlog, 0);
	uint8_t ping[16];
	size_t n = frame_ex(ping, 1, 0, WS_PING, "x", 1, 0);
	expect_error(ping, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	assert_int_equal(rec.nlog, 0);
}

static void
test_reserved_bits(void **state)
{
	(void)state;
	uint8_t buf[32];
	for (int rsv = 1; rsv <= 7; rsv++) {
		size_t n = frame_ex(buf, 1, rsv, WS_TEXT, "hi", 2, 1);
		expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
		assert_int_equal(rec.nlog, 0);
		n = frame_ex(buf, 1, rsv, WS_PING, "", 0, 1);
		expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	}
}

static void
test_unknown_opcodes(void **state)
{
	(void)state;
	const int ops[] = { 3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf };
	uint8_t buf[32];
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t n = frame(buf, 1, ops[i], "x", 1);
		expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
		assert_int_equal(rec.nlog, 0);
	}
	/* Also in the middle of a fragmented message. */
	size_t n = frame_str(buf, 0, WS_TEXT, "a");
	n += frame(buf + n, 1, 0xb, "", 0);
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
}

static void
test_fragmented_control(void **state)
{
	(void)state;
	uint8_t buf[32];
	const int ops[] = { WS_PING, WS_PONG, WS_CLOSE };
	for (size_t i = 0; i < 3; i++) {
		size_t n = frame(buf, 0, ops[i], "", 0);
		expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
		assert_int_equal(rec.nlog, 0);
	}
}

static void
test_control_too_long(void **state)
{
	(void)state;
	uint8_t pl[126];
	memset(pl, 'a', sizeof pl);
	uint8_t buf[256];
	const int ops[] = { WS_PING, WS_PONG, WS_CLOSE };
	for (size_t i = 0; i < 3; i++) {
		size_t n = frame(buf, 1, ops[i], pl, sizeof pl);
		expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
		assert_int_equal(rec.nlog, 0);
	}
	/* Decided at the header: no need to wait for the payload. */
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, buf, 8), -1);
	assert_int_equal(d.error, WS_CLOSE_PROTOCOL);
}

static void
test_continuation_without_message(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = frame_str(buf, 1, WS_CONTINUATION, "x");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	n = frame_str(buf, 0, WS_CONTINUATION, "x");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	/* After a complete message, there is none to continue. */
	n = frame_str(buf, 1, WS_TEXT, "done");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "more");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	assert_string_equal(rec.log, "de");
}

static void
test_new_message_inside_fragmented(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = frame_str(buf, 0, WS_TEXT, "one");
	n += frame_str(buf + n, 1, WS_TEXT, "two");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	assert_int_equal(rec.ends, 0);
	n = frame_str(buf, 0, WS_BINARY, "one");
	n += frame_str(buf + n, 0, WS_TEXT, "two");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	n = frame_str(buf, 0, WS_TEXT, "one");
	n += frame_str(buf + n, 1, WS_BINARY, "two");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
}

static void
test_message_too_big(void **state)
{
	(void)state;
	uint8_t pl[32];
	memset(pl, 'z', sizeof pl);
	uint8_t buf[256];
	/* One frame: 16 fits, 17 does not. */
	size_t n = frame(buf, 1, WS_TEXT, pl, 16);
	expect_ok(buf, n, 16);
	expect_message(pl, 16);
	n = frame(buf, 1, WS_TEXT, pl, 17);
	expect_error(buf, n, 16, WS_CLOSE_TOO_BIG);
	assert_int_equal(rec.nlog, 0);
	n = frame(buf, 1, WS_BINARY, pl, 17);
	expect_error(buf, n, 16, WS_CLOSE_TOO_BIG);

	/* Across fragments: 10 + 6 fits, 10 + 7 does not. */
	n = frame(buf, 0, WS_TEXT, pl, 10);
	n += frame(buf + n, 1, WS_CONTINUATION, pl, 6);
	expect_ok(buf, n, 16);
	expect_message(pl, 16);
	n = frame(buf, 0, WS_TEXT, pl, 10);
	n += frame(buf + n, 1, WS_CONTINUATION, pl, 7);
	expect_error(buf, n, 16, WS_CLOSE_TOO_BIG);
	assert_int_equal(rec.ends, 0);
	n = frame(buf, 0, WS_BINARY, pl, 6);
	n += frame(buf + n, 0, WS_CONTINUATION, pl, 6);
	n += frame(buf + n, 1, WS_CONTINUATION, pl, 6);
	expect_error(buf, n, 16, WS_CLOSE_TOO_BIG);

	/* The count starts again with each message. */
	n = frame(buf, 1, WS_TEXT, pl, 16);
	n += frame(buf + n, 0, WS_TEXT, pl, 10);
	n += frame(buf + n, 1, WS_CONTINUATION, pl, 6);
	expect_ok(buf, n, 16);
	assert_int_equal(rec.ends, 2);

	/* Control frames do not count. */
	n = frame(buf, 0, WS_TEXT, pl, 10);
	n += frame(buf + n, 1, WS_PING, pl, 20);
	n += frame(buf + n, 1, WS_CONTINUATION, pl, 6);
	expect_ok(buf, n, 16);
	assert_string_equal(rec.log, "dpde");

	/* A huge declared length fails at once, before its payload. */
	const uint8_t huge[] = { 0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4 };
	expect_error(huge, sizeof huge, MAX_MESSAGE, WS_CLOSE_TOO_BIG);
}

/* A text message with payload s (n bytes), in one frame, and split into
 * one frame per byte. */
static void
expect_text_error(const char *s, size_t n, uint16_t code)
{
	uint8_t buf[512];
	size_t len = frame(buf, 1, WS_TEXT, s, n);
	expect_error(buf, len, MAX_MESSAGE, code);
	assert_int_equal(rec.ends, 0);
	len = 0;
	for (size_t i = 0; i < n; i++)
		len += frame(buf + len, i + 1 == n, i == 0 ? WS_TEXT : WS_CONTINUATION, s + i, 1);
	expect_error(buf, len, MAX_MESSAGE, code);
	assert_int_equal(rec.ends, 0);
}

static void
expect_text_ok(const char *s, size_t n)
{
	uint8_t buf[512];
	size_t len = frame(buf, 1, WS_TEXT, s, n);
	expect_ok(buf, len, MAX_MESSAGE);
	expect_message(s, n);
	/* One frame per byte, fed one byte per call. */
	len = 0;
	for (size_t i = 0; i < n; i++)
		len += frame(buf + len, i + 1 == n, i == 0 ? WS_TEXT : WS_CONTINUATION, s + i, 1);
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode_chunks(&d, buf, len, 1), 0);
	assert_int_equal(rec.ends, 1);
	expect_message(s, n);
}

#define TEXT_ERROR(s) expect_text_error(s, sizeof(s) - 1, WS_CLOSE_BAD_DATA)
#define TEXT_OK(s) expect_text_ok(s, sizeof(s) - 1)

static void
test_utf8_invalid(void **state)
{
	(void)state;
	TEXT_ERROR("ab\xff");
	TEXT_ERROR("\xfe");
	TEXT_ERROR("\x80");                 /* a lone continuation byte */
	TEXT_ERROR("a\xc0\x80");            /* overlong NUL */
	TEXT_ERROR("\xc1\xbf");             /* overlong U+007F */
	TEXT_ERROR("\xe0\x80\xaf");         /* overlong '/' in 3 bytes */
	TEXT_ERROR("\xf0\x80\x80\xaf");     /* ... and in 4 */
	TEXT_ERROR("\xed\xa0\x80");         /* U+D800, a surrogate */
	TEXT_ERROR("\xed\xbf\xbf");         /* U+DFFF */
	TEXT_ERROR("\xf4\x90\x80\x80");     /* U+110000 */
	TEXT_ERROR("\xf5\x80\x80\x80");
	TEXT_ERROR("\xf8\x88\x80\x80\x80"); /* 5-byte form */
	TEXT_ERROR("\xe2\x82");             /* truncated at the message's end */
	TEXT_ERROR("ok\xf0\x9d\x84");
	TEXT_ERROR("\xc3");
	TEXT_ERROR("\xe2\x82(");            /* a lead byte not followed through */
	TEXT_ERROR("\xc3\xa9\xa9");         /* one continuation too many */
}

static void
test_utf8_invalid_across_frames(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = frame_str(buf, 0, WS_TEXT, "a\xe2\x82");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "(b");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_BAD_DATA);
	assert_int_equal(rec.ends, 0);
	/* A truncated sequence in a non-final frame is fine until the end. */
	n = frame_str(buf, 0, WS_TEXT, "a\xe2\x82");
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), 0);
	n = frame_str(buf, 1, WS_CONTINUATION, "");
	assert_int_equal(decode(&d, buf, n), -1);
	assert_int_equal(d.error, WS_CLOSE_BAD_DATA);
	assert_int_equal(rec.ends, 0);
	/* The state does not leak into the next message. */
	n = frame_str(buf, 0, WS_TEXT, "a\xe2\x82");
	n += frame_str(buf + n, 1, WS_PING, "\xff");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "\xac");
	n += frame_str(buf + n, 1, WS_TEXT, "\xac");
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_BAD_DATA);
	assert_string_equal(rec.log, "dpde");
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	TEXT_OK("plain ascii");
	TEXT_OK("caf\xc3\xa9");                 /* U+00E9 */
	TEXT_OK("\xc2\x80\xdf\xbf");            /* U+0080, U+07FF */
	TEXT_OK("\xe0\xa0\x80\xef\xbf\xbf");    /* U+0800, U+FFFF */
	TEXT_OK("\xed\x9f\xbf\xee\x80\x80");    /* U+D7FF, U+E000 */
	TEXT_OK("\xe2\x82\xac");                /* the euro sign */
	TEXT_OK("\xf0\x90\x80\x80");            /* U+10000 */
	TEXT_OK("\xf0\x9d\x84\x9e clef");       /* U+1D11E */
	TEXT_OK("\xf4\x8f\xbf\xbf");            /* U+10FFFF */
	TEXT_OK("nul \0 inside");
}

static void
test_utf8_split_across_calls(void **state)
{
	(void)state;
	/* One frame, split inside each character, fed a byte per call. */
	const char *s = "\xe2\x82\xac \xf0\x9d\x84\x9e \xc3\xa9";
	uint8_t buf[64];
	size_t n = frame_str(buf, 1, WS_TEXT, s);
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode_chunks(&d, buf, n, 1), 0);
	assert_int_equal(rec.ends, 1);
	expect_message(s, strlen(s));
	/* Fragments splitting characters, with a ping in between. */
	n = frame_str(buf, 0, WS_TEXT, "\xf0\x9d");
	n += frame_str(buf + n, 1, WS_PING, "");
	n += frame_str(buf + n, 0, WS_CONTINUATION, "\x84");
	n += frame_str(buf + n, 1, WS_CONTINUATION, "\x9e!");
	for (size_t step = 1; step <= n; step++) {
		ws_decoder_init(&d, MAX_MESSAGE);
		rec_reset();
		assert_int_equal(decode_chunks(&d, buf, n, step), 0);
		assert_int_equal(rec.ends, 1);
		expect_message("\xf0\x9d\x84\x9e!", 5);
	}
}

static void
test_binary_not_utf8_checked(void **state)
{
	(void)state;
	const uint8_t pl[] = { 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xe2 };
	uint8_t buf[64];
	size_t n = frame(buf, 1, WS_BINARY, pl, sizeof pl);
	expect_ok(buf, n, MAX_MESSAGE);
	expect_message(pl, sizeof pl);
	n = frame(buf, 0, WS_BINARY, pl, 3);
	n += frame(buf + n, 1, WS_CONTINUATION, pl + 3, sizeof pl - 3);
	expect_ok(buf, n, MAX_MESSAGE);
	expect_message(pl, sizeof pl);
	/* A text message after a binary one is checked again. */
	n = frame(buf, 1, WS_BINARY, pl, sizeof pl);
	n += frame(buf + n, 1, WS_TEXT, pl, 1);
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_BAD_DATA);
	assert_int_equal(rec.ends, 1);
}

static void
test_close_empty(void **state)
{
	(void)state;
	uint8_t buf[16];
	size_t n = close_frame(buf, -1, NULL, 0);
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), 0);
	assert_string_equal(rec.log, "x");
	assert_int_equal(rec.ctl_op, WS_CLOSE);
	assert_int_equal(rec.nctl, 0);
	assert_true(d.closed);
	assert_int_equal(d.error, 0);
}

static void
test_close_with_reason(void **state)
{
	(void)state;
	uint8_t buf[256];
	size_t n = close_frame(buf, 1000, "going home \xe2\x82\xac", 14);
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "x");
	assert_int_equal(rec.nctl, 16);
	assert_int_equal(rec.ctl[0] << 8 | rec.ctl[1], 1000);
	assert_memory_equal(rec.ctl + 2, "going home \xe2\x82\xac", 14);
	/* The longest a reason can be. */
	char reason[WS_CONTROL_MAX - 2];
	memset(reason, 'r', sizeof reason);
	n = close_frame(buf, 1001, reason, sizeof reason);
	expect_ok(buf, n, MAX_MESSAGE);
	assert_int_equal(rec.nctl, WS_CONTROL_MAX);
	/* Code only. */
	n = close_frame(buf, 1000, "", 0);
	expect_ok(buf, n, MAX_MESSAGE);
	assert_int_equal(rec.nctl, 2);
}

static void
test_close_one_byte(void **state)
{
	(void)state;
	uint8_t buf[16];
	size_t n = frame(buf, 1, WS_CLOSE, "\x03", 1);
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
	assert_int_equal(rec.nlog, 0);
}

static void
test_close_codes(void **state)
{
	(void)state;
	const int bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535 };
	const int good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999 };
	uint8_t buf[32];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = close_frame(buf, bad[i], "", 0);
		expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_PROTOCOL);
		assert_int_equal(rec.nlog, 0);
		assert_false(ws_close_code_ok((unsigned)bad[i]));
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		size_t n = close_frame(buf, good[i], "why", 3);
		expect_ok(buf, n, MAX_MESSAGE);
		assert_string_equal(rec.log, "x");
		assert_int_equal(rec.ctl[0] << 8 | rec.ctl[1], good[i]);
		assert_true(ws_close_code_ok((unsigned)good[i]));
	}
}

static void
test_close_reason_not_utf8(void **state)
{
	(void)state;
	uint8_t buf[32];
	size_t n = close_frame(buf, 1000, "bad \xff", 5);
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_BAD_DATA);
	assert_int_equal(rec.nlog, 0);
	n = close_frame(buf, 1000, "cut \xe2\x82", 6);
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_BAD_DATA);
	n = close_frame(buf, 1000, "\xed\xa0\x80", 3);
	expect_error(buf, n, MAX_MESSAGE, WS_CLOSE_BAD_DATA);
}

static void
test_input_after_close_ignored(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = close_frame(buf, 1000, "", 0);
	n += frame_str(buf + n, 1, WS_TEXT, "after");
	n += frame_str(buf + n, 1, WS_PING, "after");
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), 0);
	assert_string_equal(rec.log, "x");
	/* Even garbage later on: no events, no error. */
	const uint8_t junk[] = { 0x81, 0x05, 0xff, 0xff, 0x73, 0x00, 0x00 };
	assert_int_equal(decode(&d, junk, sizeof junk), 0);
	assert_string_equal(rec.log, "x");
	assert_int_equal(d.error, 0);
	/* And a close in the middle of a fragmented message. */
	n = frame_str(buf, 0, WS_TEXT, "part");
	n += close_frame(buf + n, 1001, "", 0);
	n += frame_str(buf + n, 1, WS_CONTINUATION, "rest");
	expect_ok(buf, n, MAX_MESSAGE);
	assert_string_equal(rec.log, "dx");
	assert_int_equal(rec.ends, 0);
}

static void
test_nothing_after_error(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = frame_ex(buf, 1, 0, WS_TEXT, "x", 1, 0);
	struct ws_decoder d;
	ws_decoder_init(&d, MAX_MESSAGE);
	rec_reset();
	assert_int_equal(decode(&d, buf, n), -1);
	n = frame_str(buf, 1, WS_TEXT, "fine");
	assert_int_equal(decode(&d, buf, n), -1);
	assert_int_equal(d.error, WS_CLOSE_PROTOCOL);
	assert_int_equal(rec.nlog, 0);
}

static void
test_header(void **state)
{
	(void)state;
	uint8_t h[WS_HEADER_MAX];
	assert_int_equal(ws_header(h, WS_TEXT, 0), 2);
	assert_memory_equal(h, "\x81\x00", 2);
	assert_int_equal(ws_header(h, WS_BINARY, 125), 2);
	assert_memory_equal(h, "\x82\x7d", 2);
	assert_int_equal(ws_header(h, WS_TEXT, 126), 4);
	assert_memory_equal(h, "\x81\x7e\x00\x7e", 4);
	assert_int_equal(ws_header(h, WS_TEXT, 65535), 4);
	assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
	assert_int_equal(ws_header(h, WS_TEXT, 65536), 10);
	assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	assert_int_equal(ws_header(h, WS_BINARY, 0x0102030405060708ull), 10);
	assert_memory_equal(h, "\x82\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10);
	assert_int_equal(ws_header(h, WS_CLOSE, 2), 2);
	assert_memory_equal(h, "\x88\x02", 2);
	assert_int_equal(ws_header(h, WS_PONG, 5), 2);
	assert_memory_equal(h, "\x8a\x05", 2);
}

/* What the server writes, masked as a client would, decodes to itself. */
static void
test_header_roundtrip(void **state)
{
	(void)state;
	const size_t lens[] = { 0, 1, 125, 126, 65535, 65536 };
	static uint8_t buf[65536 + 32], pl[65536];
	for (size_t i = 0; i < sizeof pl; i++)
		pl[i] = (uint8_t)('a' + i % 26);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t h = ws_header(buf, WS_TEXT, lens[i]);
		/* Set the mask bit and add a zero key: the payload is as is. */
		buf[1] |= 0x80;
		memset(buf + h, 0, 4);
		memcpy(buf + h + 4, pl, lens[i]);
		expect_ok(buf, h + 4 + lens[i], MAX_MESSAGE);
		assert_int_equal(rec.ends, 1);
		expect_message(pl, lens[i]);
	}
}

static void
test_utf8_step(void **state)
{
	(void)state;
	uint32_t st = 0;
	assert_int_equal(ws_utf8_step(&st, 'a'), 0);
	assert_int_equal(st, 0);
	assert_int_equal(ws_utf8_step(&st, 0xe2), 0);
	assert_int_not_equal(st, 0);
	assert_int_equal(ws_utf8_step(&st, 0x82), 0);
	assert_int_not_equal(st, 0);
	assert_int_equal(ws_utf8_step(&st, 0xac), 0);
	assert_int_equal(st, 0);
	st = 0;
	assert_int_equal(ws_utf8_step(&st, 0xc0), -1);
	st = 0;
	assert_int_equal(ws_utf8_step(&st, 0xf4), 0);
	assert_int_equal(ws_utf8_step(&st, 0x90), -1);
	st = 0;
	assert_int_equal(ws_utf8_step(&st, 0xe0), 0);
	assert_int_equal(ws_utf8_step(&st, 0x9f), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masked_text_one_call),
		cmocka_unit_test(test_masked_text_byte_by_byte),
		cmocka_unit_test(test_every_split_same_result),
		cmocka_unit_test(test_empty_text_message),
		cmocka_unit_test(test_length_16bit),
		cmocka_unit_test(test_length_64bit),
		cmocka_unit_test(test_length_64bit_top_bit),
		cmocka_unit_test(test_fragmented_message),
		cmocka_unit_test(test_ping_between_fragments),
		cmocka_unit_test(test_control_payloads),
		cmocka_unit_test(test_unmasked_frame),
		cmocka_unit_test(test_reserved_bits),
		cmocka_unit_test(test_unknown_opcodes),
		cmocka_unit_test(test_fragmented_control),
		cmocka_unit_test(test_control_too_long),
		cmocka_unit_test(test_continuation_without_message),
		cmocka_unit_test(test_new_message_inside_fragmented),
		cmocka_unit_test(test_message_too_big),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_invalid_across_frames),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_split_across_calls),
		cmocka_unit_test(test_binary_not_utf8_checked),
		cmocka_unit_test(test_close_empty),
		cmocka_unit_test(test_close_with_reason),
		cmocka_unit_test(test_close_one_byte),
		cmocka_unit_test(test_close_codes),
		cmocka_unit_test(test_close_reason_not_utf8),
		cmocka_unit_test(test_input_after_close_ignored),
		cmocka_unit_test(test_nothing_after_error),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_utf8_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
