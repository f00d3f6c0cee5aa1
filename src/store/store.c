/* The storage interface's one door (store_backend.h): store_open picks
 * the backend the database option names, and every other call of
 * store.h goes through the store's table. What is the same for every
 * backend is here too: the keys of private conversations, rooms and
 * results in memory. */
#include "store/store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct store_backend *
ops(const struct store *s)
{
	return ((const struct store_head *)(const void *)s)->ops;
}

int
store_database_is_pg(const char *database)
{
	return database != NULL && (strncasecmp(database, "postgresql://", 13) == 0 ||
	    strncasecmp(database, "postgres://", 11) == 0);
}

/* The backend o->database names; NULL (err written) when it names none. */
static const struct store_backend *
backend_of(const struct store_options *o, char *err, size_t errlen)
{
	if (o->database == NULL || o->database[0] == '\0')
		return &store_sqlite;
	if (store_database_is_pg(o->database))
		return &store_pg;
	snprintf(err, errlen, "database: not a postgresql://... URL (none: SQLite in data-dir)");
	return NULL;
}

struct store *
store_open(const struct store_options *o, char *err, size_t errlen)
{
	const struct store_backend *b = backend_of(o, err, errlen);
	return b != NULL ? b->open(o, err, errlen) : NULL;
}

struct store *
store_open_admin(const struct store_options *o, char *err, size_t errlen)
{
	const struct store_backend *b = backend_of(o, err, errlen);
	return b != NULL ? b->open_admin(o, err, errlen) : NULL;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		ops(s)->close(s);
}

const char *
store_backend_name(const struct store *s)
{
	return ops(s)->name;
}

int
store_append(struct store *s, const struct store_event *e)
{
	return ops(s)->append(s, e);
}

int
store_redact(struct store *s, const char *target, const char *msgid)
{
	return ops(s)->redact(s, target, msgid);
}

int
store_room_save(struct store *s, const struct store_room *r)
{
	if (r == NULL || r->name == NULL || r->founder == NULL)
		return -1;
	return ops(s)->room_save(s, r);
}

int
store_room_forget(struct store *s, const char *name, uint64_t version)
{
	if (name == NULL)
		return -1;
	return ops(s)->room_forget(s, name, version);
}

uint64_t
store_seal(struct store *s)
{
	return ops(s)->seal(s);
}

int
store_pending(const struct store *s)
{
	return ops(s)->pending(s);
}

int
store_fd(const struct store *s)
{
	return ops(s)->fd(s);
}

uint64_t
store_finished(struct store *s)
{
	return ops(s)->finished(s);
}

uint64_t
store_finished_peek(const struct store *s)
{
	return ops(s)->finished_peek(s);
}

size_t
store_unfinished(const struct store *s)
{
	return ops(s)->unfinished(s);
}

uint64_t
store_epoch_now(const struct store *s)
{
	return ops(s)->epoch_now(s);
}

void
store_wait_finished(struct store *s, uint64_t epoch, unsigned ms)
{
	ops(s)->wait_finished(s, epoch, ms);
}

void
store_stats(const struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof *out);
	ops(s)->stats(s, out);
}

void
store_query(struct store *s, const struct store_query *q, struct store_result *out)
{
	ops(s)->query(s, q, out);
}

enum store_status
store_account_create(struct store *s, const struct store_account *a)
{
	return ops(s)->account_create(s, a);
}

enum store_status
store_account_get(struct store *s, const char *name, struct store_account *out)
{
	return ops(s)->account_get(s, name, out);
}

enum store_status
store_account_set_password(struct store *s, const struct store_account *a)
{
	return ops(s)->account_set_password(s, a);
}

enum store_status
store_account_delete(struct store *s, const char *name)
{
	return ops(s)->account_delete(s, name);
}

enum store_status
store_account_names(struct store *s, char ***names, size_t *n)
{
	return ops(s)->account_names(s, names, n);
}

enum store_status
store_accounts_serial(struct store *s, int64_t *out)
{
	return ops(s)->accounts_serial(s, out);
}

enum store_status
store_cert_add(struct store *s, const char *name, const char *fp)
{
	return ops(s)->cert_add(s, name, fp);
}

enum store_status
store_cert_del(struct store *s, const char *name, const char *fp)
{
	return ops(s)->cert_del(s, name, fp);
}

enum store_status
store_cert_find(struct store *s, const char *fp, char name[ACCOUNT_LEN_MAX + 1])
{
	return ops(s)->cert_find(s, fp, name);
}

enum store_status
store_cert_list(struct store *s, const char *name,
    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n)
{
	return ops(s)->cert_list(s, name, fps, n);
}

enum store_status
store_marker_get(struct store *s, const char *account, const char *target, int64_t *at_ms)
{
	return ops(s)->marker_get(s, account, target, at_ms);
}

enum store_status
store_marker_set(struct store *s, const char *account, const char *target, int64_t at_ms,
    int64_t *now)
{
	return ops(s)->marker_set(s, account, target, at_ms, now);
}

enum store_status
store_rooms_load(struct store *s, struct store_room **rooms, size_t *n)
{
	return ops(s)->rooms_load(s, rooms, n);
}

/* ---- Results ---- */

void
store_event_free(struct store_event *e)
{
	free((char *)e->target);
}

void
store_result_free(struct store_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		store_event_free(&r->events[i]);
	free(r->events);
	r->events = NULL;
	r->n = 0;
}

void
store_names_free(char **names, size_t n)
{
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- Conversation keys ---- */

void
store_fold(char *out, const char *in, size_t cap)
{
	size_t i = 0;
	for (; in[i] != '\0' && i + 1 < cap; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
	out[i] = '\0';
}

void
store_pair_target(const char *a, const char *b, char out[STORE_TARGET_MAX + 1])
{
	char fa[ACCOUNT_LEN_MAX + 1], fb[ACCOUNT_LEN_MAX + 1];
	store_fold(fa, a, sizeof fa);
	store_fold(fb, b, sizeof fb);
	int swap = strcmp(fa, fb) > 0;
	snprintf(out, STORE_TARGET_MAX + 1, "@%s %s", swap ? fb : fa, swap ? fa : fb);
}

int
store_pair_accounts(const char *target, char a[ACCOUNT_LEN_MAX + 1], const char **b)
{
	const char *sp = strchr(target, ' ');
	if (sp == NULL)
		return -1;
	size_t n = (size_t)(sp - target - 1);
	if (n > ACCOUNT_LEN_MAX)
		return -1;
	memcpy(a, target + 1, n);
	a[n] = '\0';
	*b = sp + 1;
	return 0;
}

int
store_pair_peer(const char *target, const char *me, char out[ACCOUNT_LEN_MAX + 1])
{
	char fme[ACCOUNT_LEN_MAX + 1];
	store_fold(fme, me, sizeof fme);
	if (!STORE_TARGET_IS_PAIR(target))
		return -1;
	const char *sp = strchr(target, ' ');
	if (sp == NULL)
		return -1;
	size_t n = (size_t)(sp - target - 1);
	if (n > ACCOUNT_LEN_MAX || strlen(sp + 1) > ACCOUNT_LEN_MAX)
		return -1;
	if (strlen(fme) == n && memcmp(target + 1, fme, n) == 0) {
		snprintf(out, ACCOUNT_LEN_MAX + 1, "%s", sp + 1);
		return 0;
	}
	if (strcmp(sp + 1, fme) == 0) {
		memcpy(out, target + 1, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

void
store_half_target(const char *account, const char *nick, char out[STORE_TARGET_MAX + 1])
{
	char fa[ACCOUNT_LEN_MAX + 1], fn[NICK_LEN_MAX + 1];
	store_fold(fa, account, sizeof fa);
	store_fold(fn, nick, sizeof fn);
	snprintf(out, STORE_TARGET_MAX + 1, "@%s%c%s", fa, STORE_HALF_SEP, fn);
}

int
store_half_peer(const char *target, const char *me, char out[NICK_LEN_MAX + 1])
{
	char fme[ACCOUNT_LEN_MAX + 1];
	store_fold(fme, me, sizeof fme);
	size_t n = strlen(fme);
	if (!STORE_TARGET_IS_PAIR(target) || strncmp(target + 1, fme, n) != 0 ||
	    target[1 + n] != STORE_HALF_SEP || strlen(target + 2 + n) > NICK_LEN_MAX)
		return -1;
	snprintf(out, NICK_LEN_MAX + 1, "%s", target + 2 + n);
	return 0;
}

/* ---- Rooms, in memory ---- */

void
store_room_clear(struct store_room *r)
{
	free(r->name);
	free(r->founder);
	free(r->topic);
	free(r->topic_by);
	free(r->modes);
	free(r->password);
	for (size_t i = 0; i < r->nmasks; i++) {
		free(r->masks[i].mask);
		free(r->masks[i].by);
	}
	free(r->masks);
	for (size_t i = 0; i < r->nops; i++)
		free(r->ops[i]);
	free(r->ops);
	memset(r, 0, sizeof *r);
}

void
store_rooms_free(struct store_room *rooms, size_t n)
{
	for (size_t i = 0; rooms != NULL && i < n; i++)
		store_room_clear(&rooms[i]);
	free(rooms);
}

char *
store_dup(const char *s, int *failed)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		*failed = 1;
	return d;
}

int
store_room_copy(struct store_room *out, const struct store_room *r)
{
	int failed = 0;
	memset(out, 0, sizeof *out);
	out->name = store_dup(r->name, &failed);
	out->founder = store_dup(r->founder, &failed);
	out->topic = store_dup(r->topic, &failed);
	out->topic_by = store_dup(r->topic_by, &failed);
	out->modes = store_dup(r->modes, &failed);
	out->password = store_dup(r->password, &failed);
	out->topic_at = r->topic_at;
	out->created = r->created;
	out->limit = r->limit;
	out->version = r->version;
	if (r->nmasks > 0 && (out->masks = calloc(r->nmasks, sizeof *out->masks)) == NULL)
		failed = 1;
	for (size_t i = 0; out->masks != NULL && i < r->nmasks; i++, out->nmasks++) {
		out->masks[i].letter = r->masks[i].letter;
		out->masks[i].at = r->masks[i].at;
		out->masks[i].mask = store_dup(r->masks[i].mask, &failed);
		out->masks[i].by = store_dup(r->masks[i].by, &failed);
	}
	if (r->nops > 0 && (out->ops = calloc(r->nops, sizeof *out->ops)) == NULL)
		failed = 1;
	for (size_t i = 0; out->ops != NULL && i < r->nops; i++, out->nops++)
		out->ops[i] = store_dup(r->ops[i], &failed);
	if (failed) {
		store_room_clear(out);
		return -1;
	}
	return 0;
}
