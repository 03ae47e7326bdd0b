/* hourly.c - see hourly.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kt_err.h"
#include "domain/hourly.h"

struct kt_hourly {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	kt_store *st;
	kt_hourly_fn fn;
	char name[16]; /* a thread name: at most 15 characters */
};

static void *hourly_main(void *arg)
{
	kt_hourly *h = arg;
	pthread_setname_np(pthread_self(), h->name);
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		pthread_mutex_unlock(&h->mu);
		h->fn(h->st);
		pthread_mutex_lock(&h->mu);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 3600;
		while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int hourly_start(const char *db_path, const char *thread_name, kt_hourly_fn fn, kt_hourly **out)
{
	kt_hourly *h = calloc(1, sizeof *h);
	const char *msg = NULL;
	int rc;
	*out = NULL;
	if (!h)
		return KT_ENOMEM;
	if ((rc = store_open(db_path, 0, &h->st, &msg))) {
		free(h);
		return rc;
	}
	h->fn = fn;
	snprintf(h->name, sizeof h->name, "%s", thread_name);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->th, NULL, hourly_main, h)) {
		store_close(h->st);
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		free(h);
		return KT_EINTERNAL;
	}
	*out = h;
	return KT_OK;
}

void hourly_stop(kt_hourly *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	store_close(h->st);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}
