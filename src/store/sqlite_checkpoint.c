/* The WAL's checkpoints, off the writer's commits. SQLite's automatic
 * checkpoint runs inside the COMMIT that takes the WAL past 1,000
 * pages: it copies them into the database file and syncs both files
 * (synchronous=NORMAL syncs at checkpoints), and the epoch waits for
 * it, and so does every client its messages are held for. Here the
 * writer's connection checkpoints never; its WAL hook wakes this thread
 * once STORE_CKPT_FRAMES pages are in the WAL, and a PASSIVE checkpoint
 * runs on a connection of its own while the writer goes on committing
 * (in WAL mode a checkpoint and a writer do not wait for each other).
 * The WAL starts again from its beginning at the first commit after a
 * checkpoint that copied all of it. Nothing about durability changes:
 * a commit is in the WAL when COMMIT returns, as before. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "base/worker.h"

/* Runs in the writer's thread, inside each COMMIT, with the WAL's pages:
 * the checkpointer woken once every STORE_CKPT_FRAMES new ones, the
 * writer's own catch-up asked for past STORE_CKPT_WAL_MAX. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	struct store *s = arg;
	if (frames < s->ck_frames)
		s->ck_frames = 0;  /* the WAL started again */
	if (frames >= STORE_CKPT_WAL_MAX)
		s->w_ckpt = 1;
	if (frames - s->ck_frames >= STORE_CKPT_FRAMES) {
		s->ck_frames = frames;
		pthread_mutex_lock(&s->ck_lock);
		if (!s->ck_due) {
			s->ck_due = 1;
			pthread_cond_signal(&s->ck_wake);
		}
		pthread_mutex_unlock(&s->ck_lock);
	}
	return SQLITE_OK;
}

static void *
checkpoint_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->ck_lock);
	for (;;) {
		while (!s->ck_due && !s->ck_stop)
			pthread_cond_wait(&s->ck_wake, &s->ck_lock);
		if (s->ck_stop)
			break;
		s->ck_due = 0;
		pthread_mutex_unlock(&s->ck_lock);
		/* PASSIVE: what no reader still needs, without waiting for
		 * anyone; the rest at the next one. */
		int log = 0, done = 0;
		sqlite3_wal_checkpoint_v2(s->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		pthread_mutex_lock(&s->ck_lock);
		s->checkpoints++;
	}
	pthread_mutex_unlock(&s->ck_lock);
	return NULL;
}

void
store_writer_checkpoint(struct store *s)
{
	if (!s->w_ckpt)
		return;
	s->w_ckpt = 0;
	int log = 0, done = 0;
	sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	pthread_mutex_lock(&s->ck_lock);
	s->checkpoints++;
	pthread_mutex_unlock(&s->ck_lock);
}

int
store_checkpointer_start(struct store *s, char *err, size_t errlen)
{
	s->ck_db = store_db_open(s->db_path, SQLITE_OPEN_READWRITE, err, errlen);
	if (s->ck_db == NULL)
		return -1;
	/* A connection opens the WAL at its first read: until then a
	 * checkpoint on it is a no-op (its log and done are -1), and the
	 * WAL grew for as long as the server ran. */
	if (sqlite3_exec(s->ck_db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", s->db_path, sqlite3_errmsg(s->ck_db));
		return -1;
	}
	/* Replaces the automatic checkpoint on the writer's connection. */
	sqlite3_wal_hook(s->wdb, wal_hook, s);
	int rc = thread_start(&s->ck_thread, checkpoint_main, s);
	if (rc != 0) {
		sqlite3_wal_hook(s->wdb, NULL, NULL);
		snprintf(err, errlen, "store: cannot start the checkpointer: %s", strerror(rc));
		return -1;
	}
	s->ck_running = 1;
	return 0;
}

void
store_checkpointer_stop(struct store *s)
{
	if (s->ck_running) {
		pthread_mutex_lock(&s->ck_lock);
		s->ck_stop = 1;
		pthread_cond_signal(&s->ck_wake);
		pthread_mutex_unlock(&s->ck_lock);
		pthread_join(s->ck_thread, NULL);
		s->ck_running = 0;
	}
	if (s->wdb != NULL)
		sqlite3_wal_hook(s->wdb, NULL, NULL);
	if (s->ck_db != NULL)
		sqlite3_close(s->ck_db);
	s->ck_db = NULL;
}
