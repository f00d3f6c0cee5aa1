/* The pending batch, its epochs and their hand-over to a writer thread,
 * for both backends (epochs.h says how the two sides meet). */
#include "store/epochs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

int
epochs_init(struct store_epochs *q, char *err, size_t errlen)
{
	memset(q, 0, sizeof *q);
	q->pend_tail = &q->pend_head;
	q->q_tail = &q->q_head;
	pthread_mutex_init(&q->lock, NULL);
	/* Timed waits on both run on the monotonic clock (clock.h). */
	clock_cond_init(&q->wake);
	clock_cond_init(&q->done);
	histogram_init(&q->commit_us, histogram_latency_us, histogram_latency_us_n);
	histogram_init(&q->commit_events, histogram_batch, histogram_batch_n);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		snprintf(err, errlen, "store: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A batch's first block (its ops' memory, epochs.h) and the most its
 * later ones grow to: EPOCHS_BLOCK_SIZES sizes; how many of each are
 * kept for reuse. */
#define EPOCHS_BLOCK_FIRST 512
#define EPOCHS_BLOCK_MAX (EPOCHS_BLOCK_FIRST << (EPOCHS_BLOCK_SIZES - 1))
#define EPOCHS_SPARE_MAX 16

/* The size class of a block of size bytes, -1 for an odd one (an op
 * larger than EPOCHS_BLOCK_MAX). */
static int
block_class(size_t size)
{
	for (int k = 0; k < EPOCHS_BLOCK_SIZES; k++)
		if (size == (size_t)EPOCHS_BLOCK_FIRST << k)
			return k;
	return -1;
}

static void
blocks_free(struct store_block *b)
{
	while (b != NULL) {
		struct store_block *next = b->next;
		free(b);
		b = next;
	}
}

/* What the ops hold beside their blocks: a room's copy. */
static void
ops_clear(struct store_op *op)
{
	for (; op != NULL; op = op->next)
		if (op->type == OP_ROOM_SAVE || op->type == OP_ROOM_FORGET)
			store_room_clear(&op->room);
}

/* b's blocks back to q's spares while it keeps fewer than
 * EPOCHS_SPARE_MAX of their size, the others freed. */
static void
blocks_give(struct store_epochs *q, struct store_block *b)
{
	struct store_block *rest = NULL;
	pthread_mutex_lock(&q->lock);
	while (b != NULL) {
		struct store_block *next = b->next;
		int k = block_class(b->size);
		if (k >= 0 && q->nspare[k] < EPOCHS_SPARE_MAX) {
			b->next = q->spare[k];
			q->spare[k] = b;
			q->nspare[k]++;
		} else {
			b->next = rest;
			rest = b;
		}
		b = next;
	}
	pthread_mutex_unlock(&q->lock);
	blocks_free(rest);
}

void
epochs_free(struct store_epoch *ep)
{
	while (ep != NULL) {
		struct store_epoch *next = ep->next;
		ops_clear(ep->ops);
		if (ep->owner != NULL)
			blocks_give(ep->owner, ep->blocks);
		else
			blocks_free(ep->blocks);
		free(ep);
		ep = next;
	}
}

void
epochs_destroy(struct store_epochs *q)
{
	ops_clear(q->pend_head);
	blocks_free(q->pend_blocks);
	q->pend_head = NULL;
	q->pend_tail = &q->pend_head;
	q->pend_blocks = NULL;
	epochs_free(q->q_head);
	q->q_head = NULL;
	q->q_tail = &q->q_head;
	for (int k = 0; k < EPOCHS_BLOCK_SIZES; k++) {
		blocks_free(q->loop_spare[k]);
		blocks_free(q->spare[k]);
		q->loop_spare[k] = q->spare[k] = NULL;
		q->nspare[k] = 0;
	}
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
	pthread_cond_destroy(&q->wake);
	pthread_cond_destroy(&q->done);
	pthread_mutex_destroy(&q->lock);
}

/* ---- The loop's side ---- */

/* Whether n more bytes fit under the bounds, as the loop last saw the
 * epochs in flight. A new block may take more than n: the bound is
 * exact to a block (EPOCHS_BLOCK_MAX). */
static int
pending_fits(const struct store_epochs *q, size_t n)
{
	return q->pend_ops + q->seen_inflight_ops < STORE_PENDING_MAX &&
	    q->pend_bytes + q->seen_inflight_bytes + n <= STORE_PENDING_BYTES_MAX;
}

/* Whether an op of n bytes may be queued, looking again at what the
 * writer finished when the loop's view says no. */
static int
pending_room(struct store_epochs *q, size_t n)
{
	if (pending_fits(q, n))
		return 1;
	/* The loop's view may be behind the writer: look again. */
	pthread_mutex_lock(&q->lock);
	q->seen_inflight_ops = q->inflight_ops;
	q->seen_inflight_bytes = q->inflight_bytes;
	pthread_mutex_unlock(&q->lock);
	return pending_fits(q, n);
}

/* n bytes (a multiple of an op's alignment) at the end of the pending
 * batch's newest block, or of a new one, counted in pend_bytes; NULL
 * when there is no memory. The last bytes given can be taken back
 * (op_unget). */
static void *
op_get(struct store_epochs *q, size_t n)
{
	struct store_block *b = q->pend_blocks;
	if (b == NULL || b->size - b->used < n) {
		size_t size = b != NULL ? (b->size >= EPOCHS_BLOCK_MAX / 2 ? EPOCHS_BLOCK_MAX :
		    b->size * 2) : q->last_bytes >= EPOCHS_BLOCK_MAX ? EPOCHS_BLOCK_MAX :
		    EPOCHS_BLOCK_FIRST;
		while (size < n && size < EPOCHS_BLOCK_MAX)
			size *= 2;
		if (size < n)
			size = n;
		int k = block_class(size);
		if (k >= 0 && q->loop_spare[k] != NULL) {
			b = q->loop_spare[k];
			q->loop_spare[k] = b->next;
		} else if ((b = malloc(sizeof *b + size)) == NULL) {
			return NULL;
		}
		b->size = size;
		b->used = 0;
		b->next = q->pend_blocks;
		q->pend_blocks = b;
		q->pend_bytes += sizeof *b + size;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

static void
op_unget(struct store_epochs *q, size_t n)
{
	q->pend_blocks->used -= n;
}

#define OP_STRINGS 6

/* A copy of e, its strings after it, in the pending batch's memory when
 * the bounds allow it (*n: the bytes it took, for op_unget); NULL when
 * they do not, or there is no memory. Each string's length is taken
 * once. */
static struct store_op *
op_new(struct store_epochs *q, const struct store_event *e, enum store_op_type type,
    size_t *n)
{
	const char *from[OP_STRINGS] = { e->target, e->sender, e->account,
		e->redacted ? NULL : e->text, e->extra, e->tags };
	size_t len[OP_STRINGS], strings = 0;
	/* Unrolled (one op an event): the loops' counting and arrays were
	 * a fifth of the op's own cost. */
#pragma GCC unroll 6
	for (int i = 0; i < OP_STRINGS; i++) {
		len[i] = from[i] != NULL ? strlen(from[i]) + 1 : 0;
		strings += len[i];
	}
	const size_t align = _Alignof(struct store_op);
	*n = (sizeof(struct store_op) + strings + align - 1) / align * align;
	struct store_op *op;
	if (!pending_room(q, *n) || (op = op_get(q, *n)) == NULL)
		return NULL;
	/* A room op's room is filled by room_op, over e (store_op's union). */
	op->next = NULL;
	op->type = type;
	op->e = *e;
	const char *to[OP_STRINGS];
	char *at = op->block;
#pragma GCC unroll 6
	for (int i = 0; i < OP_STRINGS; i++) {
		to[i] = from[i] != NULL ? memcpy(at, from[i], len[i]) : NULL;
		at += len[i];
	}
	op->e.target = to[0];
	op->e.sender = to[1];
	op->e.account = to[2];
	op->e.text = to[3];
	op->e.extra = to[4];
	op->e.tags = to[5];
	return op;
}

/* Queues op (from op_new) in the pending batch. */
static void
pending_add(struct store_epochs *q, struct store_op *op)
{
	*q->pend_tail = op;
	q->pend_tail = &op->next;
	q->pend_ops++;
	q->pend_appends += op->type == OP_EVENT;
}

int
epochs_append(struct store_epochs *q, const struct store_event *e)
{
	struct store_op *op = NULL;
	size_t n;
	if (e->target != NULL && e->msgid[0] != '\0')
		op = op_new(q, e, OP_EVENT, &n);
	if (op == NULL) {
		q->refused++;
		return -1;
	}
	pending_add(q, op);
	q->appended++;
	return 0;
}

int
epochs_redact(struct store_epochs *q, const char *target, const char *msgid)
{
	struct store_event e = { .kind = SK_PRIVMSG, .target = target };
	if (target == NULL || msgid == NULL || strlen(msgid) != MSGID_LEN)
		return -1;
	memcpy(e.msgid, msgid, MSGID_LEN + 1);
	size_t n;
	struct store_op *op = op_new(q, &e, OP_REDACT, &n);
	if (op == NULL)
		return -1;
	pending_add(q, op);
	return 0;
}

static size_t
str_size(const char *p)
{
	return p != NULL ? strlen(p) + 1 : 0;
}

/* A room's bytes, roughly, for the bound. */
static size_t
room_bytes(const struct store_room *r)
{
	size_t n = str_size(r->name) + str_size(r->founder) + str_size(r->topic) +
	    str_size(r->topic_by) + str_size(r->modes) + str_size(r->password);
	for (size_t i = 0; i < r->nmasks; i++)
		n += sizeof r->masks[i] + str_size(r->masks[i].mask) + str_size(r->masks[i].by);
	for (size_t i = 0; i < r->nops; i++)
		n += sizeof r->ops[i] + str_size(r->ops[i]);
	return n;
}

/* The room's copy is its own (store_room_copy), outside the blocks; its
 * bytes count in the batch's all the same. */
static int
room_op(struct store_epochs *q, const struct store_room *r, enum store_op_type type)
{
	struct store_event e = { .kind = SK_PRIVMSG };
	size_t n;
	struct store_op *op = op_new(q, &e, type, &n);
	if (op == NULL)
		return -1;
	if (store_room_copy(&op->room, r) != 0) {
		op_unget(q, n);
		return -1;
	}
	q->pend_bytes += room_bytes(&op->room);
	pending_add(q, op);
	return 0;
}

int
epochs_room_save(struct store_epochs *q, const struct store_room *r)
{
	if (r == NULL || r->name == NULL || r->founder == NULL)
		return -1;
	return room_op(q, r, OP_ROOM_SAVE);
}

int
epochs_room_forget(struct store_epochs *q, const char *name, uint64_t version)
{
	if (name == NULL)
		return -1;
	struct store_room forget = { .name = (char *)name, .version = version };
	return room_op(q, &forget, OP_ROOM_FORGET);
}

int
epochs_pending(const struct store_epochs *q)
{
	return q->pend_head != NULL;
}

uint64_t
epochs_seal(struct store_epochs *q)
{
	if (q->pend_head == NULL)
		return 0;
	struct store_epoch *ep = calloc(1, sizeof *ep);
	if (ep == NULL)
		return 0;  /* the batch waits for the next seal */
	uint64_t number = ep->number = ++q->sealed;
	ep->ops = q->pend_head;
	ep->blocks = q->pend_blocks;
	ep->owner = q;
	q->last_bytes = q->pend_bytes;
	ep->nops = q->pend_ops;
	ep->nappends = q->pend_appends;
	ep->bytes = q->pend_bytes;
	q->pend_head = NULL;
	q->pend_tail = &q->pend_head;
	q->pend_blocks = NULL;
	q->pend_ops = q->pend_appends = q->pend_bytes = 0;
	pthread_mutex_lock(&q->lock);
	*q->q_tail = ep;
	q->q_tail = &ep->next;
	q->inflight_ops += ep->nops;
	q->inflight_bytes += ep->bytes;
	q->seen_inflight_ops = q->inflight_ops;
	q->seen_inflight_bytes = q->inflight_bytes;
	/* The blocks the writer gave back, for the next batches. */
	for (int k = 0; k < EPOCHS_BLOCK_SIZES; k++) {
		if (q->loop_spare[k] == NULL) {
			q->loop_spare[k] = q->spare[k];
			q->spare[k] = NULL;
			q->nspare[k] = 0;
		}
	}
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return number;  /* ep is the writer's now, maybe freed */
}

uint64_t
epochs_finished(struct store_epochs *q)
{
	/* One read takes the eventfd's whole count (it is no semaphore):
	 * a second would only say EAGAIN. */
	uint64_t v;
	(void)!read(q->efd, &v, sizeof v);
	pthread_mutex_lock(&q->lock);
	uint64_t finished = q->finished;
	q->seen_inflight_ops = q->inflight_ops;
	q->seen_inflight_bytes = q->inflight_bytes;
	uint64_t failed = q->commits_failed, resumed = q->resumed, dropped = q->dropped;
	char why[sizeof q->last_error];
	memcpy(why, q->last_error, sizeof why);
	pthread_mutex_unlock(&q->lock);
	/* Logged here, on the loop, once per change: the writer thread
	 * never logs. */
	if (failed > q->seen_failed && !q->logged_failing) {
		log_error("history: cannot store events (%s): dropping them, chat goes on", why);
		q->logged_failing = 1;
	}
	if (resumed > q->seen_resumed && q->logged_failing) {
		log_warn("history: storing events again (%llu dropped meanwhile)",
		    (unsigned long long)dropped);
		q->logged_failing = 0;
	}
	q->seen_failed = failed;
	q->seen_resumed = resumed;
	return finished;
}

uint64_t
epochs_finished_peek(const struct store_epochs *q)
{
	return __atomic_load_n(&q->finished, __ATOMIC_ACQUIRE);
}

uint64_t
epochs_now(const struct store_epochs *q)
{
	return q->sealed + (q->pend_ops > 0);
}

void
epochs_wait(struct store_epochs *q, uint64_t epoch, unsigned ms)
{
	struct timespec by;
	clock_deadline_in(&by, ms);
	pthread_mutex_lock(&q->lock);
	while (q->finished < epoch && !q->stopping &&
	    pthread_cond_timedwait(&q->done, &q->lock, &by) == 0)
		;
	pthread_mutex_unlock(&q->lock);
}

size_t
epochs_unfinished(const struct store_epochs *q)
{
	return q->pend_ops + q->seen_inflight_ops;
}

void
epochs_stats(struct store_epochs *q, struct store_stats *out)
{
	/* The writer's counters under its lock; the loop's own (appended,
	 * refused) need none. */
	pthread_mutex_lock(&q->lock);
	out->appended = q->appended;
	out->committed = q->committed;
	out->dropped = q->dropped + q->refused;
	out->epochs = q->epochs;
	out->commits_failed = q->commits_failed;
	out->pruned = q->pruned;
	out->commit_us = q->commit_us;
	out->commit_events = q->commit_events;
	pthread_mutex_unlock(&q->lock);
}

/* ---- The writer's side ---- */

struct store_epoch *
epochs_take(struct store_epochs *q)
{
	struct store_epoch *taken = q->q_head;
	q->q_head = NULL;
	q->q_tail = &q->q_head;
	return taken;
}

void
epochs_done(struct store_epochs *q, const struct store_epoch *batch,
    enum epochs_outcome outcome, const char *why, uint64_t took_us)
{
	uint64_t ops = 0;
	for (const struct store_epoch *ep = batch; ep != NULL; ep = ep->next) {
		q->inflight_ops -= ep->nops;
		q->inflight_bytes -= ep->bytes;
		/* Also read without the lock (epochs_finished_peek). */
		__atomic_store_n(&q->finished, ep->number, __ATOMIC_RELEASE);
		ops += ep->nops;
		if (outcome == EPOCHS_HELD)
			continue;
		q->epochs++;
		if (outcome == EPOCHS_COMMITTED)
			q->committed += ep->nappends;
		else
			q->dropped += ep->nappends;
	}
	pthread_cond_broadcast(&q->done);
	if (outcome == EPOCHS_HELD)
		return;
	histogram_observe(&q->commit_us, took_us);
	histogram_observe(&q->commit_events, ops);
	if (outcome == EPOCHS_COMMITTED) {
		if (q->failing)
			q->resumed++;
		q->failing = 0;
	} else {
		q->commits_failed++;
		q->failing = 1;
		snprintf(q->last_error, sizeof q->last_error, "%s", why != NULL ? why : "");
	}
}

void
epochs_tell_loop(struct store_epochs *q)
{
	uint64_t one = 1;
	if (write(q->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		abort();  /* an eventfd we own cannot fail otherwise */
}

void
epochs_stop(struct store_epochs *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_signal(&q->wake);
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->lock);
}
