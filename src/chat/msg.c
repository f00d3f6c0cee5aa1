#include "chat/msg.h"

#include <stdlib.h>
#include <string.h>

static const char *
stash(char **cursor, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *at = *cursor;
	memcpy(at, s, n);
	*cursor += n;
	return at;
}

static size_t
size_of(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

struct msg *
msg_new(enum msg_kind kind, const char *from, const char *ident,
    const char *host, const char *room, const char *target, const char *text)
{
	size_t extra = size_of(from) + size_of(room) + size_of(target) +
	    size_of(text) + size_of(ident) + size_of(host);
	struct msg *m = calloc(1, sizeof *m + extra);
	if (m == NULL)
		return NULL;
	m->refs = 1;
	m->kind = kind;
	char *cursor = m->strings;
	m->from = stash(&cursor, from);
	m->room = stash(&cursor, room);
	m->target = stash(&cursor, target);
	m->text = stash(&cursor, text);
	m->ident = stash(&cursor, ident);
	m->host = stash(&cursor, host);
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
