/* libFuzzer: what another node sends (cluster/codec.h), as a node's
 * subscriber takes it: events one after another (each as long as its
 * version and body length say; what is left when they say nothing is
 * one more), each decoded, then applied to a hub (hub_apply) whose local
 * user renders what reaches it as the doors do.
 * - Any bytes decode to an event or to -1, with nothing left held (ASan's
 *   leak check);
 * - an event decoded is one a client could have made: it encodes again,
 *   to exactly the bytes it came from (one encoding per event), and those
 *   decode to the same event;
 * - the hub applies it or refuses it, and renders what it delivers,
 *   without a crash.
 * Seeds: tests/fuzz/seeds/fuzz_cluster_codec, written by
 * test_cluster_codec (CLUSTER_CODEC_SEEDS=dir): single events, and a
 * whole session's events in one. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/hub.h"
#include "cluster/codec.h"
#include "doors/irc/irc.h"
#include "doors/plain_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* What a door makes of an event that reached its user: the plain line,
 * the IRC tags, and a multiline message's batch and lines. */
static void
render(struct user *u, struct msg *m)
{
	(void)u;
	wire_unref(plain_render(m));
	wire_unref(irc_tags_render(m, 1, 1, 1, 1));
	if (m->multiline) {
		char src[HUB_MASK_MAX + 1];
		snprintf(src, sizeof src, "%s!%s@%s", m->from, m->ident ? m->ident : "*",
		    m->host ? m->host : "*");
		const char *cmd = m->kind == MSG_NOTICE ? "NOTICE" : "PRIVMSG";
		wire_unref(irc_multiline_batch(m, src, cmd));
		wire_unref(irc_multiline_lines(m, src, cmd, "@time=x "));
	}
}

static const struct user_ops here_ops = { .deliver = render };

/* The bytes of the event at data: as many as its version byte and body
 * length say, or all of them. */
static size_t
event_size(const uint8_t *data, size_t size)
{
	uint64_t body = 0;
	for (size_t i = 1; i < size && i <= 10; i++) {
		body |= (uint64_t)(data[i] & 0x7F) << (7 * (i - 1));
		if (!(data[i] & 0x80))
			return body <= size - i - 1 ? (size_t)body + i + 1 : size;
	}
	return size;
}

/* One event: decoded, checked against its own encoding, applied. */
static void
one(struct hub *hub, const uint8_t *data, size_t size)
{
	struct cluster_event ev;
	if (cluster_decode(data, size, &ev) < 0) {
		assert(ev.msg == NULL);
		return;
	}
	const struct msg *m = ev.msg;
	assert(m != NULL && m->refs == 1 && m->from != NULL);
	assert(cluster_version(data, size) == CLUSTER_CODEC_VERSION);

	struct buf out = { 0 };
	assert(cluster_encode(&ev, &out) == 0);
	assert(out.len == size && memcmp(out.data, data, size) == 0);

	struct cluster_event again;
	assert(cluster_decode(out.data, out.len, &again) == 0);
	const struct msg *a = again.msg;
	assert(again.node == ev.node && again.node_seq == ev.node_seq && again.seq == ev.seq);
	assert(a->kind == m->kind && same(a->from, m->from) && same(a->ident, m->ident) &&
	    same(a->host, m->host) && same(a->room, m->room) && same(a->target, m->target) &&
	    same(a->text, m->text) && same(a->client_tags, m->client_tags));
	assert(strcmp(a->id, m->id) == 0 && strcmp(a->ref, m->ref) == 0 &&
	    strcmp(a->account, m->account) == 0);
	assert(a->at_ms == m->at_ms && a->from_bot == m->from_bot &&
	    a->multiline == m->multiline && a->one_line == m->one_line);
	assert(memcmp(&again.user, &ev.user, sizeof ev.user) == 0 &&
	    again.member_modes == ev.member_modes);
	cluster_event_clear(&again);
	buf_free(&out);

	/* As the subscriber does: applied if the hub takes it. */
	(void)hub_apply(hub, ev.msg);
	cluster_event_clear(&ev);
	assert(ev.msg == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A script's frame (the bytes as a state event comes): read or
	 * refused, never past the end. */
	const char *fp = (const char *)data;
	size_t fn = size;
	uint64_t fseq;
	uint8_t fmodes;
	int framed = cluster_frame_read(&fp, &fn, &fseq, &fmodes);
	assert(framed >= -1 && framed <= 1);
	assert(fp + fn == (const char *)data + size);
	assert(framed != 1 || (fmodes <= (MEMBER_OP | MEMBER_VOICE) && fn < size));
	struct hub hub;
	hub_init(&hub, HUB_TOPIC_MAX, NICK_LEN_MAX);
	/* A user of this node, in the rooms the seeds' events are about. */
	enum hub_status st;
	struct user *here = hub_user_new_named(&hub, "zed", &here_ops, NULL, "~z", "10.0.0.9",
	    "Zed", &st);
	assert(here != NULL);
	static const char *const rooms[] = { "#room", "#r", "#other", "#Ünïcode" };
	for (size_t i = 0; i < sizeof rooms / sizeof *rooms; i++)
		assert(hub_join(&hub, here, rooms[i]) == HUB_OK);

	while (size > 0) {
		size_t n = event_size(data, size);
		one(&hub, data, n);
		data += n;
		size -= n;
	}
	hub_clear(&hub);
	return 0;
}
