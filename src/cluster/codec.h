/* The wire form of a hub event between the nodes of a cluster: a struct
 * msg with its origin (node, node sequence) and the global sequence, as
 * bytes for a Redis channel, and back.
 *
 * The bytes are compact and versioned: a version byte first (a node
 * refuses a version it does not know, and its caller counts that), then
 * the kind, the numbers, and length-prefixed fields. Decoding trusts the
 * peer no more than a client: every field is checked by the rules the hub
 * applies to a local client's input, and no longer than a local client
 * could have made it (base/limits.h, chat/bounds.h). Decoding is total:
 * any bytes give an event or -1, never a crash, a leak or an abort.
 * Encoding checks the same rules, so what encodes decodes. Pure: no I/O,
 * no hub. The format is described in codec.c. */
#ifndef PARLEY_CLUSTER_CODEC_H
#define PARLEY_CLUSTER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/text.h"
#include "chat/bounds.h"
#include "chat/msg.h"

/* The format's version, the first byte of every event. */
#define CLUSTER_CODEC_VERSION 1

/* The longest message text a node may have taken from a client: a plain
 * door's line of the most max-line may be (1 MiB, base/config.c), each
 * invalid byte of it made U+FFFD (text_clean). An IRC message is shorter
 * (a multiline batch at most 4096 bytes). */
#define CLUSTER_TEXT_MAX TEXT_CLEAN_MAX(1048576)
/* The longest client-only tags ("+a=b;+c") a message may carry: what
 * IRCv3 message-tags lets a client send (IRC_TAGS_LEN_MAX). */
#define CLUSTER_TAGS_MAX 4096
/* The most bytes one encoded event may take: the text, the tags, the
 * away message and every bounded name, with their tags and lengths. A
 * decoder refuses more before looking further. */
#define CLUSTER_EVENT_MAX (CLUSTER_TEXT_MAX + CLUSTER_TAGS_MAX + 2048)

/* What a user is beside what a MSG_CONNECT's msg holds (from, ident,
 * host, text: its real name, account, from_bot, one_line): enough to
 * make it on another node as it is on its own, also long after it came
 * (a node that starts later, or re-asserts its users). */
struct cluster_user {
	int64_t signon;               /* Unix seconds it came (WHOIS) */
	uint8_t umodes;               /* UMODE_* (chat/hub.h): i, o, B */
	uint8_t secure;               /* connected over TLS */
	char away[HUB_AWAY_MAX + 1];  /* its away message; "" when here */
	char addr[USER_HOST_MAX + 1]; /* where it connects from; "" when it is host */
};

struct cluster_event {
	uint16_t node;        /* origin node id */
	uint64_t node_seq;    /* origin node's sequence, for duplicate drop and order */
	uint64_t seq;         /* global sequence from Redis for state changes, 0 for traffic */
	struct msg *msg;      /* owned reference (msg_unref); everything hub_apply needs */
	struct cluster_user user;  /* MSG_CONNECT only; zero otherwise */
	uint8_t member_modes; /* MSG_JOIN only: MEMBER_* the joiner got (the
	                       * first joiner's op); 0 otherwise */
};

/* Appends ev's bytes (at most CLUSTER_EVENT_MAX) to out: 0, or -1 when a
 * field breaks the rules a decoder checks, or out of memory (out is then
 * as it was). */
int cluster_encode(const struct cluster_event *ev, struct buf *out);
/* Reads the event of p[0..n) into ev, whose content before is
 * overwritten (clear it first): 0, or -1 on anything but a valid event
 * (ev then holds no msg). A decoded msg has one reference, its id, ref,
 * at_ms, account, from_bot, multiline, one_line and client_tags set. */
int cluster_decode(const void *p, size_t n, struct cluster_event *ev);
/* The version byte of p[0..n), or -1 when empty: for the caller to count
 * a refused version apart from garbage. */
int cluster_version(const void *p, size_t n);
/* A state event comes in its script's frame (cluster/scripts.c):
 * "S<seq> <member modes> " before the event's bytes. Reads it off the
 * front of p[0..*n): 1 (*p and *n moved past it, *seq and *modes set),
 * 0 when the bytes are an event alone, -1 when the frame is broken (a
 * number missing or of more than 18 digits, modes not MEMBER_* bits). */
int cluster_frame_read(const char **p, size_t *n, uint64_t *seq, uint8_t *modes);
/* Drops ev->msg; ev is zero again. */
void cluster_event_clear(struct cluster_event *ev);

#endif
