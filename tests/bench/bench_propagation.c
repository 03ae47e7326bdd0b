/* bench_propagation.c - change propagation: time from a committed server
 * write to its arrival at N connected devices (default 100), p50/p99.
 * Starts a real demo server, connects N raw protocol devices (owner and the
 * staff of one location, so every device may see the change), then commits
 * edits to one appointment through the store API from a second thread, the
 * way `kartoteka-server admin` does, and timestamps each arrival.
 *
 * What it counts is what PROTOCOL.md §3 promises: a device gets a row's
 * current version, in order. A device that is behind (its frame was built
 * after two commits) gets only the newer version: the versions in between
 * are skipped, not missing. Latency is taken for each version a device got.
 * A violation, the only thing that makes the bench exit 1: a version older
 * than (or the same as) one the device already had, the row twice in one
 * changes frame, or a device not at the last written version at the end.
 * Besides the latency it prints the server's CPU per delivered change
 * (/proc, over the writes) and this bench's own CPU per frame it read:
 * the devices' frames are read by `threads` client loops (default 1), so
 * with one loop the last of N devices waits for the N-1 frames before it
 * (that share of the p99 is the bench's, not the server's).
 * usage: kt-bench-propagation SERVER_BIN [devices] [writes] [threads] */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/resource.h>
#include "bench_util.h"
#include "kt_proto.h"
#include "kt_util.h"
#include "db/store.h"

#define MAX_DEV 2000
#define MAX_WRITES 10000
#define MAX_THREADS 4 /* x 16 devices signing in at once <= KT_AUTH_QUEUE */

typedef struct dev {
	struct lws *wsi;
	const bench_account *acc;
	char device[KT_UUID_LEN + 1];
	unsigned char out[LWS_PRE + 1024];
	size_t out_len;
	bench_inbuf in;
	bool ready;
	int64_t last_v;    /* the target's newest version this device got */
	int in_frame;      /* the target's ops in the frame being read */
	long older, twice; /* violations: an older/same version, the row twice in a frame */
	long got;          /* versions received */
} dev;

static dev devs[MAX_DEV];
static int ndev;
static atomic_int nready;
static atomic_long frames_read; /* during the writes */
static atomic_int writing;
static char target[KT_UUID_LEN + 1];
static int64_t base_v; /* target's version before the first write */
static _Atomic int64_t commit_us[MAX_WRITES]; /* by write number */
static int64_t *arrival; /* [version * ndev + device], 0 = not arrived */
static int nwrites = 200;
static atomic_int writer_done;

static void queue(dev *d, kt_mpw *w)
{
	memcpy(d->out + LWS_PRE, w->sb.data, w->sb.size);
	d->out_len = w->sb.size;
	lws_callback_on_writable(d->wsi);
}

static int on_op(void *user, const kt_op *op)
{
	dev *d = user;
	if (op->id.len != KT_UUID_LEN || memcmp(op->id.s, target, KT_UUID_LEN) != 0)
		return 0;
	if (++d->in_frame > 1)
		d->twice++;
	if (op->op != KT_OP_PUT)
		return 0;
	if (op->v <= d->last_v) {
		d->older++;
		return 0;
	}
	d->last_v = op->v;
	d->got++;
	if (op->v > base_v && op->v <= base_v + nwrites)
		arrival[(op->v - base_v - 1) * ndev + (d - devs)] = kt_mono_us(); /* matched with commit times at the end */
	return 0;
}

static void on_message(dev *d, const unsigned char *buf, size_t len)
{
	kt_msgtype t;
	kt_mpw w;
	kt_str cur;
	if (proto_msg_type(buf, len, KT_MAX_STR, &t))
		return;
	kt_mpw_init(&w);
	if (t == KT_MSG_WELCOME) {
		kt_login l = {{d->acc->email, strlen(d->acc->email)}, {d->acc->password, strlen(d->acc->password)}};
		proto_login_encode(&w, &l);
		queue(d, &w);
	} else if (t == KT_MSG_AUTH_OK) {
		kt_cursor_msg m = {0};
		proto_sync_encode(&w, &m);
		queue(d, &w);
	} else if (t == KT_MSG_SYNCED && !d->ready) {
		d->ready = true;
		atomic_fetch_add(&nready, 1);
	} else if (t == KT_MSG_CHANGES) {
		d->in_frame = 0;
		if (proto_changes_decode(buf, len, on_op, d, &cur))
			fprintf(stderr, "bad changes message\n");
	} else if (t == KT_MSG_ERROR) {
		kt_error_msg e;
		if (proto_error_decode(buf, len, &e) == KT_OK)
			fprintf(stderr, "device %s: server error %.*s\n", d->device, (int)e.code.len, e.code.s);
		else
			fprintf(stderr, "device %s: server error\n", d->device);
	}
	kt_mpw_free(&w);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	dev *d = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		kt_mpw w;
		uint8_t v = 1;
		kt_hello h = {1u << v, {d->device, KT_UUID_LEN}, {"kt-bench", 8}};
		kt_mpw_init(&w);
		proto_hello_encode(&w, &h);
		queue(d, &w);
		kt_mpw_free(&w);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (bench_inbuf_add(&d->in, wsi, in, len)) {
			if (atomic_load_explicit(&writing, memory_order_relaxed))
				atomic_fetch_add_explicit(&frames_read, 1, memory_order_relaxed);
			on_message(d, d->in.buf, d->in.len);
			bench_inbuf_reset(&d->in);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (d->out_len) {
			size_t n = d->out_len;
			d->out_len = 0;
			if (lws_write(wsi, d->out + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n)
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "?");
		d->wsi = NULL;
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		d->wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{KT_SUBPROTOCOL, callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

typedef struct writer_args {
	const char *db;
} writer_args;

static void *writer(void *arg)
{
	writer_args *a = arg;
	kt_store *st;
	const char *msg;
	char note[64];
	if (store_open(a->db, 0, &st, &msg)) {
		fprintf(stderr, "writer: %s\n", msg);
		atomic_store(&writer_done, 1);
		return NULL;
	}
	for (int i = 0; i < nwrites; i++) {
		int64_t v = 0;
		snprintf(note, sizeof note, "bench edit %d", i);
		kt_field f = {"client_note", note};
		if (store_update(st, "appointment", target, &f, 1, &v) || v != base_v + i + 1) {
			fprintf(stderr, "writer: update failed\n");
			break;
		}
		atomic_store(&commit_us[i], kt_mono_us());
		struct timespec ts = {0, 20 * 1000 * 1000}; /* 50 writes/s */
		nanosleep(&ts, NULL);
	}
	store_close(st);
	sleep(1); /* let the last changes arrive */
	atomic_store(&writer_done, 1);
	return NULL;
}

/* One client loop: its own lws context and the devices first..last-1. */
typedef struct loop {
	pthread_t th;
	struct lws_context *ctx;
	int first, last;
	double cpu_ms; /* this thread's CPU over the writes */
	int port;
	const bench_account **pool;
	int npool;
	int64_t t0;
} loop;

static double thread_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void loop_init(loop *l)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned)(l->last - l->first) + 64;
	l->ctx = lws_create_context(&info);
}

static atomic_int phase; /* 0 connect, 1 wait for the writes, 2 writes, 3 done */
/* sign-in (Argon2id, on purpose slow) and first snapshots: 120 s, or 0.25 s
 * a device beyond that (1,000 devices on a busy 2-core machine took 115 s
 * of the old 120 s limit, and once did not finish in it) */
static int64_t setup_limit_us = 120 * 1000000LL;

static void *loop_run(void *arg)
{
	loop *l = arg;
	/* connect in waves of 16 devices per loop: the server queues at most
	 * KT_AUTH_QUEUE password checks and answers "busy" beyond that */
	for (int first = l->first; first < l->last; first += 16) {
		int last = first + 16 < l->last ? first + 16 : l->last, ready;
		for (int i = first; i < last; i++) {
			dev *d = &devs[i];
			d->acc = l->pool[i % l->npool];
			kt_uuid7(d->device);
			d->last_v = base_v; /* what its snapshot holds */
			d->wsi = bench_ws_connect(l->ctx, l->port, KT_SUBPROTOCOL, d, NULL, NULL);
		}
		do {
			lws_service(l->ctx, 0);
			ready = 0;
			for (int i = l->first; i < last; i++)
				ready += devs[i].ready;
		} while (ready < last - l->first && kt_mono_us() - l->t0 < setup_limit_us);
	}
	while (atomic_load(&phase) < 2)
		lws_service(l->ctx, 0);
	double c0 = thread_cpu_ms();
	while (atomic_load(&phase) < 3)
		lws_service(l->ctx, 0);
	l->cpu_ms = thread_cpu_ms() - c0;
	return NULL;
}

int main(int argc, char **argv)
{
	bench_server b;
	pthread_t th;
	writer_args wa;
	const bench_account *pool[8];
	int npool = 0, nloops;
	loop loops[MAX_THREADS];

	if (argc < 2) {
		fprintf(stderr, "usage: %s SERVER_BIN [devices] [writes] [threads]\n", argv[0]);
		return 2;
	}
	ndev = argc > 2 ? atoi(argv[2]) : 100;
	nwrites = argc > 3 ? atoi(argv[3]) : 200;
	nloops = argc > 4 ? atoi(argv[4]) : 1;
	if (ndev < 1 || ndev > MAX_DEV || nwrites < 1 || nwrites > MAX_WRITES || nloops < 1 || nloops > MAX_THREADS ||
	    nloops > ndev)
		return 2;
	bench_raise_nofile(ndev + 256);
	if (ndev * 250000LL > setup_limit_us)
		setup_limit_us = ndev * 250000LL;
	if (sodium_init() < 0 || bench_server_start(&b, argv[1], 1)) {
		fprintf(stderr, "cannot start the demo server\n");
		return 1;
	}
	/* the devices: the owner and every staff member of the first location */
	const char *loc = NULL;
	for (int i = 0; i < b.nacc && npool < 8; i++) {
		if (!strcmp(b.acc[i].role, "owner"))
			pool[npool++] = &b.acc[i];
		else if (strcmp(b.acc[i].role, "client") != 0 && (!loc || !strcmp(loc, b.acc[i].location))) {
			loc = b.acc[i].location;
			pool[npool++] = &b.acc[i];
		}
	}
	{ /* an appointment at that location, which all of them may see */
		kt_store *st;
		const char *msg;
		sqlite3_stmt *s;
		if (store_open(b.db, 0, &st, &msg))
			return 1;
		sqlite3_prepare_v2(store_db(st),
				   "SELECT a.id, a.version FROM appointment a JOIN location l ON l.id = a.location_id "
				   "WHERE l.name = ? ORDER BY a.start_at DESC LIMIT 1",
				   -1, &s, NULL);
		sqlite3_bind_text(s, 1, loc, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(target, sizeof target, "%s", (const char *)sqlite3_column_text(s, 0));
			base_v = sqlite3_column_int64(s, 1);
		}
		sqlite3_finalize(s);
		store_close(st);
	}
	arrival = calloc((size_t)ndev * (size_t)(nwrites + 2), sizeof *arrival);

	lws_set_log_level(LLL_ERR, NULL);
	int64_t t0 = kt_mono_us();
	for (int k = 0; k < nloops; k++) {
		loop *l = &loops[k];
		memset(l, 0, sizeof *l);
		l->first = ndev * k / nloops;
		l->last = ndev * (k + 1) / nloops;
		l->port = b.port;
		l->pool = pool;
		l->npool = npool;
		l->t0 = t0;
		loop_init(l);
		if (!l->ctx || pthread_create(&l->th, NULL, loop_run, l)) {
			fprintf(stderr, "cannot start client loop %d\n", k);
			return 1;
		}
	}
	while (atomic_load(&nready) < ndev && kt_mono_us() - t0 < setup_limit_us + 1000000) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&nready) < ndev) {
		fprintf(stderr, "only %d of %d devices synced\n", atomic_load(&nready), ndev);
		bench_server_stop(&b);
		return 1;
	}
	double setup_s = (double)(kt_mono_us() - t0) / 1e6;
	wa.db = b.db;
	double srv0 = bench_server_cpu_ms(&b);
	atomic_store(&writing, 1);
	atomic_store(&phase, 2);
	pthread_create(&th, NULL, writer, &wa);
	pthread_join(th, NULL);
	atomic_store(&phase, 3);
	double srv_ms = bench_server_cpu_ms(&b) - srv0, cli_ms = 0;
	for (int k = 0; k < nloops; k++) {
		pthread_join(loops[k].th, NULL);
		cli_ms += loops[k].cpu_ms;
	}
	double *lat = calloc((size_t)ndev * (size_t)nwrites + 1, sizeof *lat);
	int n = 0;
	for (int w = 0; w < nwrites; w++)
		for (int k = 0; k < ndev; k++) {
			int64_t a = arrival[w * ndev + k], c = atomic_load(&commit_us[w]);
			if (a && c) /* commit_us is taken just after COMMIT returns: clamp the rare race */
				lat[n++] = a > c ? (double)(a - c) / 1000.0 : 0.0;
		}
	double p50 = bench_percentile(lat, n, 50), p99 = bench_percentile(lat, n, 99);
	double max = n ? lat[n - 1] : 0;
	/* what the protocol promises, per device */
	long older = 0, twice = 0, behind = 0;
	for (int k = 0; k < ndev; k++) {
		older += devs[k].older;
		twice += devs[k].twice;
		behind += devs[k].last_v != base_v + nwrites;
	}
	long frames = atomic_load(&frames_read);
	printf("propagation: %d devices (%d accounts), %d writes, %d versions delivered of %d written "
	       "(%d skipped by devices that were behind: allowed)\n",
	       ndev, npool, nwrites, n, ndev * nwrites, ndev * nwrites - n);
	printf("propagation: at the latest version: %d of %d devices; older or repeated versions: %ld; "
	       "row twice in one frame: %ld\n",
	       ndev - (int)behind, ndev, older, twice);
	printf("propagation: p50 %.2f ms, p99 %.2f ms, max %.2f ms (setup: sign-in + snapshots %.1f s)\n", p50,
	       p99, max, setup_s);
	printf("propagation: server CPU %.1f us per delivered change (%.0f ms over the writes, idle included)\n",
	       n ? srv_ms * 1000.0 / n : 0.0, srv_ms);
	printf("propagation: bench CPU %.1f us per frame read (%ld frames, %d client loop%s): one loop reads a "
	       "commit's %d devices' frames one after another, about %.2f ms for the last\n",
	       frames ? cli_ms * 1000.0 / (double)frames : 0.0, frames, nloops, nloops > 1 ? "s" : "", ndev,
	       frames && nwrites ? cli_ms / (double)nwrites / nloops : 0.0);
	for (int k = 0; k < nloops; k++)
		lws_context_destroy(loops[k].ctx);
	bench_server_stop(&b);
	return older || twice || behind ? 1 : 0;
}
