/* export_worker.c - privacy exports requested over the protocol run on a
 * thread of their own with their own database connection, so building a
 * large document never stalls the event loop (design §1.7). Exports are
 * rare: one thread, a short queue (beyond it: busy). Finished documents go
 * back to the loop like sign-ins do (a flag and lws_cancel_service), and
 * the loop sends them if the session is still there. Never logs a
 * document or a client's data. */
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "server.h"

#define EXPORT_QUEUE 16

typedef struct export_job {
	struct export_job *next;
	uint64_t session_id;
	bool is_client;
	char principal[KT_UUID_LEN + 1], device[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1];
	/* result */
	int rc;
	char *doc;
} export_job;

struct kt_exporter {
	kt_server *srv;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	export_job *todo_head, *todo_tail, *done; /* done: newest first */
	int queued;
	bool stop, started;
	pthread_t th;
};

static void *worker(void *arg)
{
	kt_exporter *x = arg;
	kt_store *st = NULL;
	const char *msg;
	pthread_setname_np(pthread_self(), "kt-export"); /* shown by top -H and ps -L */

	if (store_open(x->srv->db_path, 0, &st, &msg)) {
		kt_err_log("export worker: cannot open database: %s", msg);
		st = NULL;
	}
	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (!x->stop && !x->todo_head)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->stop)
			break;
		export_job *j = x->todo_head;
		x->todo_head = j->next;
		if (!x->todo_head)
			x->todo_tail = NULL;
		pthread_mutex_unlock(&x->mu);

		if (st) {
			/* who asked, as they are now: the access log shows only the
			 * device ids they may see */
			kt_principal viewer;
			j->rc = store_principal_load(st, j->is_client, j->principal, &viewer);
			store_set_actor(st, j->is_client ? "client" : "staff", j->principal, j->device, 0);
			if (!j->rc)
				j->rc = export_client_as(st, j->client, &viewer, &j->doc);
			store_set_actor(st, "system", NULL, NULL, 0);
			kt_principal_free(&viewer);
		} else
			j->rc = KT_EIO;

		pthread_mutex_lock(&x->mu);
		x->queued--;
		j->next = x->done;
		x->done = j;
		atomic_store(&x->srv->wake_export, 1);
		lws_cancel_service(x->srv->ctx);
	}
	pthread_mutex_unlock(&x->mu);
	store_close(st);
	return NULL;
}

int export_worker_start(kt_server *srv)
{
	kt_exporter *x = calloc(1, sizeof *x);
	if (!x)
		return KT_ENOMEM;
	x->srv = srv;
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	srv->exporter = x;
	if (pthread_create(&x->th, NULL, worker, x) != 0)
		return KT_ENOMEM;
	x->started = true;
	return KT_OK;
}

static void free_jobs(export_job *j)
{
	while (j) {
		export_job *n = j->next;
		free(j->doc);
		free(j);
		j = n;
	}
}

void export_worker_stop(kt_server *srv)
{
	kt_exporter *x = srv->exporter;
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	x->stop = true;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	if (x->started)
		pthread_join(x->th, NULL);
	free_jobs(x->todo_head);
	free_jobs(x->done);
	pthread_mutex_destroy(&x->mu);
	pthread_cond_destroy(&x->cv);
	free(x);
	srv->exporter = NULL;
}

int export_worker_submit(kt_server *srv, const kt_session *s, const char *client)
{
	kt_exporter *x = srv->exporter;
	export_job *j;
	if (!x)
		return KT_EINTERNAL; /* not running (e.g. the session fuzzer): the caller exports inline */
	if (!(j = calloc(1, sizeof *j)))
		return KT_ENOMEM;
	j->session_id = s->id;
	j->is_client = s->principal.is_client;
	snprintf(j->principal, sizeof j->principal, "%s", s->principal.id);
	snprintf(j->device, sizeof j->device, "%s", s->device);
	snprintf(j->client, sizeof j->client, "%s", client);
	pthread_mutex_lock(&x->mu);
	if (x->queued >= EXPORT_QUEUE) {
		pthread_mutex_unlock(&x->mu);
		free(j);
		return KT_EBUSY;
	}
	x->queued++;
	if (x->todo_tail)
		x->todo_tail->next = j;
	else
		x->todo_head = j;
	x->todo_tail = j;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return KT_OK;
}

void export_worker_deliver(kt_server *srv)
{
	kt_exporter *x = srv->exporter;
	export_job *done, *fifo = NULL;
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	done = x->done;
	x->done = NULL;
	pthread_mutex_unlock(&x->mu);
	while (done) { /* oldest first */
		export_job *n = done->next;
		done->next = fifo;
		fifo = done;
		done = n;
	}
	while (fifo) {
		export_job *n = fifo->next;
		kt_session *s = session_find(srv, fifo->session_id);
		if (s && s->state != KT_SS_CLOSING)
			privacy_export_done(s, fifo->client, fifo->rc, fifo->doc);
		free(fifo->doc);
		free(fifo);
		fifo = n;
	}
}
