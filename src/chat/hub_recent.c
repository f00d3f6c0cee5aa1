#include "chat/hub_recent.h"

#include <stdlib.h>
#include <string.h>

#include "chat/hub.h"

void
hub_recent_note(struct hub *hub, const char *id, uint32_t author, uint32_t where,
    int private)
{
	if (hub->recent == NULL &&
	    (hub->recent = calloc(HUB_RECENT, sizeof *hub->recent)) == NULL)
		return;
	struct hub_recent *r = &hub->recent[hub->nrecent++ % HUB_RECENT];
	memcpy(r->id, id, MSGID_LEN);
	r->author = author;
	r->where = where;
	r->private = (uint8_t)private;
}

const struct hub_recent *
hub_recent_find(const struct hub *hub, const char *id)
{
	if (hub->recent == NULL || strlen(id) != MSGID_LEN)
		return NULL;
	uint64_t n = hub->nrecent < HUB_RECENT ? hub->nrecent : HUB_RECENT;
	uint64_t first = hub->nrecent - n;  /* the oldest still kept */
	uint64_t lo = 0, hi = n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const struct hub_recent *r = &hub->recent[(first + mid) % HUB_RECENT];
		int cmp = memcmp(r->id, id, MSGID_LEN);
		if (cmp == 0)
			return r;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
hub_recent_free(struct hub *hub)
{
	free(hub->recent);
	hub->recent = NULL;
	hub->nrecent = 0;
}
