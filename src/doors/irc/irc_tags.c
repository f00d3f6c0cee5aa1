/* IRCv3 tags: those the server puts on hub events (server-time, msgid,
 * bot, the sender's client-only tags), those a client sends, and the
 * label of labeled-response. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "doors/irc/irc.h"

struct wire *
irc_tags_render(const struct msg *m, int all, int with_id)
{
	time_t secs = (time_t)(m->at_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char stamp[32], id[32] = "";
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!all)
		return wire_printf("@time=%s.%03dZ ", stamp, (int)(m->at_ms % 1000));
	if (with_id)
		snprintf(id, sizeof id, ";msgid=%s", m->id);
	return wire_printf("@time=%s.%03dZ%s%s%s%s ", stamp, (int)(m->at_ms % 1000), id,
	    m->from_bot ? ";bot" : "", m->client_tags ? ";" : "",
	    m->client_tags ? m->client_tags : "");
}

static struct wire *
tags_shared(struct msg *m, int all)
{
	enum msg_tags t = all ? TAGS_ALL : TAGS_TIME;
	if (m->tags[t] == NULL)
		m->tags[t] = irc_tags_render(m, all, 1);
	return m->tags[t];
}

struct wire *
irc_tags_for(struct conn *c, struct msg *m)
{
	unsigned caps_on = irc_session(c)->caps;
	if (caps_on & CAP_MESSAGE_TAGS)
		return tags_shared(m, 1);
	if (caps_on & CAP_SERVER_TIME)
		return tags_shared(m, 0);
	return NULL;
}

const char *
irc_tag_value(const struct irc_message *m, const char *key)
{
	for (int i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value ? m->tags[i].value : "";
	return NULL;
}

const char *
irc_client_tags(const struct irc_message *m, char *buf, size_t cap)
{
	size_t len = 0;
	for (int i = 0; i < m->ntags; i++) {
		const struct irc_tag *t = &m->tags[i];
		if (t->key[0] != '+')
			continue;
		size_t klen = strlen(t->key);
		size_t vlen = t->value && *t->value ? irc_tag_escape(NULL, 0, t->value) : 0;
		if (len + klen + vlen + 3 > cap)
			break;
		if (len > 0)
			buf[len++] = ';';
		memcpy(buf + len, t->key, klen);
		len += klen;
		if (vlen > 0) {
			buf[len++] = '=';
			len += irc_tag_escape(buf + len, cap - len, t->value);
		}
		buf[len] = '\0';
	}
	return len > 0 ? buf : NULL;
}

void
irc_label_tag(char *buf, const char *label)
{
	static const char key[] = "label=";
	memcpy(buf, key, sizeof key);
	irc_tag_escape(buf + sizeof key - 1, IRC_LABEL_TAG_MAX - (sizeof key - 1), label);
}
