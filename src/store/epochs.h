/* The write path's loop side and its hand-over, the same for every
 * backend: the loop copies each event (a redaction, a registered room)
 * into an op of the pending batch, bounded in count and bytes, and
 * seals the batch as an epoch; the backend's writer thread takes the
 * sealed epochs (epochs_take), writes them in its own way, and finishes
 * them (epochs_done), which counts them and wakes the loop through the
 * eventfd; the loop then reads how far they are finished
 * (epochs_finished) and logs a failure or a recovery once. What differs
 * (SQL, connections, holding back while a database is away, retention)
 * stays in the backend's writer. Nothing above the store includes it. */
#ifndef PARLEY_STORE_EPOCHS_H
#define PARLEY_STORE_EPOCHS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_backend.h"

/* The bytes the ops not yet finished (pending and sealed) may hold in
 * all, beside their count (STORE_PENDING_MAX): a writer that falls
 * behind makes appends fail, never memory grow. */
#define STORE_PENDING_BYTES_MAX (64u << 20)

/* One thing for the writer to do, in order: store an event, take one
 * back, save or forget a registered room. The event's strings follow
 * the op (block), in its batch's store_block; a room's are its own. */
enum store_op_type { OP_EVENT, OP_REDACT, OP_ROOM_SAVE, OP_ROOM_FORGET };
struct store_op {
	struct store_op *next;
	enum store_op_type type;     /* OP_REDACT: take e.msgid back */
	/* One or the other, as type says: an event's op (most of them)
	 * takes no room's bytes, in the block or to clear. */
	union {
		struct store_event e;        /* OP_EVENT, OP_REDACT */
		struct store_room room;      /* OP_ROOM_SAVE (OP_ROOM_FORGET: its name) */
	};
	char block[];                /* e's strings, after the op in its block */
};

/* The memory ops are cut from, in order: one block for many ops, where
 * a malloc an event (freed by the writer's thread, on another arena's
 * side) was a fifth of what history cost the loop. A batch's blocks
 * grow with it (EPOCHS_BLOCK_FIRST, doubling, up to EPOCHS_BLOCK_MAX;
 * an op larger than that gets a block of its own), and a batch starts
 * with the largest when the last one was large. They are not freed
 * when their epoch is but kept for the loop (spare, some
 * EPOCHS_SPARE_MAX of each size): under a lasting load the loop
 * allocates nothing for its ops, and blocks of a KiB and more no longer
 * go through malloc's slow paths (which then slowed its small ones). */
#define EPOCHS_BLOCK_SIZES 8         /* 512 bytes to 64 KiB, doubling */
struct store_block {
	struct store_block *next;    /* the one filled before */
	size_t size, used;           /* bytes of data */
	max_align_t data[];
};

struct store_epoch {
	struct store_epoch *next;
	uint64_t number;
	struct store_op *ops;
	struct store_block *blocks;  /* the ops' memory (newest first) */
	struct store_epochs *owner;  /* where its largest blocks go back */
	size_t nops;                 /* ops, for the bound */
	size_t nappends;             /* events stored, for the counters */
	size_t bytes;                /* its blocks' memory, for the bound */
};

/* How the writer finished a batch of epochs (epochs_done). */
enum epochs_outcome {
	EPOCHS_COMMITTED,            /* in the database */
	EPOCHS_FAILED,               /* dropped: the transaction failed */
	EPOCHS_HELD,                 /* kept by the backend for later (PostgreSQL away) */
};

struct store_epochs {
	int efd;                     /* eventfd: an epoch finished */

	/* The loop's side: the batch being filled, and its counters. */
	struct store_op *pend_head, **pend_tail;
	struct store_block *pend_blocks; /* the ops' memory, the newest first */
	struct store_block *loop_spare[EPOCHS_BLOCK_SIZES]; /* to reuse (from spare) */
	size_t last_bytes;           /* the last batch sealed: its memory */
	size_t pend_ops, pend_appends, pend_bytes;
	uint64_t sealed;             /* the last epoch number given out */
	uint64_t appended;
	uint64_t refused;            /* appends refused: the bound was full */
	uint64_t seen_failed, seen_resumed;
	int logged_failing;
	/* The loop's view of inflight_ops and inflight_bytes, for the bound:
	 * raised by each seal, brought down by epochs_finished (and when an
	 * op does not fit). It may be above the writer's figures, never
	 * below, so an append takes no lock. */
	size_t seen_inflight_ops, seen_inflight_bytes;

	/* Shared with the writer, under lock (a backend may guard more of
	 * its own with it). */
	pthread_mutex_t lock;
	pthread_cond_t wake;         /* an epoch is queued, or stop */
	pthread_cond_t done;         /* an epoch finished, or stop (epochs_wait) */
	struct store_epoch *q_head, **q_tail;
	struct store_block *spare[EPOCHS_BLOCK_SIZES]; /* of finished epochs, by size */
	size_t nspare[EPOCHS_BLOCK_SIZES];
	size_t inflight_ops, inflight_bytes;  /* sealed, not finished */
	uint64_t finished;            /* written under lock, read also without
	                               * it (epochs_finished_peek) */
	uint64_t committed, dropped, epochs, commits_failed, resumed, pruned;
	struct histogram commit_us, commit_events; /* per transaction (store_stats) */
	char last_error[256];
	int stopping;
	int failing;                 /* the last transaction failed */
};

/* q empty, its eventfd open: -1 (err written) when it cannot be. */
int epochs_init(struct store_epochs *q, char *err, size_t errlen);
/* Whatever is pending or queued freed, the eventfd closed. The writer
 * must be stopped. */
void epochs_destroy(struct store_epochs *q);

/* store.h's loop calls. */
int epochs_append(struct store_epochs *q, const struct store_event *e);
int epochs_redact(struct store_epochs *q, const char *target, const char *msgid);
int epochs_room_save(struct store_epochs *q, const struct store_room *r);
int epochs_room_forget(struct store_epochs *q, const char *name, uint64_t version);
int epochs_pending(const struct store_epochs *q);
uint64_t epochs_seal(struct store_epochs *q);
uint64_t epochs_finished(struct store_epochs *q);
uint64_t epochs_finished_peek(const struct store_epochs *q);
/* The epoch that will hold every op appended so far: the one being
 * filled, else the last sealed (the loop's). */
uint64_t epochs_now(const struct store_epochs *q);
/* Any thread: until epoch is finished, the writer stops, or ms pass. */
void epochs_wait(struct store_epochs *q, uint64_t epoch, unsigned ms);
/* Ops pending and in flight, as the loop last saw (store_unfinished). */
size_t epochs_unfinished(const struct store_epochs *q);
void epochs_stats(struct store_epochs *q, struct store_stats *out);

/* The writer's side, under q->lock. take: the queued epochs, in order
 * (NULL: none). done: batch (from take) finished as outcome (why: the
 * reason of a failure; took_us: the transaction's time) and counted;
 * the batch stays the caller's. Then, with the lock released,
 * epochs_tell_loop wakes the loop. */
struct store_epoch *epochs_take(struct store_epochs *q);
void epochs_done(struct store_epochs *q, const struct store_epoch *batch,
    enum epochs_outcome outcome, const char *why, uint64_t took_us);
void epochs_tell_loop(struct store_epochs *q);
/* Every epoch of a list freed, with its ops (their blocks kept for the
 * loop; the caller holds no lock). */
void epochs_free(struct store_epoch *ep);
/* The writer asked to stop once its queue is empty. */
void epochs_stop(struct store_epochs *q);

#endif
