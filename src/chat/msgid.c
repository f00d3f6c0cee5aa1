#include "chat/msgid.h"

#include <string.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define MS_MAX ((UINT64_C(1) << 48) - 1)

void
msgid_init(struct msgid_gen *g, uint16_t node)
{
	g->node = node;
	g->seq = 0;
	g->last_ms = -1;
}

void
msgid_write(uint64_t ms, uint16_t node, uint16_t seq, char *out)
{
	/* The 80 bits 5 at a time from the top: twelve characters from the
	 * first 64 (milliseconds and node), one across the boundary, three
	 * from the sequence. Each message gets one: no loop over bytes. */
	uint64_t hi = (ms & MS_MAX) << 16 | node;
	for (int i = 0; i < 12; i++)
		out[i] = alphabet[(hi >> (59 - 5 * i)) & 31];
	out[12] = alphabet[(hi & 15) << 1 | (unsigned)seq >> 15];
	out[13] = alphabet[(seq >> 10) & 31];
	out[14] = alphabet[(seq >> 5) & 31];
	out[15] = alphabet[seq & 31];
	out[MSGID_LEN] = '\0';
}

void
msgid_next(struct msgid_gen *g, int64_t now_ms, char *out)
{
	if (now_ms < 0)
		now_ms = 0;
	if (now_ms > g->last_ms) {
		g->last_ms = now_ms;
		g->seq = 0;
	} else if (g->seq < UINT16_MAX) {
		g->seq++;
	} else {
		g->last_ms++;
		g->seq = 0;
	}
	msgid_write((uint64_t)g->last_ms, g->node, g->seq, out);
}

int
msgid_after_last(const struct msgid_gen *g, char *out)
{
	if (g->last_ms < 0)
		return -1;
	uint64_t ms = (uint64_t)g->last_ms;
	uint16_t node = g->node, seq = g->seq;
	if (seq < UINT16_MAX) {
		seq++;
	} else {
		seq = 0;
		if (node < UINT16_MAX) {
			node++;
		} else {
			node = 0;
			ms++;
		}
	}
	msgid_write(ms, node, seq, out);
	return 0;
}

int
msgid_read(const char *s, uint64_t *ms, uint16_t *node, uint16_t *seq)
{
	uint8_t b[10] = { 0 };
	for (int i = 0; i < MSGID_LEN; i++) {
		const char *at = s[i] != '\0' ? strchr(alphabet, s[i]) : NULL;
		if (at == NULL)
			return -1;
		unsigned v = (unsigned)(at - alphabet);
		for (int k = 0; k < 5; k++) {
			int bit = 5 * i + k;
			if (v & (16u >> k))
				b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		}
	}
	if (s[MSGID_LEN] != '\0')
		return -1;
	uint64_t hi = 0;
	for (int i = 0; i < 8; i++)
		hi = hi << 8 | b[i];
	if (ms != NULL)
		*ms = hi >> 16;
	if (node != NULL)
		*node = (uint16_t)hi;
	if (seq != NULL)
		*seq = (uint16_t)(b[8] << 8 | b[9]);
	return 0;
}
