/* The SQLite backend: one database file in the data-dir, in WAL mode so
 * readers never wait for the writer nor it for them. synchronous=NORMAL:
 * a commit is in the WAL, in the OS's page cache, when COMMIT returns,
 * so it survives kill -9 of parleyd; a power loss may take the last
 * commits (docs/storage.md). This file opens and closes the store,
 * reports its counters, and makes backups; the writer thread, the
 * queries and the schema have files of their own. */
#include "store/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"

/* What a server that cannot use its data-dir may do instead. */
#define DIR_HINT " (--data-dir DIR names another, --history off keeps none)"

/* The data-dir: made 0700 when missing (its parent must exist), and
 * writable; then its lock, held for the store's life. */
static int
store_dir_lock(struct store *s, char *err, size_t errlen)
{
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "data-dir %s cannot be created: %s" DIR_HINT, s->dir,
		    strerror(errno));
		return -1;
	}
	char path[STORE_PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", s->dir, STORE_LOCK_NAME) >= sizeof path) {
		snprintf(err, errlen, "data-dir %s: the path is too long", s->dir);
		return -1;
	}
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		if (errno == ENOTDIR)
			snprintf(err, errlen, "data-dir %s is not a directory" DIR_HINT, s->dir);
		else
			snprintf(err, errlen, "data-dir %s is not writable: %s" DIR_HINT, s->dir,
			    strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "the database in %s is locked by another parleyd", s->dir);
		else
			snprintf(err, errlen, "data-dir %s: cannot lock %s: %s", s->dir, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* WAL, a quick check for corruption, and the schema brought up to date,
 * on the writer's connection before its thread starts. */
static int
store_db_prepare(struct store *s, char *err, size_t errlen)
{
	s->wdb = store_db_open(s->db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
	if (s->wdb == NULL)
		return -1;
	char *msg = NULL;
	if (sqlite3_exec(s->wdb, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
	        NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", s->db_path, msg != NULL ? msg : "failed");
		sqlite3_free(msg);
		return -1;
	}
	sqlite3_stmt *st = NULL;
	int ok = 0;
	if (sqlite3_prepare_v2(s->wdb, "PRAGMA quick_check(1)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		ok = r != NULL && strcmp(r, "ok") == 0;
		if (!ok)
			snprintf(err, errlen, "database %s is corrupt: %s", s->db_path,
			    r != NULL ? r : "?");
	} else {
		snprintf(err, errlen, "database %s is corrupt: %s", s->db_path,
		    sqlite3_errmsg(s->wdb));
	}
	sqlite3_finalize(st);
	if (!ok)
		return -1;
	return store_schema_migrate(s->wdb, err, errlen);
}

static void
store_free(struct store *s)
{
	store_readers_free(s);
	store_rw_free(s);
	store_checkpointer_stop(s);
	store_writer_close(s);
	store_pending_free(s);
	epochs_destroy(&s->q);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_cond_destroy(&s->rwfree);
	pthread_cond_destroy(&s->rfree);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->fts_cond);
	pthread_cond_destroy(&s->ck_wake);
	pthread_mutex_destroy(&s->ck_lock);
	free(s);
}

/* What both kinds of store start with: the paths, the locks. NULL (err
 * written) when out of memory or the path is too long. */
static struct store *
store_new(const struct store_options *o, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->head.ops = &store_sqlite;
	s->lock_fd = -1;
	s->opt = *o;
	s->opt.database = NULL;
	s->opt.dir = s->dir;
	if (s->opt.readers == 0)
		s->opt.readers = 1;
	int q_failed = epochs_init(&s->q, err, errlen);
	pthread_cond_init(&s->idle, NULL);
	clock_cond_init(&s->fts_cond);
	pthread_mutex_init(&s->ck_lock, NULL);
	pthread_cond_init(&s->ck_wake, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->rfree, NULL);
	pthread_cond_init(&s->rwfree, NULL);
	if (q_failed) {
		store_free(s);
		return NULL;
	}
	const char *dir = o->dir != NULL ? o->dir : ".";
	if ((size_t)snprintf(s->dir, sizeof s->dir, "%s", dir) >= sizeof s->dir ||
	    (size_t)snprintf(s->db_path, sizeof s->db_path, "%s/%s", dir, STORE_DB_NAME) >=
	        sizeof s->db_path) {
		snprintf(err, errlen, "data-dir %s: the path is too long", dir);
		store_free(s);
		return NULL;
	}
	if (store_rw_init(s, s->opt.readers) != 0) {
		snprintf(err, errlen, "out of memory");
		store_free(s);
		return NULL;
	}
	return s;
}

struct store *
sqlite_open(const struct store_options *o, char *err, size_t errlen)
{
	struct store *s = store_new(o, err, errlen);
	if (s == NULL)
		return NULL;
	if (store_dir_lock(s, err, errlen) != 0 || store_db_prepare(s, err, errlen) != 0) {
		store_free(s);
		return NULL;
	}
	if (store_readers_init(s) != 0) {
		snprintf(err, errlen, "store: %s", strerror(errno));
		store_free(s);
		return NULL;
	}
	if (store_checkpointer_start(s, err, errlen) != 0 ||
	    store_writer_start(s, err, errlen) != 0) {
		store_free(s);
		return NULL;
	}
	return s;
}

struct store *
sqlite_open_admin(const struct store_options *opt, char *err, size_t errlen)
{
	struct store_options o = { .dir = opt->dir, .readers = 1 };
	struct store *s = store_new(&o, err, errlen);
	if (s == NULL)
		return NULL;
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "data-dir %s cannot be created: %s", s->dir, strerror(errno));
		store_free(s);
		return NULL;
	}
	/* The schema brought up to date as the server would; then the
	 * writer's connection is not needed. */
	if (store_db_prepare(s, err, errlen) != 0) {
		store_free(s);
		return NULL;
	}
	store_writer_close(s);
	return s;
}

void
sqlite_close(struct store *s)
{
	sqlite_seal(s);
	store_writer_stop(s);
	store_checkpointer_stop(s);
	store_free(s);
}

int
sqlite_fd(const struct store *s)
{
	return s->q.efd;
}

void
sqlite_stats(const struct store *s, struct store_stats *out)
{
	/* The lock is the store's, not part of what const promises. */
	epochs_stats(&((struct store *)s)->q, out);
}

int
store_backup(const char *dir, const char *path, char *err, size_t errlen)
{
	char src_path[STORE_PATH_MAX];
	if ((size_t)snprintf(src_path, sizeof src_path, "%s/%s", dir, STORE_DB_NAME) >=
	    sizeof src_path) {
		snprintf(err, errlen, "data-dir %s: the path is too long", dir);
		return -1;
	}
	/* Read-only, and never creating: a backup of a data-dir that holds
	 * no database is an error, not an empty copy. */
	if (access(src_path, F_OK) != 0) {
		snprintf(err, errlen, "no database in data-dir %s (%s): give the server's"
		    " --data-dir, or its --config", dir, strerror(errno));
		return -1;
	}
	/* Not onto the database itself, nor its log: the copy's write would
	 * put back an older moment over what the server commits meanwhile. */
	static const char *const own[] = { "", "-wal", "-shm", "-journal" };
	struct stat to;
	int exists = stat(path, &to) == 0;
	for (size_t i = 0; exists && i < sizeof own / sizeof *own; i++) {
		char file[STORE_PATH_MAX + 16];
		struct stat st;
		snprintf(file, sizeof file, "%s%s", src_path, own[i]);
		if (stat(file, &st) == 0 && st.st_dev == to.st_dev && st.st_ino == to.st_ino) {
			snprintf(err, errlen, "%s is the data-dir's own %s: name another file", path,
			    i == 0 ? "database" : own[i] + 1);
			return -1;
		}
	}
	sqlite3 *src = store_db_open(src_path, SQLITE_OPEN_READONLY, err, errlen);
	if (src == NULL)
		return -1;
	sqlite3 *dst = store_db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
	if (dst == NULL) {
		sqlite3_close(src);
		return -1;
	}
	int rc;
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		rc = sqlite3_errcode(dst);
		snprintf(err, errlen, "backup to %s: %s", path, sqlite3_errmsg(dst));
	} else {
		/* One step of every page: one read transaction, so the copy is
		 * of one moment, whatever the writer commits meanwhile. */
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		else
			snprintf(err, errlen, "backup of %s to %s: %s", src_path, path,
			    sqlite3_errstr(rc));
	}
	sqlite3_close(src);
	if (sqlite3_close(dst) != SQLITE_OK && rc == SQLITE_OK) {
		snprintf(err, errlen, "backup to %s: cannot close it", path);
		rc = SQLITE_ERROR;
	}
	return rc == SQLITE_OK ? 0 : -1;
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.open_admin = sqlite_open_admin,
	.close = sqlite_close,
	.append = sqlite_append,
	.redact = sqlite_redact,
	.room_save = sqlite_room_save,
	.room_forget = sqlite_room_forget,
	.seal = sqlite_seal,
	.pending = sqlite_pending,
	.fd = sqlite_fd,
	.finished = sqlite_finished,
	.finished_peek = sqlite_finished_peek,
	.unfinished = sqlite_unfinished,
	.epoch_now = sqlite_epoch_now,
	.wait_finished = sqlite_wait_finished,
	.stats = sqlite_stats,
	.query = sqlite_query,
	.account_create = sqlite_account_create,
	.account_get = sqlite_account_get,
	.account_set_password = sqlite_account_set_password,
	.account_delete = sqlite_account_delete,
	.account_names = sqlite_account_names,
	.accounts_serial = sqlite_accounts_serial,
	.cert_add = sqlite_cert_add,
	.cert_del = sqlite_cert_del,
	.cert_find = sqlite_cert_find,
	.cert_list = sqlite_cert_list,
	.marker_get = sqlite_marker_get,
	.marker_set = sqlite_marker_set,
	.rooms_load = sqlite_rooms_load,
};
