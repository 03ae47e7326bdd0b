/* export_worker.c - privacy exports requested over the protocol run on a
 * thread of their own with their own database connection, so building a
 * large document never stalls the event loop. Exports are
 * rare: one thread, a short queue (beyond it: busy). Finished documents go
 * back to the loop like sign-ins do (the worker queue, kt_workq.h), and
 * the loop sends them if the session is still there. Never logs a
 * document or a client's data. */
#include <stdlib.h>
#include <string.h>
#include "domain/export.h"
#include "server.h"
#include "handlers/export_worker.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

#define EXPORT_QUEUE 16

typedef struct export_job {
	kt_wq_item item; /* first: the queue's link */
	uint64_t session_id;
	bool is_client;
	char principal[KT_UUID_LEN + 1], device[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1];
	/* result */
	int rc;
	char *doc;
} export_job;

struct kt_exporter {
	kt_server *srv;
	kt_workq *q;
};

static void *worker_init(void *arg)
{
	kt_exporter *x = arg;
	kt_store *st = NULL;
	const char *msg;
	if (store_open(x->srv->db_path, 0, &st, &msg)) {
		kt_err_log("export worker: cannot open database: %s", msg);
		st = NULL;
	}
	return st;
}

static void worker_fini(void *arg, void *st)
{
	store_close(st);
}

static void worker_run(void *arg, void *st, kt_wq_item *it)
{
	export_job *j = (export_job *)it;
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
}

static void free_job(kt_wq_item *it)
{
	export_job *j = (export_job *)it;
	free(j->doc);
	free(j);
}

int export_worker_start(kt_server *srv)
{
	kt_exporter *x = calloc(1, sizeof *x);
	if (!x)
		return KT_ENOMEM;
	x->srv = srv;
	srv->exporter = x;
	kt_workq_cfg cfg = {
		.thread_name = "kt-export",
		.nthreads = 1,
		.bound = EXPORT_QUEUE,
		.thread_init = worker_init,
		.thread_fini = worker_fini,
		.run = worker_run,
		.free_job = free_job,
		.arg = x,
		.wake = &srv->wake,
		.wake_bit = KT_WAKE_EXPORT,
	};
	return kt_workq_new(&cfg, &x->q);
}

void export_worker_stop(kt_server *srv)
{
	kt_exporter *x = srv->exporter;
	if (!x)
		return;
	kt_workq_free(x->q);
	free(x);
	srv->exporter = NULL;
}

int export_worker_submit(kt_server *srv, const kt_session *s, const char *client)
{
	kt_exporter *x = srv->exporter;
	export_job *j;
	int rc;
	if (!x)
		return KT_EINTERNAL; /* not running (e.g. the session fuzzer): the caller exports inline */
	if (!(j = calloc(1, sizeof *j)))
		return KT_ENOMEM;
	j->session_id = s->id;
	j->is_client = s->principal.is_client;
	snprintf(j->principal, sizeof j->principal, "%s", s->principal.id);
	snprintf(j->device, sizeof j->device, "%s", s->device);
	snprintf(j->client, sizeof j->client, "%s", client);
	if ((rc = kt_workq_submit(x->q, &j->item)))
		free(j);
	return rc;
}

void export_worker_deliver(kt_server *srv)
{
	kt_exporter *x = srv->exporter;
	if (!x)
		return;
	for (kt_wq_item *it = kt_workq_take_done(x->q), *n; it; it = n) { /* oldest first */
		export_job *j = (export_job *)it;
		kt_session *s = session_find(srv, j->session_id);
		n = it->next;
		if (s && s->state != KT_SS_CLOSING)
			privacy_export_done(s, j->client, j->rc, j->doc);
		free_job(it);
	}
}
