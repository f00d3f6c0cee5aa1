#include "net/ws.h"

#include <string.h>

#include "base/text.h"

void
ws_decoder_init(struct ws_decoder *d, uint64_t max_message)
{
	memset(d, 0, sizeof *d);
	d->max_message = max_message;
}

/* Valid UTF-8 as text.c has it, a byte at a time: the state holds the
 * bytes still expected in its low byte and the range the next one must
 * fall in above it. */
int
ws_utf8_step(uint32_t *state, uint8_t b)
{
	uint32_t need = *state & 0xff;
	if (need > 0) {
		uint8_t lo = (uint8_t)(*state >> 8), hi = (uint8_t)(*state >> 16);
		if (b < lo || b > hi)
			return -1;
		need--;
		*state = need ? need | 0x80u << 8 | 0xbfu << 16 : 0;
		return 0;
	}
	size_t len;
	unsigned char lo, hi;
	if (!utf8_lead(b, &len, &lo, &hi))
		return -1;
	*state = len == 1 ? 0 : (uint32_t)(len - 1) | (uint32_t)lo << 8 | (uint32_t)hi << 16;
	return 0;
}

int
ws_close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999);
}

size_t
ws_header(uint8_t out[WS_HEADER_MAX], enum ws_opcode op, uint64_t len)
{
	out[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

static int
fail(struct ws_decoder *d, uint16_t code, const char *why)
{
	d->error = code;
	d->why = why;
	d->closed = 1;
	return -1;
}

void
ws_decoder_fail(struct ws_decoder *d, uint16_t code, const char *why)
{
	fail(d, code, why);
}

/* Header bytes needed, as far as the ones already read tell. */
static size_t
header_size(const struct ws_decoder *d)
{
	if (d->head_len < 2)
		return 2;
	size_t len7 = d->head[1] & 0x7f;
	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((d->head[1] & 0x80) ? 4 : 0);
}

static int
is_control(uint8_t op)
{
	return op & 0x8;
}

/* The header is whole: check it against what may come now. */
static int
header_done(struct ws_decoder *d)
{
	const uint8_t *h = d->head;
	if (h[0] & 0x70)
		return fail(d, WS_CLOSE_PROTOCOL, "reserved bits set");
	if (!(h[1] & 0x80))
		return fail(d, WS_CLOSE_PROTOCOL, "client frame not masked");
	d->fin = h[0] >> 7;
	d->opcode = h[0] & 0x0f;
	uint64_t len = h[1] & 0x7f;
	size_t at = 2;
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
	} else if (len == 127) {
		if (h[2] & 0x80)
			return fail(d, WS_CLOSE_PROTOCOL, "frame length out of range");
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		at = 10;
	}
	memcpy(d->mask, h + at, 4);
	d->mask_at = 0;
	d->left = len;
	switch (d->opcode) {
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!d->fin)
			return fail(d, WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (len > WS_CONTROL_MAX)
			return fail(d, WS_CLOSE_PROTOCOL, "control frame too long");
		d->ctl_len = 0;
		return 0;
	case WS_TEXT:
	case WS_BINARY:
		if (d->message)
			return fail(d, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
		d->message = d->opcode;
		d->message_len = 0;
		d->utf8 = 0;
		break;
	case WS_CONTINUATION:
		if (!d->message)
			return fail(d, WS_CLOSE_PROTOCOL, "continuation frame with no message");
		break;
	default:
		return fail(d, WS_CLOSE_PROTOCOL, "unknown opcode");
	}
	if (len > d->max_message - d->message_len)
		return fail(d, WS_CLOSE_TOO_BIG, "message too big");
	d->message_len += len;
	return 0;
}

static int
control_done(struct ws_decoder *d, const struct ws_events *ev, void *ctx)
{
	if (d->opcode == WS_CLOSE) {
		if (d->ctl_len == 1)
			return fail(d, WS_CLOSE_PROTOCOL, "close frame of one byte");
		if (d->ctl_len >= 2 && !ws_close_code_ok((unsigned)d->ctl[0] << 8 | d->ctl[1]))
			return fail(d, WS_CLOSE_PROTOCOL, "invalid close code");
		uint32_t st = 0;
		for (size_t i = 2; i < d->ctl_len; i++)
			if (ws_utf8_step(&st, d->ctl[i]) < 0)
				return fail(d, WS_CLOSE_BAD_DATA, "close reason not UTF-8");
		if (st != 0)
			return fail(d, WS_CLOSE_BAD_DATA, "close reason not UTF-8");
		d->closed = 1;
	}
	ev->control(ctx, (enum ws_opcode)d->opcode, d->ctl, d->ctl_len);
	return 0;
}

/* The frame's payload is all read. */
static int
frame_done(struct ws_decoder *d, const struct ws_events *ev, void *ctx)
{
	d->head_len = 0;
	if (is_control(d->opcode))
		return control_done(d, ev, ctx);
	if (!d->fin)
		return 0;
	if (d->message == WS_TEXT && d->utf8 != 0)
		return fail(d, WS_CLOSE_BAD_DATA, "text message not UTF-8");
	d->message = 0;
	ev->end(ctx);
	return 0;
}

/* Unmasks up to n payload bytes of a data frame and hands them up. */
static int
payload(struct ws_decoder *d, const uint8_t *p, size_t n,
    const struct ws_events *ev, void *ctx)
{
	uint8_t out[1024];
	while (n > 0) {
		size_t k = n < sizeof out ? n : sizeof out;
		for (size_t i = 0; i < k; i++) {
			out[i] = p[i] ^ d->mask[d->mask_at];
			d->mask_at = (d->mask_at + 1) & 3;
		}
		if (d->message == WS_TEXT)
			for (size_t i = 0; i < k; i++)
				if (ws_utf8_step(&d->utf8, out[i]) < 0)
					return fail(d, WS_CLOSE_BAD_DATA, "text message not UTF-8");
		ev->data(ctx, out, k);
		p += k;
		n -= k;
	}
	return 0;
}

int
ws_decode(struct ws_decoder *d, const uint8_t *p, size_t n,
    const struct ws_events *ev, void *ctx)
{
	while (n > 0 && !d->closed) {
		size_t want = header_size(d);
		if (d->head_len < want) {
			while (n > 0 && d->head_len < want) {
				d->head[d->head_len++] = *p++;
				n--;
				want = header_size(d);
			}
			if (d->head_len < want)
				break;
			if (header_done(d) < 0)
				return -1;
			if (d->left == 0 && frame_done(d, ev, ctx) < 0)
				return -1;
			continue;
		}
		size_t k = d->left < n ? (size_t)d->left : n;
		if (is_control(d->opcode)) {
			for (size_t i = 0; i < k; i++) {
				d->ctl[d->ctl_len++] = p[i] ^ d->mask[d->mask_at];
				d->mask_at = (d->mask_at + 1) & 3;
			}
		} else if (payload(d, p, k, ev, ctx) < 0)
			return -1;
		p += k;
		n -= k;
		d->left -= k;
		if (d->left == 0 && frame_done(d, ev, ctx) < 0)
			return -1;
	}
	return d->error ? -1 : 0;
}
