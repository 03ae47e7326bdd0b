/* kt_workq.h - slow work off the event loop: a bounded FIFO of jobs that
 * the loop thread hands to N worker threads, a list of finished jobs handed
 * back, and one way (kt_wake) for any thread to wake the loop when there is
 * something for it. It never runs a job on the loop thread and never calls
 * into the loop: the loop takes the finished jobs when woken.
 *
 * Jobs are the caller's structs with a kt_wq_item as their first member
 * (intrusive: the queue allocates nothing per job). */
#ifndef KT_WORKQ_H
#define KT_WORKQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include "kt_err.h"

/* ---- kt_wake: one word of "something is ready" bits and one kick ----
 *
 * Each source of work for the loop owns a bit. kt_wake_post sets its bit
 * and kicks the loop (e.g. lws_cancel_service) unless some bit was already
 * pending: whoever set the first pending bit kicks after setting it, and
 * the loop takes every bit at once after that kick, so no post is lost
 * and a burst of posts costs one kick. */
typedef struct kt_wake {
	atomic_uint pending;
	void (*kick)(void *arg); /* interrupts the loop's wait; any thread; NULL: bits only */
	void *arg;
} kt_wake;

void kt_wake_init(kt_wake *w, void (*kick)(void *arg), void *arg);
void kt_wake_post(kt_wake *w, unsigned bits);  /* any thread */
unsigned kt_wake_take(kt_wake *w);            /* the loop: the bits posted since the last take */

/* ---- kt_workq ---- */
typedef struct kt_wq_item {
	struct kt_wq_item *next;
} kt_wq_item;

typedef struct kt_workq kt_workq;

typedef struct kt_workq_cfg {
	const char *thread_name; /* shown by top -H and ps -L (at most 15 characters) */
	int nthreads;            /* 0: a hand-back list only (kt_workq_finish from the caller's threads) */
	int bound;               /* jobs queued or running at most (kt_workq_submit: KT_EBUSY); 0: none */
	/* On each worker thread before its first job (e.g. open a database
	 * connection); what it returns is passed to run and fini. May be NULL. */
	void *(*thread_init)(void *arg);
	void (*thread_fini)(void *arg, void *tctx);
	/* Run one job on a worker thread, without the queue's lock; the job
	 * stores its result in itself and then goes to the finished list. */
	void (*run)(void *arg, void *tctx, kt_wq_item *job);
	void (*free_job)(kt_wq_item *job); /* jobs still queued or finished at kt_workq_free */
	void *arg;
	kt_wake *wake;     /* posted with wake_bit when a job is finished; NULL: none */
	unsigned wake_bit;
} kt_workq_cfg;

/* Start cfg->nthreads workers (cfg is copied). *out is the caller's
 * (kt_workq_free), also on failure when not NULL. KT_ENOMEM when memory or
 * a thread could not be had. */
int kt_workq_new(const kt_workq_cfg *cfg, kt_workq **out) KT_MUST_CHECK;

/* Stop: each worker finishes the job it runs and takes no other; returns
 * at once. Jobs submitted after it are still queued, never run. */
void kt_workq_stop(kt_workq *q);

/* kt_workq_stop, wait for the workers, then give the jobs still queued and
 * the finished jobs not taken to free_job. NULL is fine. */
void kt_workq_free(kt_workq *q);

/* Queue job at the end (takes it on KT_OK). KT_EBUSY when `bound` jobs are
 * queued or running (the job stays the caller's). */
int kt_workq_submit(kt_workq *q, kt_wq_item *job) KT_MUST_CHECK;

/* Queue job where place says: it returns the queued job to put it after
 * (NULL: first). place runs under the queue's lock with the jobs not yet
 * taken by a worker, oldest first; it must not call the queue. over_bound:
 * queue it even at the bound (a job accepted earlier that waited
 * elsewhere). */
typedef kt_wq_item *(*kt_wq_place)(kt_wq_item *queued, const kt_wq_item *job, void *u);
int kt_workq_submit_at(kt_workq *q, kt_wq_item *job, kt_wq_place place, void *u, bool over_bound) KT_MUST_CHECK;

/* A queue without workers (nthreads 0) is fed the same way and emptied by
 * a thread of the caller's: every queued job at once, oldest first (the
 * caller's now; they no longer count against the bound). */
kt_wq_item *kt_workq_take_all(kt_workq *q);

/* Hand finished jobs (a list linked by next) back without a worker of the
 * queue, e.g. from a thread of the caller's; one wake for the list. */
void kt_workq_finish(kt_workq *q, kt_wq_item *list);

/* The finished jobs, oldest first (the caller's now); NULL: none. */
kt_wq_item *kt_workq_take_done(kt_workq *q);

/* Jobs queued or running (neither finished nor taken back). */
int kt_workq_count(kt_workq *q);

/* Whether match is true for a job queued or running now. */
bool kt_workq_any(kt_workq *q, bool (*match)(const kt_wq_item *job, void *u), void *u);

/* Test hook: wait until no job is queued or running, or the queue stops. */
void kt_workq_drain(kt_workq *q);

#endif
