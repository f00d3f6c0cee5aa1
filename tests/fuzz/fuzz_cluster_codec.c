/* libFuzzer: what another node sends (cluster/codec.h). Any bytes decode
 * to an event or to -1, with nothing left held (ASan's leak check); an
 * event decoded is one a client could have made, so it encodes again, to
 * exactly the bytes it came from (one encoding per event), and those
 * decode to the same event. Seeds: tests/fuzz/seeds/fuzz_cluster_codec,
 * written by test_cluster_codec (CLUSTER_CODEC_SEEDS=dir). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_event ev;
	if (cluster_decode(data, size, &ev) < 0) {
		assert(ev.msg == NULL);
		return 0;
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
	cluster_event_clear(&ev);
	assert(ev.msg == NULL);
	buf_free(&out);
	return 0;
}
