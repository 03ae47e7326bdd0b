/* test_workq.c - the worker queue (common/kt_workq.h): FIFO order, the
 * bound, shutdown with jobs queued, many producers and one worker, and the
 * one wake. No sleeps: a test holds a worker on a gate of its own and waits
 * on the queue's conditions (kt_workq_drain). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "kt_workq.h"

typedef struct job {
	kt_wq_item item;
	int producer, seq;
	int ran_as; /* the position in which a worker ran it */
} job;

/* What the workers share with the test: a gate that holds them, and
 * counts of what ran and what was freed. */
typedef struct env {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	int started, ran, freed, bad_ctx;
	int kicks;
} env;

static env E;

static void env_reset(bool open)
{
	pthread_mutex_init(&E.mu, NULL);
	pthread_cond_init(&E.cv, NULL);
	E.open = open;
	E.started = E.ran = E.freed = E.kicks = E.bad_ctx = 0;
}

static void gate_open(void)
{
	pthread_mutex_lock(&E.mu);
	E.open = true;
	pthread_cond_broadcast(&E.cv);
	pthread_mutex_unlock(&E.mu);
}

/* Until a worker has started n jobs (it then waits at the gate). */
static void wait_started(int n)
{
	pthread_mutex_lock(&E.mu);
	while (E.started < n)
		pthread_cond_wait(&E.cv, &E.mu);
	pthread_mutex_unlock(&E.mu);
}

static void run(void *arg, void *tctx, kt_wq_item *it)
{
	job *j = (job *)it;
	pthread_mutex_lock(&E.mu);
	E.bad_ctx += tctx != &E; /* thread_init's value reaches every job (no cmocka asserts off the main thread) */
	E.started++;
	pthread_cond_broadcast(&E.cv);
	while (!E.open)
		pthread_cond_wait(&E.cv, &E.mu);
	j->ran_as = E.ran++;
	pthread_mutex_unlock(&E.mu);
}

static void *thread_init(void *arg)
{
	return &E;
}

static void free_job(kt_wq_item *it)
{
	pthread_mutex_lock(&E.mu);
	E.freed++;
	pthread_mutex_unlock(&E.mu);
	free(it);
}

static void kick(void *arg)
{
	__atomic_add_fetch(&((env *)arg)->kicks, 1, __ATOMIC_SEQ_CST);
}

static kt_workq *new_queue(int nthreads, int bound, kt_wake *wake)
{
	kt_workq_cfg cfg = {
		.thread_name = "test-workq",
		.nthreads = nthreads,
		.bound = bound,
		.thread_init = thread_init,
		.run = run,
		.free_job = free_job,
		.wake = wake,
		.wake_bit = 4,
	};
	kt_workq *q = NULL;
	assert_int_equal(kt_workq_new(&cfg, &q), KT_OK);
	return q;
}

static job *new_job(int producer, int seq)
{
	job *j = calloc(1, sizeof *j);
	assert_non_null(j);
	j->producer = producer;
	j->seq = seq;
	return j;
}

static int take_all(kt_workq *q, job **out, int cap)
{
	int n = 0;
	for (kt_wq_item *it = kt_workq_take_done(q), *next; it; it = next) {
		next = it->next;
		assert_true(n < cap);
		out[n++] = (job *)it;
	}
	return n;
}

static void fifo_order_in_and_out(void **state)
{
	env_reset(false);
	kt_workq *q = new_queue(1, 0, NULL);
	job *done[20];
	for (int i = 0; i < 20; i++)
		assert_int_equal(kt_workq_submit(q, &new_job(0, i)->item), KT_OK);
	gate_open();
	kt_workq_drain(q);
	assert_int_equal(take_all(q, done, 20), 20);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(done[i]->seq, i);    /* handed back oldest first */
		assert_int_equal(done[i]->ran_as, i); /* and run in the order queued */
		free(done[i]);
	}
	assert_null(kt_workq_take_done(q));
	kt_workq_free(q);
	assert_int_equal(E.freed, 0);
	assert_int_equal(E.bad_ctx, 0);
}

static void bound_refuses_busy_until_a_job_is_taken_back(void **state)
{
	env_reset(false);
	kt_workq *q = new_queue(1, 3, NULL);
	job *extra = new_job(0, 3), *done[8];
	for (int i = 0; i < 3; i++)
		assert_int_equal(kt_workq_submit(q, &new_job(0, i)->item), KT_OK);
	wait_started(1);
	/* the running job still counts: three queued or running */
	assert_int_equal(kt_workq_count(q), 3);
	assert_int_equal(kt_workq_submit(q, &extra->item), KT_EBUSY);
	/* a job accepted earlier may go over it */
	assert_int_equal(kt_workq_submit_at(q, &extra->item, NULL, NULL, true), KT_OK);
	assert_int_equal(kt_workq_count(q), 4);
	gate_open();
	kt_workq_drain(q);
	assert_int_equal(kt_workq_count(q), 0);
	job *again = new_job(0, 4);
	assert_int_equal(kt_workq_submit(q, &again->item), KT_OK);
	kt_workq_drain(q);
	int n = take_all(q, done, 8);
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++) {
		assert_int_equal(done[i]->seq, i);
		free(done[i]);
	}
	kt_workq_free(q);
}

static void shutdown_frees_queued_jobs_without_running_them(void **state)
{
	env_reset(false);
	kt_workq *q = new_queue(1, 0, NULL);
	for (int i = 0; i < 6; i++)
		assert_int_equal(kt_workq_submit(q, &new_job(0, i)->item), KT_OK);
	wait_started(1); /* the first is running, five are queued */
	kt_workq_stop(q);
	gate_open();
	kt_workq_free(q);
	assert_int_equal(E.started, 1); /* the running job finished, nothing else ran */
	assert_int_equal(E.ran, 1);
	assert_int_equal(E.freed, 6); /* five queued + the finished one not taken back */
}

enum { PRODUCERS = 4, PER_PRODUCER = 2000 };

static void *producer(void *arg)
{
	kt_workq *q = ((void **)arg)[0];
	int p = (int)(intptr_t)((void **)arg)[1];
	for (int i = 0; i < PER_PRODUCER; i++)
		if (kt_workq_submit(q, &new_job(p, i)->item) != KT_OK)
			return "refused";
	return NULL;
}

static void many_producers_one_worker_keep_each_ones_order(void **state)
{
	env_reset(true);
	kt_wake wake;
	kt_wake_init(&wake, kick, &E);
	kt_workq *q = new_queue(1, 0, &wake);
	pthread_t th[PRODUCERS];
	void *args[PRODUCERS][2];
	int next[PRODUCERS] = {0}, last_ran = -1, got = 0;
	for (int p = 0; p < PRODUCERS; p++) {
		args[p][0] = q;
		args[p][1] = (void *)(intptr_t)p;
		assert_int_equal(pthread_create(&th[p], NULL, producer, args[p]), 0);
	}
	/* the loop's side meanwhile: take what is done whenever a bit is up */
	while (got < PRODUCERS * PER_PRODUCER) {
		if (!(kt_wake_take(&wake) & 4)) {
			kt_workq_drain(q); /* nothing posted: wait for the worker, not a clock */
			if (!(kt_wake_take(&wake) & 4))
				continue; /* the producers have not queued more yet */
		}
		for (kt_wq_item *it = kt_workq_take_done(q), *n; it; it = n) {
			job *j = (job *)it;
			n = it->next;
			assert_int_equal(j->seq, next[j->producer]++); /* each producer's jobs in its order */
			assert_true(j->ran_as > last_ran);             /* handed back in the order run */
			last_ran = j->ran_as;
			got++;
			free(j);
		}
	}
	for (int p = 0; p < PRODUCERS; p++) {
		void *r;
		pthread_join(th[p], &r);
		assert_null(r);
		assert_int_equal(next[p], PER_PRODUCER);
	}
	assert_true(__atomic_load_n(&E.kicks, __ATOMIC_SEQ_CST) >= 1);
	kt_workq_free(q);
	assert_int_equal(E.freed, 0);
}

static void wake_kicks_once_until_taken(void **state)
{
	env_reset(true);
	kt_wake w;
	kt_wake_init(&w, kick, &E);
	kt_wake_post(&w, 1);
	kt_wake_post(&w, 2); /* a kick is on its way already */
	kt_wake_post(&w, 1);
	assert_int_equal(E.kicks, 1);
	assert_int_equal(kt_wake_take(&w), 3);
	assert_int_equal(kt_wake_take(&w), 0);
	kt_wake_post(&w, 2);
	assert_int_equal(E.kicks, 2);
	assert_int_equal(kt_wake_take(&w), 2);
}

static void finished_jobs_post_the_queues_bit(void **state)
{
	env_reset(true);
	kt_wake w;
	kt_wake_init(&w, kick, &E);
	kt_workq *q = new_queue(1, 0, &w);
	job *j = new_job(0, 0);
	assert_int_equal(kt_wake_take(&w), 0);
	assert_int_equal(kt_workq_submit(q, &j->item), KT_OK);
	kt_workq_drain(q);
	assert_int_equal(kt_wake_take(&w), 4);
	assert_ptr_equal(kt_workq_take_done(q), &j->item);
	free(j);
	kt_workq_free(q);
}

/* a hand-back list without workers (the writer's answers) */
static void finish_hands_back_a_list_with_one_post(void **state)
{
	env_reset(true);
	kt_wake w;
	kt_wake_init(&w, kick, &E);
	kt_workq *q = new_queue(0, 0, &w);
	job *a = new_job(0, 0), *b = new_job(0, 1), *c = new_job(0, 2);
	a->item.next = &b->item;
	b->item.next = NULL;
	kt_workq_finish(q, &a->item);
	c->item.next = NULL;
	kt_workq_finish(q, &c->item);
	assert_int_equal(E.kicks, 1);
	assert_int_equal(kt_wake_take(&w), 4);
	kt_wq_item *l = kt_workq_take_done(q);
	assert_ptr_equal(l, &a->item);
	assert_ptr_equal(l->next, &b->item);
	assert_ptr_equal(l->next->next, &c->item);
	assert_null(l->next->next->next);
	free(a);
	free(b);
	/* not taken back: freed with the queue */
	c->item.next = NULL;
	kt_workq_finish(q, &c->item);
	kt_workq_free(q);
	assert_int_equal(E.freed, 1);
}

/* a queue emptied by the caller's own thread, all at once (the writer) */
static void take_all_empties_the_queue_in_order_and_frees_the_bound(void **state)
{
	env_reset(true);
	kt_workq *q = new_queue(0, 3, NULL);
	job *extra = new_job(0, 3);
	assert_null(kt_workq_take_all(q));
	for (int i = 0; i < 3; i++)
		assert_int_equal(kt_workq_submit(q, &new_job(0, i)->item), KT_OK);
	assert_int_equal(kt_workq_submit(q, &extra->item), KT_EBUSY);
	kt_wq_item *l = kt_workq_take_all(q);
	assert_int_equal(kt_workq_count(q), 0);
	kt_workq_drain(q); /* returns: nothing queued */
	assert_int_equal(kt_workq_submit(q, &extra->item), KT_OK);
	int n = 0;
	for (kt_wq_item *it = l, *next; it; it = next, n++) {
		next = it->next;
		assert_int_equal(((job *)it)->seq, n);
		free(it);
	}
	assert_int_equal(n, 3);
	assert_ptr_equal(kt_workq_take_all(q), &extra->item);
	assert_null(extra->item.next);
	assert_int_equal(E.ran, 0); /* no worker ran anything */
	free(extra);
	kt_workq_free(q);
	assert_int_equal(E.freed, 0);
}

static kt_wq_item *first_place(kt_wq_item *queued, const kt_wq_item *it, void *u)
{
	return NULL;
}

static bool is_seq(const kt_wq_item *it, void *u)
{
	return ((const job *)it)->seq == *(int *)u;
}

static void placed_jobs_and_any_see_queued_and_running(void **state)
{
	env_reset(false);
	kt_workq *q = new_queue(1, 0, NULL);
	job *done[4];
	assert_int_equal(kt_workq_submit(q, &new_job(0, 0)->item), KT_OK);
	wait_started(1);
	assert_int_equal(kt_workq_submit(q, &new_job(0, 2)->item), KT_OK);
	assert_int_equal(kt_workq_submit_at(q, &new_job(0, 1)->item, first_place, NULL, false), KT_OK);
	int s0 = 0, s1 = 1, s9 = 9;
	assert_true(kt_workq_any(q, is_seq, &s0)); /* running */
	assert_true(kt_workq_any(q, is_seq, &s1)); /* queued */
	assert_false(kt_workq_any(q, is_seq, &s9));
	gate_open();
	kt_workq_drain(q);
	assert_false(kt_workq_any(q, is_seq, &s0)); /* finished is neither */
	assert_int_equal(take_all(q, done, 4), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(done[i]->seq, i); /* the placed one ran before the one queued before it */
		free(done[i]);
	}
	kt_workq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_order_in_and_out),
		cmocka_unit_test(bound_refuses_busy_until_a_job_is_taken_back),
		cmocka_unit_test(shutdown_frees_queued_jobs_without_running_them),
		cmocka_unit_test(many_producers_one_worker_keep_each_ones_order),
		cmocka_unit_test(wake_kicks_once_until_taken),
		cmocka_unit_test(finished_jobs_post_the_queues_bit),
		cmocka_unit_test(finish_hands_back_a_list_with_one_post),
		cmocka_unit_test(take_all_empties_the_queue_in_order_and_frees_the_bound),
		cmocka_unit_test(placed_jobs_and_any_see_queued_and_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
