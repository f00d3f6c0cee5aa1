/* IRCv3 tags: those the server puts on hub events (server-time, msgid,
 * bot, the sender's client-only tags), those a client sends, and the
 * label of labeled-response. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "doors/irc/irc.h"

struct wire *
irc_tags_render(const struct msg *m, int time, int all, int with_id, int account)
{
	/* Each tag goes in with a ';' in front; the first one's becomes '@'. */
	char buf[IRC_OUR_TAGS_MAX + ACCOUNT_LEN_MAX + 16 + IRC_TAGS_LEN_MAX];
	size_t n = 0;
	if (time) {
		time_t secs = (time_t)(m->at_ms / 1000);
		struct tm tm;
		char day[32];
		gmtime_r(&secs, &tm);
		strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(buf + n, sizeof buf - n, ";time=%s.%03dZ", day,
		    (int)(m->at_ms % 1000));
	}
	if (all && with_id)
		n += (size_t)snprintf(buf + n, sizeof buf - n, ";msgid=%s", m->id);
	/* An account is a nickname: nothing in it needs escaping in a tag. */
	if (account && m->account[0] != '\0')
		n += (size_t)snprintf(buf + n, sizeof buf - n, ";account=%s", m->account);
	if (all && m->from_bot)
		n += (size_t)snprintf(buf + n, sizeof buf - n, ";bot");
	if (all && m->client_tags != NULL)
		n += (size_t)snprintf(buf + n, sizeof buf - n, ";%s", m->client_tags);
	if (n == 0 || n >= sizeof buf)
		return NULL;
	buf[0] = '@';
	return wire_printf("%s ", buf);
}

struct wire *
irc_tags_for(struct conn *c, struct msg *m)
{
	unsigned caps_on = irc_session(c)->caps;
	int all = (caps_on & CAP_MESSAGE_TAGS) != 0;
	int time = all || (caps_on & CAP_SERVER_TIME);
	int account = (caps_on & CAP_ACCOUNT_TAG) && m->account[0] != '\0';
	enum msg_tags t;
	if (account)
		t = all ? TAGS_ALL_ACCOUNT : time ? TAGS_TIME_ACCOUNT : TAGS_ACCOUNT;
	else if (time)
		t = all ? TAGS_ALL : TAGS_TIME;
	else
		return NULL;
	if (m->tags[t] == NULL)
		m->tags[t] = irc_tags_render(m, time, all, 1, account);
	return m->tags[t];
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
