/* The cluster's event codec (codec.h).
 *
 * The format, version 1. Numbers are unsigned LEB128 varints in their
 * shortest form (a longer one is refused, so every event has one
 * encoding); node is two bytes, big-endian.
 *
 *   version (1 byte: 1)   length (varint: the bytes that follow it)
 *   kind (1 byte: enum msg_kind)   node (2 bytes)
 *   node_seq   seq   at_ms (varints)   flags (1 byte, FLAG_*)
 *   fields: (tag (1 byte), length (varint), that many bytes)...
 *
 * The length makes an event cut short anywhere (or with bytes after it)
 * garbage, where without it a cut between fields would read as an event
 * that lacks the rest.
 * Fields come in increasing tag order, each at most once; an absent one is
 * NULL (or "", or 0). A text is its bytes without the NUL. Which fields a
 * kind has, and what each may hold, is one table (kinds[]) and one
 * function (field_ok) that encoding and decoding both go through: the
 * rules are the hub's own for a local client's input (chat/names.h,
 * base/text.h, chat/msgid.h), each field no longer than its bound in
 * base/limits.h or chat/bounds.h. A field a future version adds needs a
 * new version: a version-1 node refuses a tag it does not know. A kind
 * added keeps the version (a node that does not know it refuses those
 * events alone): MSG_REGISTER and MSG_UNREGISTER came after the others. */
#include "cluster/codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "chat/hub.h"
#include "chat/msgid.h"
#include "chat/names.h"

enum {
	FLAG_BOT = 1,        /* msg->from_bot */
	FLAG_MULTILINE = 2,  /* msg->multiline: must agree with the text */
	FLAG_ONE_LINE = 4,   /* msg->one_line */
	FLAG_SECURE = 8,     /* MSG_CONNECT: user.secure */
	FLAGS_ALL = 15,
};

/* The fields, in the order they are written. */
enum field {
	F_FROM = 1, F_IDENT, F_HOST, F_ROOM, F_TARGET, F_TEXT, F_ID, F_REF, F_ACCOUNT,
	F_TAGS, F_AWAY, F_ADDR, F_SIGNON, F_UMODES, F_MEMBER,
	F_COUNT
};

/* What a text field holds, by kind: a rule and its bound. */
enum rule {
	R_NO,         /* never there */
	R_NICK,       /* a nickname (name_nick_valid) */
	R_NEWNICK,    /* a nickname a user may take: not a service's */
	R_IDENT,      /* a user name as the IRC door makes it */
	R_HOST,       /* a host (name_host_valid) */
	R_ROOM,       /* a room name (name_room_valid) */
	R_MESSAGE,    /* what is said: lines as msg.h has them */
	R_REASON,     /* one line, HUB_REASON_MAX */
	R_TOPIC,      /* one line, HUB_TOPIC_MAX */
	R_REALNAME,   /* one line, USER_REALNAME_MAX */
	R_AWAY,       /* one line, HUB_AWAY_MAX */
	R_MODE,       /* a room's mode change, HUB_MODE_TEXT_MAX */
	R_UMODE,      /* a user's mode change: "+iB", "-o" */
	R_MSGID,      /* a msgid (msgid_read) */
	R_ACCOUNT,    /* an account: a nickname */
	R_TAGS,       /* client-only tags, escaped, CLUSTER_TAGS_MAX */
};

/* Which fields a kind has: room, target and text each no (R_NO), or may
 * (a rule), or must (req). either: exactly one of room and target. */
struct kind_spec {
	enum rule room, target, text;
	uint8_t req_room, req_target, req_text, either;
	uint8_t ref;      /* a msgid is taken back: ref must be there */
	uint8_t tags;     /* client-only tags may be there */
	uint8_t user;     /* MSG_CONNECT: the user's fields may be there */
	uint8_t member;   /* MSG_JOIN: the joiner's member modes may be there */
	uint8_t req_account; /* the account must be there (a founder's) */
};

/* Messages go to a room or a user, and carry tags. */
#define SPOKEN(text_rule, text_req) \
	{ .room = R_ROOM, .target = R_NICK, .text = text_rule, .req_text = text_req, \
	  .either = 1, .tags = 1 }

static const struct kind_spec kinds[] = {
	[MSG_SAY] = SPOKEN(R_MESSAGE, 1),
	[MSG_ACTION] = SPOKEN(R_MESSAGE, 1),
	[MSG_PRIVATE] = { .target = R_NICK, .req_target = 1, .text = R_MESSAGE, .req_text = 1,
	    .tags = 1 },
	[MSG_JOIN] = { .room = R_ROOM, .req_room = 1, .text = R_REALNAME, .member = 1 },
	[MSG_PART] = { .room = R_ROOM, .req_room = 1, .text = R_REASON },
	[MSG_QUIT] = { .text = R_REASON },
	[MSG_NICK] = { .target = R_NEWNICK, .req_target = 1 },
	[MSG_TOPIC] = { .room = R_ROOM, .req_room = 1, .text = R_TOPIC },
	[MSG_NOTICE] = SPOKEN(R_MESSAGE, 1),
	[MSG_KICK] = { .room = R_ROOM, .req_room = 1, .target = R_NICK, .req_target = 1,
	    .text = R_REASON },
	[MSG_MODE] = { .room = R_ROOM, .req_room = 1, .text = R_MODE, .req_text = 1 },
	[MSG_INVITE] = { .room = R_ROOM, .req_room = 1, .target = R_NICK, .req_target = 1 },
	[MSG_AWAY] = { .room = R_ROOM, .text = R_AWAY },
	[MSG_SETNAME] = { .text = R_REALNAME, .req_text = 1 },
	[MSG_TAGMSG] = SPOKEN(R_MESSAGE, 0),
	[MSG_CHGHOST] = { .target = R_IDENT, .req_target = 1, .text = R_HOST, .req_text = 1 },
	[MSG_REDACT] = { .room = R_ROOM, .target = R_NICK, .either = 1, .text = R_REASON,
	    .ref = 1 },
	[MSG_CONNECT] = { .text = R_REALNAME, .user = 1 },
	[MSG_UMODE] = { .text = R_UMODE, .req_text = 1 },
	[MSG_ACCOUNT] = { 0 },
	/* A room registered to from's account, and dropped (by its founder
	 * or a server operator: no account needed). */
	[MSG_REGISTER] = { .room = R_ROOM, .req_room = 1, .req_account = 1 },
	[MSG_UNREGISTER] = { .room = R_ROOM, .req_room = 1 },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* A multiline message (IRCv3 draft/multiline) comes from the IRC door
 * only, within its max-bytes and max-lines (doors/irc/irc.h: 4096 bytes,
 * newlines counted, the marks of continued lines not; 32 lines). */
#define MULTILINE_BYTES_MAX (4096 + 32)
#define MULTILINE_LINES_MAX 32

/* The most bytes a field may hold, before its rule looks at it. */
static size_t
field_max(enum field f)
{
	switch (f) {
	case F_TEXT:
		return CLUSTER_TEXT_MAX;
	case F_TAGS:
		return CLUSTER_TAGS_MAX;
	case F_AWAY:
		return HUB_AWAY_MAX;
	case F_SIGNON:
		return 10;   /* a varint */
	case F_UMODES:
	case F_MEMBER:
		return 1;
	default:
		return USER_HOST_MAX;   /* the longest name: nick, ident, room, host, id */
	}
}

/* Text rules. */

/* What a user says: one line, or (IRC's multiline) lines with '\n'
 * between them and '\r' before one that continues the one before (never
 * the first, never an empty one), as msg.h has it. */
static int
message_ok(const char *s, size_t n)
{
	if (strpbrk(s, "\n\r") == NULL)
		return text_is_line(s, n, CLUSTER_TEXT_MAX);
	if (n > MULTILINE_BYTES_MAX)
		return 0;
	size_t lines = 0;
	for (const char *at = s, *end = s + n; at <= end; lines++) {
		const char *stop = at;
		while (stop < end && *stop != '\n' && *stop != '\r')
			stop++;
		if (!text_is_clean(at, (size_t)(stop - at)))
			return 0;
		if (stop < end && stop[0] == '\r' && (stop + 1 == end || stop[1] == '\n' ||
		    stop[1] == '\r'))
			return 0;   /* a continued line that is empty */
		at = stop + 1;
	}
	return s[0] != '\r' && lines <= MULTILINE_LINES_MAX;
}

/* A user name as the IRC door makes it from USER (irc_register.c): no
 * space, control, '@' or '!', valid UTF-8, USER_IDENT_MAX. */
static int
ident_ok(const char *s, size_t n)
{
	if (n == 0 || n > USER_IDENT_MAX || !text_is_clean(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '@' || s[i] == '!')
			return 0;
	return 1;
}

/* A room's mode change as hub_modes.c tells it: "+o-v bob carol". */
static int
mode_ok(const char *s, size_t n)
{
	return n >= 2 && (s[0] == '+' || s[0] == '-') && text_is_line(s, n, HUB_MODE_TEXT_MAX);
}

/* A user's mode change as hub_umode_text writes it: a sign and the
 * letters of modes the hub knows. */
static int
umode_ok(const char *s, size_t n)
{
	if (n < 2 || n >= HUB_UMODE_TEXT_MAX || (s[0] != '+' && s[0] != '-'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (hub_umode_bit(s[i]) == 0)
			return 0;
	return 1;
}

/* Client-only tags as irc_client_tags writes them: "+key=value;+key",
 * each key after its '+' without '=', ';', space or control, each value
 * escaped (doors/irc/irc_parse.c: "\\:", "\\s", "\\\\", "\\r", "\\n")
 * and not empty. */
static int
tags_ok(const char *s, size_t n)
{
	if (n == 0 || n > CLUSTER_TAGS_MAX || !text_is_clean(s, n))
		return 0;
	size_t i = 0;
	for (;;) {
		if (s[i] != '+')
			return 0;
		size_t key = ++i;
		while (i < n && s[i] != '=' && s[i] != ';') {
			if ((unsigned char)s[i] <= ' ')
				return 0;
			i++;
		}
		if (i == key)
			return 0;
		if (i < n && s[i] == '=') {
			size_t value = ++i;
			while (i < n && s[i] != ';') {
				unsigned char c = (unsigned char)s[i];
				if (c == ' ' || c == '\n')
					return 0;
				if (c == '\\' && (i + 1 == n || strchr(":s\\rn", s[i + 1]) == NULL ||
				    s[i + 1] == '\0'))
					return 0;
				i += c == '\\' ? 2 : 1;
			}
			if (i == value)
				return 0;
		}
		if (i == n)
			return 1;
		i++;   /* the ';' */
		if (i == n)
			return 0;
	}
}

/* s (n bytes, NUL-terminated) as rule says. */
static int
rule_ok(enum rule rule, const char *s, size_t n)
{
	if (memchr(s, '\0', n) != NULL)
		return 0;
	switch (rule) {
	case R_NO:
		return 0;
	case R_NICK:
		return name_nick_valid(s, NICK_LEN_MAX);
	case R_NEWNICK:
		return name_nick_valid(s, NICK_LEN_MAX) && !name_nick_reserved(s);
	case R_IDENT:
		return ident_ok(s, n);
	case R_HOST:
		return name_host_valid(s, USER_HOST_MAX);
	case R_ROOM:
		return name_room_valid(s, ROOM_LEN_MAX);
	case R_MESSAGE:
		return message_ok(s, n);
	case R_REASON:
		return text_is_line(s, n, HUB_REASON_MAX);
	case R_TOPIC:
		return text_is_line(s, n, HUB_TOPIC_MAX);
	case R_REALNAME:
		return text_is_line(s, n, USER_REALNAME_MAX);
	case R_AWAY:
		return text_is_line(s, n, HUB_AWAY_MAX);
	case R_MODE:
		return mode_ok(s, n);
	case R_UMODE:
		return umode_ok(s, n);
	case R_MSGID:
		return n == MSGID_LEN && msgid_read(s, NULL, NULL, NULL) == 0;
	case R_ACCOUNT:
		return n <= ACCOUNT_LEN_MAX && name_nick_valid(s, ACCOUNT_LEN_MAX);
	case R_TAGS:
		return tags_ok(s, n);
	}
	return 0;
}

/* An event's fields as NUL-terminated texts (NULL: absent) and numbers
 * (0: absent): what encoding reads out of a cluster_event and decoding
 * reads off the bytes, checked by one function. */
struct view {
	enum msg_kind kind;
	const char *s[F_COUNT];
	size_t len[F_COUNT];
	uint64_t signon;
	uint8_t umodes, member, flags;
	uint64_t at_ms;
};

/* The rule of field f for kind k, and whether it must be there. */
static enum rule
field_rule(const struct kind_spec *k, enum field f, int *required)
{
	*required = 0;
	switch (f) {
	case F_FROM:
		*required = 1;
		return R_NICK;
	case F_IDENT:
		return R_IDENT;
	case F_HOST:
		return R_HOST;
	case F_ROOM:
		*required = k->req_room;
		return k->room;
	case F_TARGET:
		*required = k->req_target;
		return k->target;
	case F_TEXT:
		*required = k->req_text;
		return k->text;
	case F_ID:
		return R_MSGID;
	case F_REF:
		*required = k->ref;
		return k->ref ? R_MSGID : R_NO;
	case F_ACCOUNT:
		*required = k->req_account;
		return R_ACCOUNT;
	case F_TAGS:
		return k->tags ? R_TAGS : R_NO;
	case F_AWAY:
		return k->user ? R_AWAY : R_NO;
	case F_ADDR:
		return k->user ? R_HOST : R_NO;
	default:
		return R_NO;   /* numbers: view_ok looks at them */
	}
}

/* 0 when v is an event a local client could have made, else -1. */
static int
view_ok(const struct view *v)
{
	if ((unsigned)v->kind >= NKINDS)
		return -1;
	const struct kind_spec *k = &kinds[v->kind];
	for (enum field f = F_FROM; f <= F_ADDR; f++) {
		int required;
		enum rule rule = field_rule(k, f, &required);
		if (v->s[f] == NULL ? required : !rule_ok(rule, v->s[f], v->len[f]))
			return -1;
	}
	if (k->either && (v->s[F_ROOM] == NULL) == (v->s[F_TARGET] == NULL))
		return -1;
	/* msgids hold 48 bits of milliseconds: nothing later is a time. */
	if (v->at_ms >> 48 != 0 || v->signon >> 38 != 0)
		return -1;
	if (!k->user && (v->signon != 0 || v->umodes != 0 || (v->flags & FLAG_SECURE)))
		return -1;
	if (v->umodes & ~(UMODE_INVISIBLE | UMODE_OPER | UMODE_BOT))
		return -1;
	if ((!k->member && v->member != 0) || (v->member & ~(MEMBER_OP | MEMBER_VOICE)))
		return -1;
	if (v->flags & ~FLAGS_ALL)
		return -1;
	int multiline = v->s[F_TEXT] != NULL && strpbrk(v->s[F_TEXT], "\n\r") != NULL;
	if (multiline != ((v->flags & FLAG_MULTILINE) != 0))
		return -1;
	return 0;
}

/* Encoding. */

static void
put(struct view *v, enum field f, const char *s)
{
	if (s != NULL) {
		v->s[f] = s;
		v->len[f] = strlen(s);
	}
}

/* A fixed array's text: "" is absent. */
static void
put_array(struct view *v, enum field f, const char *s, size_t cap)
{
	if (s[0] != '\0' && memchr(s, '\0', cap) != NULL)
		put(v, f, s);
	else if (s[0] != '\0')
		put(v, f, "\n");   /* unterminated: no rule takes it */
}

static size_t
varint_put(uint8_t *out, uint64_t x)
{
	size_t n = 0;
	while (x >= 0x80) {
		out[n++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	out[n++] = (uint8_t)x;
	return n;
}

static int
append_varint(struct buf *out, uint64_t x)
{
	uint8_t b[10];
	return buf_append(out, b, varint_put(b, x));
}

static int
append_field(struct buf *out, enum field f, const void *p, size_t n)
{
	uint8_t head[11];
	head[0] = (uint8_t)f;
	size_t h = 1 + varint_put(head + 1, n);
	return buf_append(out, head, h) < 0 || buf_append(out, p, n) < 0 ? -1 : 0;
}

static int
append_number(struct buf *out, enum field f, uint64_t x)
{
	if (x == 0)
		return 0;
	uint8_t b[10];
	return append_field(out, f, b, varint_put(b, x));
}

int
cluster_encode(const struct cluster_event *ev, struct buf *out)
{
	const struct msg *m = ev->msg;
	if (m == NULL || m->at_ms < 0 || m->multiline > 1 || m->from_bot > 1 ||
	    m->one_line > 1 || ev->user.secure > 1 || ev->user.signon < 0)
		return -1;
	struct view v = { .kind = m->kind, .at_ms = (uint64_t)m->at_ms,
	    .signon = (uint64_t)ev->user.signon, .umodes = ev->user.umodes,
	    .member = ev->member_modes };
	v.flags = (uint8_t)((m->from_bot ? FLAG_BOT : 0) | (m->multiline ? FLAG_MULTILINE : 0) |
	    (m->one_line ? FLAG_ONE_LINE : 0) | (ev->user.secure ? FLAG_SECURE : 0));
	put(&v, F_FROM, m->from);
	put(&v, F_IDENT, m->ident);
	put(&v, F_HOST, m->host);
	put(&v, F_ROOM, m->room);
	put(&v, F_TARGET, m->target);
	put(&v, F_TEXT, m->text);
	put_array(&v, F_ID, m->id, sizeof m->id);
	put_array(&v, F_REF, m->ref, sizeof m->ref);
	put_array(&v, F_ACCOUNT, m->account, sizeof m->account);
	put(&v, F_TAGS, m->client_tags);
	put_array(&v, F_AWAY, ev->user.away, sizeof ev->user.away);
	put_array(&v, F_ADDR, ev->user.addr, sizeof ev->user.addr);
	if (view_ok(&v) < 0)
		return -1;

	/* The body goes after room for the longest length; once its length
	 * is known, it moves back to the length's end. */
	size_t was = out->len;
	uint8_t room[1 + 10] = { CLUSTER_CODEC_VERSION };
	uint8_t head[3] = { (uint8_t)m->kind, (uint8_t)(ev->node >> 8), (uint8_t)ev->node };
	int bad = buf_append(out, room, sizeof room) < 0 ||
	    buf_append(out, head, sizeof head) < 0 ||
	    append_varint(out, ev->node_seq) < 0 || append_varint(out, ev->seq) < 0 ||
	    append_varint(out, v.at_ms) < 0 || buf_append(out, &v.flags, 1) < 0;
	for (enum field f = F_FROM; f <= F_ADDR && !bad; f++)
		if (v.s[f] != NULL)
			bad = append_field(out, f, v.s[f], v.len[f]) < 0;
	bad = bad || append_number(out, F_SIGNON, v.signon) < 0 ||
	    append_number(out, F_UMODES, v.umodes) < 0 ||
	    append_number(out, F_MEMBER, v.member) < 0;
	size_t body = out->len - was - sizeof room;
	size_t h = 1 + varint_put(room + 1, body);
	if (bad || h + body > CLUSTER_EVENT_MAX) {
		out->len = was;
		return -1;
	}
	memcpy(out->data + was, room, h);
	memmove(out->data + was + h, out->data + was + sizeof room, body);
	out->len = was + h + body;
	return 0;
}

/* Decoding. */

struct reader {
	const uint8_t *p, *end;
};

static int
read_byte(struct reader *r, uint8_t *b)
{
	if (r->p == r->end)
		return -1;
	*b = *r->p++;
	return 0;
}

/* A varint in its shortest form, of at most 64 bits. */
static int
read_varint(struct reader *r, uint64_t *x)
{
	*x = 0;
	for (unsigned shift = 0;; shift += 7) {
		uint8_t b;
		if (shift > 63 || read_byte(r, &b) < 0)
			return -1;
		if (shift == 63 && b > 1)
			return -1;
		*x |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return b == 0 && shift > 0 ? -1 : 0;
	}
}

/* A number field: one varint that fills it, not 0, at most max. */
static int
number_of(const uint8_t *p, size_t n, uint64_t max, uint64_t *x)
{
	struct reader r = { p, p + n };
	return read_varint(&r, x) < 0 || r.p != r.end || *x == 0 || *x > max ? -1 : 0;
}

/* The fields of r into v, their texts copied NUL-terminated to scratch
 * (which holds the rest of r and a NUL for each field). */
static int
read_fields(struct reader *r, struct view *v, char *scratch)
{
	unsigned last = 0;
	while (r->p < r->end) {
		uint8_t tag;
		uint64_t len;
		if (read_byte(r, &tag) < 0 || tag <= last || tag >= F_COUNT ||
		    read_varint(r, &len) < 0 || len > field_max(tag) ||
		    len > (uint64_t)(r->end - r->p))
			return -1;
		last = tag;
		const uint8_t *p = r->p;
		r->p += len;
		uint64_t x;
		switch (tag) {
		case F_SIGNON:
			if (number_of(p, len, UINT64_MAX, &v->signon) < 0)
				return -1;
			continue;
		case F_UMODES:
		case F_MEMBER:
			if (number_of(p, len, 0x7F, &x) < 0)
				return -1;
			*(tag == F_UMODES ? &v->umodes : &v->member) = (uint8_t)x;
			continue;
		default:
			break;
		}
		/* A fixed array's field is absent when empty, never there
		 * empty: one encoding for each event. */
		if (len == 0 && (tag == F_ID || tag == F_REF || tag == F_ACCOUNT ||
		    tag == F_AWAY || tag == F_ADDR))
			return -1;
		memcpy(scratch, p, len);
		scratch[len] = '\0';
		v->s[tag] = scratch;
		v->len[tag] = len;
		scratch += len + 1;
	}
	return 0;
}

/* s into a fixed array of cap bytes (its rule bounded it). */
static void
take(char *dst, size_t cap, const char *s)
{
	if (s != NULL && strlen(s) < cap)
		memcpy(dst, s, strlen(s) + 1);
}

int
cluster_decode(const void *p, size_t n, struct cluster_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (n < 4 || n > CLUSTER_EVENT_MAX)
		return -1;
	struct reader r = { p, (const uint8_t *)p + n };
	struct view v = { 0 };
	uint8_t version, kind, hi, lo;
	uint64_t body;
	if (read_byte(&r, &version) < 0 || version != CLUSTER_CODEC_VERSION ||
	    read_varint(&r, &body) < 0 || body != (uint64_t)(r.end - r.p) ||
	    read_byte(&r, &kind) < 0 || kind >= NKINDS ||
	    read_byte(&r, &hi) < 0 || read_byte(&r, &lo) < 0 ||
	    read_varint(&r, &ev->node_seq) < 0 || read_varint(&r, &ev->seq) < 0 ||
	    read_varint(&r, &v.at_ms) < 0 || read_byte(&r, &v.flags) < 0)
		goto garbage;
	v.kind = (enum msg_kind)kind;
	ev->node = (uint16_t)(hi << 8 | lo);
	/* Each field's text and its NUL: at most the bytes left and one a
	 * field. */
	char *scratch = malloc((size_t)(r.end - r.p) + F_COUNT);
	if (scratch == NULL)
		goto garbage;
	if (read_fields(&r, &v, scratch) < 0 || view_ok(&v) < 0) {
		free(scratch);
		goto garbage;
	}
	struct msg *m = msg_new(v.kind, v.s[F_FROM], v.s[F_IDENT], v.s[F_HOST], v.s[F_ROOM],
	    v.s[F_TARGET], v.s[F_TEXT]);
	if (m == NULL || (v.s[F_TAGS] != NULL &&
	    (m->client_tags = strdup(v.s[F_TAGS])) == NULL)) {
		msg_unref(m);
		free(scratch);
		goto garbage;
	}
	take(m->id, sizeof m->id, v.s[F_ID]);
	take(m->ref, sizeof m->ref, v.s[F_REF]);
	take(m->account, sizeof m->account, v.s[F_ACCOUNT]);
	take(ev->user.away, sizeof ev->user.away, v.s[F_AWAY]);
	take(ev->user.addr, sizeof ev->user.addr, v.s[F_ADDR]);
	free(scratch);
	m->at_ms = (int64_t)v.at_ms;
	m->from_bot = (v.flags & FLAG_BOT) != 0;
	m->one_line = (v.flags & FLAG_ONE_LINE) != 0;
	ev->user.secure = (v.flags & FLAG_SECURE) != 0;
	ev->user.signon = (int64_t)v.signon;
	ev->user.umodes = v.umodes;
	ev->member_modes = v.member;
	ev->msg = m;
	return 0;
garbage:
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

int
cluster_frame_read(const char **p, size_t *n, uint64_t *seq, uint8_t *modes)
{
	if (*n == 0 || **p != 'S')
		return 0;   /* an event's first byte is its version, never 'S' */
	uint64_t v[2] = { 0, 0 };
	size_t i = 1;
	for (int k = 0; k < 2; k++) {
		size_t digits = 0;
		for (; i < *n && (*p)[i] >= '0' && (*p)[i] <= '9'; i++, digits++) {
			if (digits == 18)
				return -1;   /* more than a sequence ever needs */
			v[k] = v[k] * 10 + (uint64_t)((*p)[i] - '0');
		}
		if (digits == 0 || i >= *n || (*p)[i] != ' ')
			return -1;
		i++;
	}
	if (v[1] > (MEMBER_OP | MEMBER_VOICE))
		return -1;
	*seq = v[0];
	*modes = (uint8_t)v[1];
	*p += i;
	*n -= i;
	return 1;
}
