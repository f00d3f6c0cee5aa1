/* The pending batch, its epochs and their hand-over to a writer thread,
 * for both backends (epochs.h says how the two sides meet). */
#include "store/epochs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

int
epochs_init(struct store_epochs *q, char *err, size_t errlen)
{
	memset(q, 0, sizeof *q);
	q->pend_tail = &q->pend_head;
	q->q_tail = &q->q_head;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	histogram_init(&q->commit_us, histogram_latency_us, histogram_latency_us_n);
	histogram_init(&q->commit_events, histogram_batch, histogram_batch_n);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		snprintf(err, errlen, "store: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
ops_free(struct store_op *op)
{
	while (op != NULL) {
		struct store_op *next = op->next;
		store_room_clear(&op->room);
		free(op);
		op = next;
	}
}

void
epochs_free(struct store_epoch *ep)
{
	while (ep != NULL) {
		struct store_epoch *next = ep->next;
		ops_free(ep->ops);
		free(ep);
		ep = next;
	}
}

void
epochs_destroy(struct store_epochs *q)
{
	ops_free(q->pend_head);
	q->pend_head = NULL;
	q->pend_tail = &q->pend_head;
	epochs_free(q->q_head);
	q->q_head = NULL;
	q->q_tail = &q->q_head;
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
}

/* ---- The loop's side ---- */

static size_t
str_size(const char *p)
{
	return p != NULL ? strlen(p) + 1 : 0;
}

static const char *
str_put(char **at, const char *p)
{
	if (p == NULL)
		return NULL;
	size_t n = strlen(p) + 1;
	char *d = memcpy(*at, p, n);
	*at += n;
	return d;
}

/* A copy of e, its strings after it in one allocation. */
static struct store_op *
op_new(const struct store_event *e, enum store_op_type type)
{
	size_t n = str_size(e->target) + str_size(e->sender) + str_size(e->account) +
	    str_size(e->text) + str_size(e->extra) + str_size(e->tags);
	struct store_op *op = malloc(sizeof *op + n);
	if (op == NULL)
		return NULL;
	memset(op, 0, sizeof *op);
	op->type = type;
	op->e = *e;
	char *at = op->block;
	op->e.target = str_put(&at, e->target);
	op->e.sender = str_put(&at, e->sender);
	op->e.account = str_put(&at, e->account);
	op->e.text = e->redacted ? NULL : str_put(&at, e->text);
	op->e.extra = str_put(&at, e->extra);
	op->e.tags = str_put(&at, e->tags);
	op->bytes = sizeof *op + n;
	return op;
}

/* Whether op fits under the bounds, as the loop last saw the epochs in
 * flight. */
static int
pending_fits(const struct store_epochs *q, const struct store_op *op)
{
	return q->pend_ops + q->seen_inflight_ops < STORE_PENDING_MAX &&
	    q->pend_bytes + q->seen_inflight_bytes + op->bytes <= STORE_PENDING_BYTES_MAX;
}

/* Queues op in the pending batch when the bounds allow it (else frees
 * it). */
static int
pending_add(struct store_epochs *q, struct store_op *op)
{
	if (!pending_fits(q, op)) {
		/* The loop's view may be behind the writer: look again. */
		pthread_mutex_lock(&q->lock);
		q->seen_inflight_ops = q->inflight_ops;
		q->seen_inflight_bytes = q->inflight_bytes;
		pthread_mutex_unlock(&q->lock);
	}
	if (!pending_fits(q, op)) {
		op->next = NULL;
		ops_free(op);
		return -1;
	}
	*q->pend_tail = op;
	q->pend_tail = &op->next;
	q->pend_ops++;
	q->pend_appends += op->type == OP_EVENT;
	q->pend_bytes += op->bytes;
	return 0;
}

int
epochs_append(struct store_epochs *q, const struct store_event *e)
{
	struct store_op *op = NULL;
	if (e->target != NULL && e->msgid[0] != '\0')
		op = op_new(e, OP_EVENT);
	if (op == NULL || pending_add(q, op) != 0) {
		q->refused++;
		return -1;
	}
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
	struct store_op *op = op_new(&e, OP_REDACT);
	if (op == NULL)
		return -1;
	return pending_add(q, op);
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

static int
room_op(struct store_epochs *q, const struct store_room *r, enum store_op_type type)
{
	struct store_event e = { .kind = SK_PRIVMSG };
	struct store_op *op = op_new(&e, type);
	if (op == NULL)
		return -1;
	if (store_room_copy(&op->room, r) != 0) {
		ops_free(op);
		return -1;
	}
	op->bytes += room_bytes(&op->room);
	return pending_add(q, op);
}

int
epochs_room_save(struct store_epochs *q, const struct store_room *r)
{
	if (r == NULL || r->name == NULL || r->founder == NULL)
		return -1;
	return room_op(q, r, OP_ROOM_SAVE);
}

int
epochs_room_forget(struct store_epochs *q, const char *name)
{
	if (name == NULL)
		return -1;
	struct store_room forget = { .name = (char *)name };
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
	ep->nops = q->pend_ops;
	ep->nappends = q->pend_appends;
	ep->bytes = q->pend_bytes;
	q->pend_head = NULL;
	q->pend_tail = &q->pend_head;
	q->pend_ops = q->pend_appends = q->pend_bytes = 0;
	pthread_mutex_lock(&q->lock);
	*q->q_tail = ep;
	q->q_tail = &ep->next;
	q->inflight_ops += ep->nops;
	q->inflight_bytes += ep->bytes;
	q->seen_inflight_ops = q->inflight_ops;
	q->seen_inflight_bytes = q->inflight_bytes;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return number;  /* ep is the writer's now, maybe freed */
}

uint64_t
epochs_finished(struct store_epochs *q)
{
	uint64_t v;
	while (read(q->efd, &v, sizeof v) == (ssize_t)sizeof v)
		;
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
	pthread_mutex_unlock(&q->lock);
}
