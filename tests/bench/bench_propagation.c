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
 *
 * The devices are the lean client of bench_raw.h, signed in once with
 * their passwords and kept (the fixture of bench_conn.h, pool
 * "location-staff": the same devices kt-bench-load --first uses), then
 * `resume`. Until 2026-12-06 they were libwebsockets clients that signed in
 * with their passwords in every run: lws's client parsed every byte itself,
 * about 5 us per frame read, as much as the server spent writing it, so
 * with 1,000 devices on two loops the bench's own reading was half of each
 * commit's latency on a 2-core machine, time no real device, which reads
 * only its own frame, spends. What is timed (COMMIT returned -> the frame
 * read and decoded by the device's loop) and what counts as a violation
 * did not change; each message is still checked whole (proto_msg_type)
 * and its ops decoded.
 * usage: kt-bench-propagation SERVER_BIN [devices] [writes] [threads] */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include "bench_conn.h"
#include "bench_raw.h"
#include "bench_util.h"
#include "kt_proto.h"
#include "kt_util.h"
#include "db/store.h"

#define MAX_DEV 2000
#define MAX_WRITES 10000
#define MAX_THREADS 4

typedef struct dev {
	bench_raw r;       /* first: the message hook gets &d->r */
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

/* A whole message of device d (its sign-in is answered by bench_raw). */
static void on_message(bench_raw *r, const unsigned char *buf, size_t len)
{
	dev *d = (dev *)r;
	kt_msgtype t;
	kt_str cur;
	if (atomic_load_explicit(&writing, memory_order_relaxed))
		atomic_fetch_add_explicit(&frames_read, 1, memory_order_relaxed);
	if (len > BENCH_RAW_KEEP)
		return; /* a snapshot page: its rows are the appointment's base version at most */
	if (proto_msg_type(buf, len, KT_MAX_STR, &t))
		return;
	if (t == KT_MSG_SYNCED && !d->ready) {
		d->ready = true;
		atomic_fetch_add(&nready, 1);
	} else if (t == KT_MSG_CHANGES) {
		d->in_frame = 0;
		if (proto_changes_decode(buf, len, on_op, d, &cur))
			fprintf(stderr, "bad changes message\n");
	} else if (t == KT_MSG_ERROR) {
		kt_error_msg e;
		if (proto_error_decode(buf, len, &e) == KT_OK)
			fprintf(stderr, "device %s: server error %.*s\n", r->device, (int)e.code.len, e.code.s);
		else
			fprintf(stderr, "device %s: server error\n", r->device);
	}
}

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

/* One client loop: its own epoll set and the devices first..last-1. */
typedef struct loop {
	pthread_t th;
	int first, last;
	double cpu_ms; /* this thread's CPU over the writes */
	int port;
	const bench_fixture *fx;
	int64_t t0;
	int failed; /* connections that ended */
} loop;

static double thread_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static atomic_int phase; /* 0 connect, 1 wait for the writes, 2 writes, 3 done */
/* sign-in (Argon2id, on purpose slow) and first snapshots: 120 s, or 0.25 s
 * a device beyond that (1,000 devices on a busy 2-core machine took 115 s
 * of the old 120 s limit, and once did not finish in it) */
static int64_t setup_limit_us = 120 * 1000000LL;

static void *loop_run(void *arg)
{
	loop *l = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned char *buf = malloc(1 << 18);
	double c0 = 0;
	bool timing = false;
	if (ep < 0 || !buf) {
		l->failed = l->last - l->first;
		free(buf);
		return NULL;
	}
	/* all at once: `resume` is no password check, nothing to queue */
	for (int i = l->first; i < l->last; i++) {
		dev *d = &devs[i];
		memcpy(d->r.device, l->fx->dev[i].device, sizeof d->r.device);
		memcpy(d->r.token, l->fx->dev[i].token, sizeof d->r.token);
		d->r.on_message = on_message;
		d->last_v = base_v; /* what its snapshot holds */
		struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
		if (bench_raw_connect(&d->r, l->port) || epoll_ctl(ep, EPOLL_CTL_ADD, d->r.fd, &ev))
			l->failed++;
	}
	for (;;) {
		int ph = atomic_load(&phase);
		if (ph >= 3)
			break;
		if (ph == 2 && !timing) {
			c0 = thread_cpu_ms();
			timing = true;
		}
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 10);
		for (int e = 0; e < k; e++) {
			dev *d = &devs[evs[e].data.u32];
			int rc;
			if (d->r.state == BENCH_RAW_CONNECTING) {
				struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[e].data.u32};
				rc = bench_raw_connected(&d->r) || epoll_ctl(ep, EPOLL_CTL_MOD, d->r.fd, &ev);
			} else
				rc = bench_raw_read(&d->r, buf, 1 << 18);
			if (rc) {
				epoll_ctl(ep, EPOLL_CTL_DEL, d->r.fd, NULL);
				close(d->r.fd);
				d->r.fd = -1;
				d->r.state = BENCH_RAW_FAILED;
				l->failed++;
			}
		}
	}
	l->cpu_ms = timing ? thread_cpu_ms() - c0 : 0;
	for (int i = l->first; i < l->last; i++)
		if (devs[i].r.fd >= 0)
			close(devs[i].r.fd);
	close(ep);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [devices] [writes] [threads]",
		   "Time from a committed write to its arrival at N connected devices (default 100), p50/p99, and server CPU per delivered change.");
	bench_fixture fx;
	pthread_t th;
	writer_args wa;
	int nloops;
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
	/* the devices: the owner and every staff member of the first location */
	if (sodium_init() < 0 ||
	    bench_fixture_start(&fx, argv[1], 1, ndev, "location-staff", bench_pick_location_staff)) {
		fprintf(stderr, "cannot start the demo server\n");
		return 1;
	}
	bench_server *b = &fx.srv;
	const char *loc = NULL;
	for (int i = 0; i < fx.npool && !loc; i++)
		if (strcmp(b->acc[fx.pool[i]].role, "owner") != 0)
			loc = b->acc[fx.pool[i]].location;
	if (!loc) {
		fprintf(stderr, "no staff account in the pool\n");
		bench_fixture_stop(&fx);
		return 1;
	}
	{ /* an appointment at that location, which all of them may see */
		kt_store *st;
		const char *msg;
		sqlite3_stmt *s;
		if (store_open(b->db, 0, &st, &msg))
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

	int64_t t0 = kt_mono_us();
	for (int k = 0; k < nloops; k++) {
		loop *l = &loops[k];
		memset(l, 0, sizeof *l);
		l->first = ndev * k / nloops;
		l->last = ndev * (k + 1) / nloops;
		l->port = b->port;
		l->fx = &fx;
		l->t0 = t0;
		if (pthread_create(&l->th, NULL, loop_run, l)) {
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
		atomic_store(&phase, 3);
		for (int k = 0; k < nloops; k++)
			pthread_join(loops[k].th, NULL);
		bench_fixture_stop(&fx);
		return 1;
	}
	double setup_s = (double)(kt_mono_us() - t0) / 1e6;
	wa.db = b->db;
	double srv0 = bench_server_cpu_ms(b);
	atomic_store(&writing, 1);
	atomic_store(&phase, 2);
	pthread_create(&th, NULL, writer, &wa);
	pthread_join(th, NULL);
	atomic_store(&phase, 3);
	double srv_ms = bench_server_cpu_ms(b) - srv0, cli_ms = 0;
	int failed = 0;
	for (int k = 0; k < nloops; k++) {
		pthread_join(loops[k].th, NULL);
		cli_ms += loops[k].cpu_ms;
		failed += loops[k].failed;
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
	       ndev, fx.npool, nwrites, n, ndev * nwrites, ndev * nwrites - n);
	printf("propagation: at the latest version: %d of %d devices; older or repeated versions: %ld; "
	       "row twice in one frame: %ld\n",
	       ndev - (int)behind, ndev, older, twice);
	printf("propagation: p50 %.2f ms, p99 %.2f ms, max %.2f ms (setup: resume + snapshots %.1f s)\n", p50,
	       p99, max, setup_s);
	if (failed)
		printf("propagation: %d connections ended during the run\n", failed);
	printf("propagation: server CPU %.1f us per delivered change (%.0f ms over the writes, idle included)\n",
	       n ? srv_ms * 1000.0 / n : 0.0, srv_ms);
	printf("propagation: bench CPU %.1f us per frame read (%ld frames, %d client loop%s): one loop reads a "
	       "commit's %d devices' frames one after another, about %.2f ms for the last\n",
	       frames ? cli_ms * 1000.0 / (double)frames : 0.0, frames, nloops, nloops > 1 ? "s" : "", ndev,
	       frames && nwrites ? cli_ms / (double)nwrites / nloops : 0.0);
	bench_fixture_stop(&fx);
	return older || twice || behind ? 1 : 0;
}
