/* kt_workq.c - worker threads fed by a bounded FIFO, finished jobs handed
 * back to the loop with one wake (kt_workq.h). One mutex guards the lists
 * and counters; jobs run without it. */
#include <pthread.h>
#include <stdlib.h>
#include "kt_workq.h"

void kt_wake_init(kt_wake *w, void (*kick)(void *arg), void *arg)
{
	atomic_init(&w->pending, 0);
	w->kick = kick;
	w->arg = arg;
}

void kt_wake_post(kt_wake *w, unsigned bits)
{
	/* a bit already pending means a kick is on its way and the loop takes
	 * ours with it */
	if (atomic_fetch_or(&w->pending, bits) == 0 && w->kick)
		w->kick(w->arg);
}

unsigned kt_wake_take(kt_wake *w)
{
	return atomic_exchange(&w->pending, 0);
}

struct kt_workq {
	kt_workq_cfg cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* a job was queued, or stop */
	pthread_cond_t idle_cv; /* count reached 0 (kt_workq_drain) */
	kt_wq_item *todo_head, *todo_tail;
	kt_wq_item *done_head, *done_tail;
	kt_wq_item **running; /* per worker: the job it runs, or NULL */
	int count;            /* queued or running */
	bool stop;
	pthread_t *th;
	int nthreads; /* started */
};

typedef struct worker_arg {
	kt_workq *q;
	int i;
} worker_arg;

static void append(kt_wq_item **head, kt_wq_item **tail, kt_wq_item *list)
{
	if (!list)
		return;
	if (*tail)
		(*tail)->next = list;
	else
		*head = list;
	while (list->next)
		list = list->next;
	*tail = list;
}

/* Lock held. */
static void finished(kt_workq *q, kt_wq_item *list)
{
	append(&q->done_head, &q->done_tail, list);
	if (q->cfg.wake)
		kt_wake_post(q->cfg.wake, q->cfg.wake_bit);
}

static void *worker(void *p)
{
	kt_workq *q = ((worker_arg *)p)->q;
	int i = ((worker_arg *)p)->i;
	void *tctx = NULL;
	free(p);
	if (q->cfg.thread_name)
		pthread_setname_np(pthread_self(), q->cfg.thread_name);
	if (q->cfg.thread_init)
		tctx = q->cfg.thread_init(q->cfg.arg);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && !q->todo_head)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop)
			break;
		kt_wq_item *j = q->todo_head;
		q->todo_head = j->next;
		if (!q->todo_head)
			q->todo_tail = NULL;
		j->next = NULL;
		q->running[i] = j;
		pthread_mutex_unlock(&q->mu);

		q->cfg.run(q->cfg.arg, tctx, j);

		pthread_mutex_lock(&q->mu);
		q->running[i] = NULL;
		finished(q, j);
		if (--q->count == 0)
			pthread_cond_broadcast(&q->idle_cv);
	}
	pthread_mutex_unlock(&q->mu);
	if (q->cfg.thread_fini)
		q->cfg.thread_fini(q->cfg.arg, tctx);
	return NULL;
}

int kt_workq_new(const kt_workq_cfg *cfg, kt_workq **out)
{
	kt_workq *q = calloc(1, sizeof *q);
	*out = q;
	if (!q)
		return KT_ENOMEM;
	q->cfg = *cfg;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->idle_cv, NULL);
	if (cfg->nthreads <= 0)
		return KT_OK;
	q->th = calloc((size_t)cfg->nthreads, sizeof *q->th);
	q->running = calloc((size_t)cfg->nthreads, sizeof *q->running);
	if (!q->th || !q->running)
		return KT_ENOMEM;
	for (int i = 0; i < cfg->nthreads; i++) {
		worker_arg *a = malloc(sizeof *a);
		if (!a)
			return KT_ENOMEM;
		a->q = q;
		a->i = i;
		if (pthread_create(&q->th[i], NULL, worker, a) != 0) {
			free(a);
			return KT_ENOMEM;
		}
		q->nthreads++;
	}
	return KT_OK;
}

void kt_workq_stop(kt_workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_cond_broadcast(&q->idle_cv);
	pthread_mutex_unlock(&q->mu);
}

static void free_list(kt_workq *q, kt_wq_item *j)
{
	while (j) {
		kt_wq_item *n = j->next;
		if (q->cfg.free_job)
			q->cfg.free_job(j);
		j = n;
	}
}

void kt_workq_free(kt_workq *q)
{
	if (!q)
		return;
	kt_workq_stop(q);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->th[i], NULL);
	free_list(q, q->todo_head);
	free_list(q, q->done_head);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->idle_cv);
	free(q->th);
	free(q->running);
	free(q);
}

int kt_workq_submit_at(kt_workq *q, kt_wq_item *job, kt_wq_place place, void *u, bool over_bound)
{
	pthread_mutex_lock(&q->mu);
	if (!over_bound && q->cfg.bound > 0 && q->count >= q->cfg.bound) {
		pthread_mutex_unlock(&q->mu);
		return KT_EBUSY;
	}
	kt_wq_item *after = place ? place(q->todo_head, job, u) : q->todo_tail;
	if (!after) {
		job->next = q->todo_head;
		q->todo_head = job;
	} else {
		job->next = after->next;
		after->next = job;
	}
	if (!job->next)
		q->todo_tail = job;
	q->count++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return KT_OK;
}

int kt_workq_submit(kt_workq *q, kt_wq_item *job)
{
	return kt_workq_submit_at(q, job, NULL, NULL, false);
}

kt_wq_item *kt_workq_take_all(kt_workq *q)
{
	kt_wq_item *list;
	pthread_mutex_lock(&q->mu);
	list = q->todo_head;
	q->todo_head = q->todo_tail = NULL;
	for (const kt_wq_item *j = list; j; j = j->next)
		q->count--;
	if (q->count == 0)
		pthread_cond_broadcast(&q->idle_cv);
	pthread_mutex_unlock(&q->mu);
	return list;
}

void kt_workq_finish(kt_workq *q, kt_wq_item *list)
{
	if (!list)
		return;
	pthread_mutex_lock(&q->mu);
	finished(q, list);
	pthread_mutex_unlock(&q->mu);
}

kt_wq_item *kt_workq_take_done(kt_workq *q)
{
	kt_wq_item *list;
	pthread_mutex_lock(&q->mu);
	list = q->done_head;
	q->done_head = q->done_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return list;
}

int kt_workq_count(kt_workq *q)
{
	int n;
	pthread_mutex_lock(&q->mu);
	n = q->count;
	pthread_mutex_unlock(&q->mu);
	return n;
}

bool kt_workq_any(kt_workq *q, bool (*match)(const kt_wq_item *job, void *u), void *u)
{
	bool found = false;
	pthread_mutex_lock(&q->mu);
	for (int i = 0; i < q->nthreads && !found; i++)
		found = q->running[i] && match(q->running[i], u);
	for (const kt_wq_item *j = q->todo_head; j && !found; j = j->next)
		found = match(j, u);
	pthread_mutex_unlock(&q->mu);
	return found;
}

void kt_workq_drain(kt_workq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->count > 0 && !q->stop)
		pthread_cond_wait(&q->idle_cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}
