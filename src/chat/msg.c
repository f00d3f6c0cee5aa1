#include "chat/msg.h"

#include <stdlib.h>
#include <string.h>

/* Each string is measured once, then copied behind the struct: a msg is
 * made for every message said, and strlen was a fifth of its cost. */
struct msg *
msg_new(enum msg_kind kind, const char *from, const char *ident,
    const char *host, const char *room, const char *target, const char *text)
{
	enum { FROM, ROOM, TARGET, TEXT, IDENT, HOST, NSTRINGS };
	const char *src[NSTRINGS] = { from, room, target, text, ident, host };
	size_t len[NSTRINGS], extra = 0;
	for (int i = 0; i < NSTRINGS; i++) {
		len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
		extra += len[i];
	}
	struct msg *m = calloc(1, sizeof *m + extra);
	if (m == NULL)
		return NULL;
	m->refs = 1;
	m->kind = kind;
	const char *at[NSTRINGS];
	char *cursor = m->strings;
	for (int i = 0; i < NSTRINGS; i++) {
		at[i] = src[i] != NULL ? memcpy(cursor, src[i], len[i]) : NULL;
		cursor += len[i];
	}
	m->from = at[FROM];
	m->room = at[ROOM];
	m->target = at[TARGET];
	m->text = at[TEXT];
	m->ident = at[IDENT];
	m->host = at[HOST];
	m->multiline = text != NULL && strpbrk(m->text, "\n\r") != NULL;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m == NULL || --m->refs > 0)
		return;
	for (int i = 0; i < FMT_COUNT; i++)
		wire_unref(m->rendered[i]);
	for (int i = 0; i < TAGS_COUNT; i++)
		wire_unref(m->tags[i]);
	free(m->client_tags);
	free(m);
}
