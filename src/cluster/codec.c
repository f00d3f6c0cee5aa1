/* The cluster's event codec (codec.h). A stub until the format lands:
 * nothing encodes, nothing decodes. */
#include "cluster/codec.h"

#include <string.h>

int
cluster_encode(const struct cluster_event *ev, struct buf *out)
{
	(void)ev;
	(void)out;
	return -1;
}

int
cluster_decode(const void *p, size_t n, struct cluster_event *ev)
{
	(void)p;
	(void)n;
	memset(ev, 0, sizeof *ev);
	return -1;
}

int
cluster_version(const void *p, size_t n)
{
	return n > 0 ? *(const unsigned char *)p : -1;
}

void
cluster_event_clear(struct cluster_event *ev)
{
	msg_unref(ev->msg);
	memset(ev, 0, sizeof *ev);
}
