/* RFC 6455 framing, the server's side: a streaming decoder for what a
 * client sends and the header a server frame starts with. No sockets here:
 * conn's transport feeds the decoder bytes as they arrive, however they
 * are split, and it hands up message bytes, message ends and control
 * frames. */
#ifndef PARLEY_WS_H
#define PARLEY_WS_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1) the server sends. */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

#define WS_CONTROL_MAX 125
/* Longest server frame header: 2 bytes, then an 8-byte length. */
#define WS_HEADER_MAX 10

struct ws_events {
	/* Payload bytes of a text or binary message, unmasked, in order. A
	 * message may come in any number of pieces. */
	void (*data)(void *ctx, const uint8_t *p, size_t n);
	/* The message whose bytes came through data() is complete. */
	void (*end)(void *ctx);
	/* A whole ping, pong or close frame (n <= WS_CONTROL_MAX). A close
	 * has been checked: a valid code, a UTF-8 reason. Input after it is
	 * ignored. */
	void (*control)(void *ctx, enum ws_opcode op, const uint8_t *p, size_t n);
};

struct ws_decoder {
	uint64_t max_message;   /* longest data message, in payload bytes */
	uint64_t left;          /* payload bytes of this frame still to come */
	uint64_t message_len;   /* payload bytes of this message so far */
	uint32_t utf8;          /* validation state across frames */
	uint8_t head[14];       /* the frame header, as it arrives */
	uint8_t head_len;
	uint8_t opcode;         /* of the frame being read */
	uint8_t fin;
	uint8_t mask[4];
	uint8_t mask_at;        /* where in the mask the next byte is */
	uint8_t message;        /* WS_TEXT or WS_BINARY while one is open, else 0 */
	uint8_t closed;         /* a close frame was read (or a failure) */
	uint8_t ctl_len;
	uint8_t ctl[WS_CONTROL_MAX];
	uint16_t error;         /* close code of the failure, 0 if none */
	const char *why;        /* and its reason, for the close frame and logs */
};

void ws_decoder_init(struct ws_decoder *d, uint64_t max_message);
/* Decodes n bytes. 0 when fine (so far), -1 when the client broke the
 * protocol: d->error and d->why say how, and nothing more is decoded. */
int ws_decode(struct ws_decoder *d, const uint8_t *p, size_t n,
    const struct ws_events *ev, void *ctx);
/* For an event callback: the client broke a rule of ours (code, why);
 * ws_decode stops and returns -1, as for a protocol error. */
void ws_decoder_fail(struct ws_decoder *d, uint16_t code, const char *why);
/* Writes a final, unmasked frame header; returns its length. */
size_t ws_header(uint8_t out[WS_HEADER_MAX], enum ws_opcode op, uint64_t len);
/* Whether a client may send code in a close frame (7.4). */
int ws_close_code_ok(unsigned code);
/* Incremental UTF-8 validation: state 0 at a character boundary; -1 when
 * byte b cannot come next. Exposed for the text frames the server sends. */
int ws_utf8_step(uint32_t *state, uint8_t b);

#endif
