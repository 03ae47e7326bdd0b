/* bench_load.c - load and soak: many signed-in devices on one
 * server, in one libwebsockets client process (epoll loop, common/kt_evloop.h).
 *
 *   1. connect: N devices (default 10,000) resume prepared sessions and sync;
 *      server memory per device = server RSS delta / N.
 *   2. latency: one write per second per location (20 locations), from a
 *      second thread through the store API; change latency p50/p99 measured
 *      at the devices (arrival minus the writer's COMMIT return).
 *   3. storm: S devices (default 5,000) drop and reconnect at once, resume
 *      with their token and their last cursor; time until all are synced.
 *   4. snapshot: a second server on the demo database; D devices (default
 *      100) of the owner do their first snapshot at once; time, rows/s.
 *   --first N: only this: N devices of the demo salon (the owner and the
 *      staff of one location, as kt-bench-propagation) signed in once with
 *      their passwords (the cached fixture of bench_conn.h; sign-in reported
 *      apart), then all N connect at once, `resume`, `sync` from no cursor;
 *      time until every one is `synced`, rows/s, server CPU per row. The
 *      devices run in --procs K processes (default 2), on a lean client
 *      of their own (--client lws: on libwebsockets').
 *   --soak SECONDS replaces 2-3: the writes run for that long while 2 % of the
 *   devices reconnect every interval; prints server RSS and p50/p99 per
 *   interval and the drift between the first and the last interval.
 *
 * Signing 10,000 devices in with Argon2id would take an hour, so the bench
 * creates their sessions directly in the database before the server starts
 * (store_session_create with a token hashed under the server's token_key,
 * as auth_workers.c does): every device then signs in with `resume`, as a device
 * does after its first sign-in. The data is made here too, through the
 * store API: 20 locations (--locations), each with a manager, a reception
 * and two specialists, 25 clients and 50 appointments; devices are spread
 * over the 80 staff members, so each sees one location (about 80 rows).
 *
 * usage: kt-bench-load SERVER_BIN [--devices N] [--storm N] [--snapshot N]
 *        [--locations N] [--writes-for SECONDS] [--soak SECONDS]
 *        [--interval SECONDS] [--addrs K] [--only connect|snapshot]
 *        [--first N [--procs K] [--client raw|lws]] */
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>
#include "bench_conn.h"
#include "bench_org.h"
#include "bench_util.h"
#include "kt_proto.h"
#include "kt_util.h"
#include "db/store.h"

#define MAX_LOC 64
#define STAFF_PER_LOC BENCH_STAFF_PER_LOC
#define WAVE 500 /* connections opened at a time in the connect phase */
/* a loop turn may sleep up to 30 s with nothing to do: a 10 ms tick
 * keeps the loops' clocks and flags looked at. */
#define TICK_US (10 * LWS_US_PER_MS)

typedef struct dev {
	bench_conn c; /* first: the hooks get &d->c */
	int loc; /* location index, -1: every location (owner) */
	bool synced, want_connect;
	int64_t t_connect, t_synced;
	int64_t rows;
} dev;

static dev *devs;
static int ndev, nsynced, nclosed_err, nerrors;
static bench_client cl; /* epoll under lws, as in the server (common/kt_evloop.h) */
static const char *const *src_addr;
static int nsrc = 1;
static int pending_connects;

/* writes: commit time of write k at location l, by appointment version */
static int nloc = 20;
static char target[MAX_LOC][KT_UUID_LEN + 1];
static int64_t base_v[MAX_LOC];
static _Atomic int64_t *commit_us; /* [l * max_writes + k] */
static int max_writes;
static atomic_int writer_stop, writer_done;
static int64_t deliveries;
static bench_samples lat; /* change latencies, ms */

/* ---- the server process ---- */

static long server_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Anonymous memory only (heap, stacks): the SQLite database is mapped
 * (mmap_size), so its file pages count in VmRSS as the file grows. */
static long server_anon_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static long server_fd_limit(pid_t pid)
{
	char path[64], line[256];
	long soft = 0;
	snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Max open files %ld", &soft) == 1)
			break;
	if (f)
		fclose(f);
	return soft;
}

/* ---- data and sessions, through the store API ---- */

/* A session for each device, the way auth_workers.c makes one after a password check. */
static int make_sessions(kt_store *st, dev *d, int n, bench_id *principal, int nprincipal)
{
	bench_sessions m;
	if (bench_sessions_begin(&m, st))
		return -1;
	for (int i = 0; i < n; i++)
		if (bench_sessions_make(&m, principal[i % nprincipal], d[i].c.device, d[i].c.token))
			return bench_sessions_end(&m, false);
	return bench_sessions_end(&m, true);
}

/* ---- the devices ---- */

static int on_op(void *user, const kt_op *op)
{
	dev *d = user;
	int64_t now = kt_mono_us();
	if (op->op != KT_OP_PUT || op->id.len != KT_UUID_LEN || d->loc < 0 || !commit_us)
		return 0;
	if (memcmp(op->id.s, target[d->loc], KT_UUID_LEN) != 0)
		return 0;
	int64_t k = op->v - base_v[d->loc] - 1;
	if (k < 0 || k >= max_writes)
		return 0;
	int64_t c = atomic_load(&commit_us[d->loc * max_writes + k]);
	/* 0: the change arrived before the writer read the clock after COMMIT */
	bench_samples_add(&lat, c && now > c ? (double)(now - c) / 1000.0 : 0.0);
	deliveries++;
	return 0;
}

/* --first: count a page's rows from its array header instead of decoding
 * each row (the server's encoding is t, then rows: what proto_page_encode
 * writes); 0 when the page is not in that form (then decode it). */
static bool count_only;
static int64_t page_count(const unsigned char *b, size_t len)
{
	static const unsigned char head[] = {0x82, 0xa1, 't', 0xa4, 'p', 'a', 'g', 'e', 0xa4, 'r', 'o', 'w', 's'};
	size_t h = sizeof head;
	if (len < h + 5 || memcmp(b, head, h))
		return 0;
	if ((b[h] & 0xf0) == 0x90)
		return b[h] & 0x0f;
	if (b[h] == 0xdc)
		return (int64_t)b[h + 1] << 8 | b[h + 2];
	if (b[h] == 0xdd)
		return (int64_t)b[h + 1] << 24 | (int64_t)b[h + 2] << 16 | (int64_t)b[h + 3] << 8 | b[h + 4];
	return 0;
}

static int count_row(void *user, const kt_op *op)
{
	(void)op;
	((dev *)user)->rows++;
	return 0;
}

/* welcome and auth_ok are answered by bench_conn (resume, sync from the cursor kept here) */
static void on_message(bench_conn *c, kt_msgtype t, const unsigned char *buf, size_t len)
{
	dev *d = (dev *)c;
	kt_cursor_msg m = {0};
	switch (t) {
	case KT_MSG_PAGE: {
		int64_t k = count_only ? page_count(buf, len) : 0;
		if (k > 0) {
			d->rows += k;
			break;
		}
		if (proto_page_decode(buf, len, count_row, d))
			nerrors++;
		break;
	}
	case KT_MSG_SNAPSHOT_END:
		if (!proto_snapshot_end_decode(buf, len, &m))
			bench_conn_keep_cursor(c, &m.cursor);
		break;
	case KT_MSG_SYNCED:
		if (!proto_synced_decode(buf, len, &m))
			bench_conn_keep_cursor(c, &m.cursor);
		if (!d->synced) {
			d->synced = true;
			d->t_synced = kt_mono_us();
			nsynced++;
		}
		break;
	case KT_MSG_CHANGES: {
		kt_str cur = {0};
		if (proto_changes_decode(buf, len, on_op, d, &cur))
			nerrors++;
		else
			bench_conn_keep_cursor(c, &cur);
		break;
	}
	case KT_MSG_ERROR:
		bench_conn_error_msg(c, buf, len, &nerrors);
		break;
	default:
		break;
	}
}

static void on_error(bench_conn *c, const char *why)
{
	dev *d = (dev *)c;
	if (nclosed_err++ < 5)
		fprintf(stderr, "connection error: %s\n", why ? why : "?");
	d->want_connect = true; /* try again */
	pending_connects++;
}

static void on_closed(bench_conn *c)
{
	dev *d = (dev *)c;
	if (d->synced)
		nsynced--;
	d->synced = false;
	if (d->want_connect)
		pending_connects++; /* soak churn: come back at once */
}

static const bench_client_hooks hooks = {on_message, on_error, on_closed};

static void connect_dev(dev *d, int i)
{
	d->want_connect = false;
	d->synced = false;
	d->t_connect = kt_mono_us();
	if (bench_conn_connect(&cl, &d->c, nsrc > 1 ? src_addr[i % nsrc] : NULL)) {
		d->want_connect = true;
		pending_connects++;
	}
}

/* Service until `done` devices of [first, last) are synced or the deadline passes. */
static void service_until(int first, int last, int64_t deadline_us)
{
	for (;;) {
		int n = 0;
		for (int i = first; i < last; i++)
			n += devs[i].synced;
		if (n == last - first || kt_mono_us() > deadline_us)
			return;
		if (pending_connects) {
			pending_connects = 0;
			for (int i = first; i < last; i++)
				if (devs[i].want_connect && !devs[i].c.wsi)
					connect_dev(&devs[i], i);
		}
		bench_client_service(&cl);
	}
}

static void service_for(int64_t us)
{
	int64_t end = kt_mono_us() + us;
	while (kt_mono_us() < end) {
		if (pending_connects) {
			pending_connects = 0;
			for (int i = 0; i < ndev; i++)
				if (devs[i].want_connect && !devs[i].c.wsi)
					connect_dev(&devs[i], i);
		}
		bench_client_service(&cl);
	}
}

static void close_devs(int first, int last)
{
	for (int i = first; i < last; i++)
		bench_conn_close(&devs[i].c);
	int64_t end = kt_mono_us() + 10 * 1000000LL;
	for (;;) {
		int open = 0;
		for (int i = first; i < last; i++)
			open += devs[i].c.wsi != NULL;
		if (!open || kt_mono_us() > end)
			return;
		bench_client_service(&cl);
	}
}

/* ---- the writer: one write per second per location ---- */

typedef struct writer_args {
	const char *db;
	int seconds;
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
	int64_t t0 = kt_mono_us();
	for (int k = 0; k < a->seconds && k < max_writes && !atomic_load(&writer_stop); k++)
		for (int l = 0; l < nloc && !atomic_load(&writer_stop); l++) {
			/* spread the locations over the second */
			int64_t due = t0 + (int64_t)k * 1000000 + (int64_t)l * 1000000 / nloc, now = kt_mono_us();
			if (due > now) {
				struct timespec ts = {(due - now) / 1000000, ((due - now) % 1000000) * 1000};
				nanosleep(&ts, NULL);
			}
			int64_t v = 0;
			snprintf(note, sizeof note, "load %d", k);
			kt_field f = {"client_note", note};
			if (store_update(st, "appointment", target[l], &f, 1, &v) || v != base_v[l] + k + 1) {
				fprintf(stderr, "writer: update failed (v %lld)\n", (long long)v);
				atomic_store(&writer_stop, 1);
				break;
			}
			atomic_store(&commit_us[l * max_writes + k], kt_mono_us());
		}
	store_close(st);
	atomic_store(&writer_done, 1);
	return NULL;
}

static void report_interval(const char *what, int i, double secs, long rss, long rss0)
{
	double p50 = bench_percentile(lat.v, lat.n, 50), p99 = bench_percentile(lat.v, lat.n, 99);
	double max = lat.n ? lat.v[lat.n - 1] : 0;
	printf("%s %d: t=%.0f s, server RSS %ld KB (%+ld KB), %d deliveries, p50 %.2f ms, p99 %.2f ms, max %.2f ms, "
	       "%d/%d synced\n",
	       what, i, secs, rss, rss - rss0, lat.n, p50, p99, max, nsynced, ndev);
	fflush(stdout);
}

/* ---- part 4: first snapshots on the demo database ---- */

static int snapshot_part(const char *server_bin, int n)
{
	bench_server b;
	kt_store *st;
	const char *msg;
	bench_id owner[1];
	if (bench_server_start(&b, server_bin, 1)) {
		fprintf(stderr, "cannot start the demo server\n");
		return 1;
	}
	kill(b.pid, SIGTERM); /* sessions go in while nobody serves; then serve again */
	waitpid(b.pid, NULL, 0);
	b.pid = 0;
	b.port = 0;
	dev *d = calloc((size_t)n, sizeof *d);
	if (store_open(b.db, 0, &st, &msg)) {
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	sqlite3_stmt *s;
	sqlite3_prepare_v2(store_db(st), "SELECT id FROM staff WHERE role = 'owner' LIMIT 1", -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(owner[0], sizeof owner[0], "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	int rc = make_sessions(st, d, n, owner, 1);
	store_close(st);
	if (rc || bench_server_serve(&b, server_bin)) {
		fprintf(stderr, "cannot prepare the snapshot server\n");
		return 1;
	}
	for (int i = 0; i < n; i++)
		d[i].loc = -1;
	devs = d;
	ndev = n;
	nsynced = 0;
	if (bench_client_start(&cl, b.port, "kt-bench-load", TICK_US, &hooks)) {
		fprintf(stderr, "cannot create the client context\n");
		return 1;
	}
	int64_t t0 = kt_mono_us();
	for (int i = 0; i < n; i++)
		connect_dev(&d[i], i);
	service_until(0, n, t0 + 600 * 1000000LL);
	double secs = (double)(kt_mono_us() - t0) / 1e6;
	int64_t rows = 0;
	double *per = calloc((size_t)n, sizeof *per);
	for (int i = 0; i < n; i++) {
		rows += d[i].rows;
		per[i] = d[i].synced ? (double)(d[i].t_synced - d[i].t_connect) / 1e6 : 0;
	}
	printf("snapshot: %d/%d devices done in %.2f s (first %.2f s, median %.2f s), %lld rows (%lld per device), "
	       "%.0f rows/s, server peak RSS %ld KB\n",
	       nsynced, n, secs, per[0] ? bench_percentile(per, n, 0) : 0, bench_percentile(per, n, 50),
	       (long long)rows, (long long)(n ? rows / n : 0), secs > 0 ? (double)rows / secs : 0,
	       server_rss_kb(b.pid));
	rc = nsynced == n ? 0 : 1;
	bench_client_stop(&cl);
	bench_server_stop(&b);
	free(per);
	for (int i = 0; i < n; i++)
		bench_inbuf_free(&d[i].c.in);
	free(d);
	return rc;
}

/* ---- --first N: first snapshots of password-signed-in devices ---- */

typedef struct first_rec {
	int64_t t_synced, rows;
} first_rec;

/* ---- --first: a lean WebSocket client (default; --client lws for lws's) ----
 *
 * libwebsockets' client parses every received byte on its own (two thirds
 * of the bench's CPU for 1.6 GB of pages, more than the server used). The
 * devices here are bench_raw.h's: the same protocol over plain sockets on
 * epoll; each message up to BENCH_RAW_KEEP bytes is checked whole
 * (proto_msg_type), a longer one must be a page and its rows are counted
 * from its header. */
#include <sys/epoll.h>
#include "bench_raw.h"

typedef struct rawdev {
	bench_raw r; /* first: the message hook gets &d->r */
	bool done;   /* synced, or failed */
	int64_t rows, t_synced;
	int errors;
} rawdev;

static int count_row_raw(void *user, const kt_op *op)
{
	(void)op;
	((rawdev *)user)->rows++;
	return 0;
}

/* welcome and auth_ok are answered by bench_raw (resume, sync) */
static void raw_message(bench_raw *r, const unsigned char *buf, size_t len)
{
	rawdev *d = (rawdev *)r;
	kt_msgtype t;
	if (len > BENCH_RAW_KEEP) {
		int64_t k = page_count(buf, BENCH_RAW_KEEP);
		if (k > 0)
			d->rows += k;
		else
			d->errors++, d->done = true;
		return;
	}
	if (proto_msg_type(buf, len, KT_MAX_STR, &t)) {
		d->errors++;
		d->done = true;
		return;
	}
	if (t == KT_MSG_PAGE) {
		int64_t k = page_count(buf, len);
		if (k > 0)
			d->rows += k;
		else if (proto_page_decode(buf, len, count_row_raw, d))
			d->errors++;
	} else if (t == KT_MSG_SYNCED) {
		d->t_synced = kt_mono_us();
		d->done = true;
	} else if (t == KT_MSG_ERROR) {
		kt_error_msg e;
		if (!proto_error_decode(buf, len, &e) && d->errors < 1)
			fprintf(stderr, "device %s: error %.*s\n", r->device, (int)e.code.len, e.code.s);
		d->errors++;
		d->done = true;
	}
}

static int raw_slice(int port, const bench_fixture *fx, int first, int cnt, int64_t t0, int fd_out)
{
	rawdev *d = calloc((size_t)cnt, sizeof *d);
	int ep = epoll_create1(0), done = 0;
	static unsigned char buf[1 << 18];
	double cpu0 = bench_self_cpu_ms();
	if (!d || ep < 0)
		return 1;
	for (int i = 0; i < cnt; i++) {
		memcpy(d[i].r.token, fx->dev[first + i].token, sizeof d[i].r.token);
		memcpy(d[i].r.device, fx->dev[first + i].device, sizeof d[i].r.device);
		d[i].r.on_message = raw_message;
		struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
		if (bench_raw_connect(&d[i].r, port) || epoll_ctl(ep, EPOLL_CTL_ADD, d[i].r.fd, &ev)) {
			d[i].done = true;
			done++;
		}
	}
	while (done < cnt && kt_mono_us() < t0 + 300 * 1000000LL) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 100);
		for (int e = 0; e < k; e++) {
			rawdev *x = &d[evs[e].data.u32];
			if (x->r.state == BENCH_RAW_CONNECTING) {
				struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[e].data.u32};
				if (bench_raw_connected(&x->r) || epoll_ctl(ep, EPOLL_CTL_MOD, x->r.fd, &ev))
					x->done = true;
			} else if (bench_raw_read(&x->r, buf, sizeof buf))
				x->done = true;
			if (x->done) {
				epoll_ctl(ep, EPOLL_CTL_DEL, x->r.fd, NULL);
				close(x->r.fd);
				x->r.fd = -1;
				done++;
			}
		}
	}
	double cpu = bench_self_cpu_ms() - cpu0;
	int64_t errors = 0;
	for (int i = 0; i < cnt; i++) {
		bool ok = d[i].t_synced != 0; /* it got `synced` before anything ended it */
		first_rec r = {ok ? d[i].t_synced : 0, d[i].rows};
		errors += d[i].errors + !ok;
		if (write(fd_out, &r, sizeof r) != (ssize_t)sizeof r)
			return 1;
		if (d[i].r.fd >= 0)
			close(d[i].r.fd);
	}
	first_rec tail = {errors, (int64_t)cpu};
	if (write(fd_out, &tail, sizeof tail) != (ssize_t)sizeof tail)
		return 1;
	close(ep);
	free(d);
	return 0;
}

/* One process's share of the devices, [first, first + cnt): connect all at
 * once, service until synced; per device (t_synced or 0, rows) written to fd,
 * then the errors seen and this process's CPU ms. */
static int first_slice(int port, dev *d, int cnt, int64_t t0, int fd)
{
	devs = d;
	ndev = cnt;
	nsynced = nerrors = 0;
	if (bench_client_start(&cl, port, "kt-bench", TICK_US, &hooks)) {
		fprintf(stderr, "cannot create the client context\n");
		return 1;
	}
	cl.peek_pages = count_only;
	double cpu0 = bench_self_cpu_ms();
	for (int i = 0; i < cnt; i++)
		connect_dev(&d[i], i);
	service_until(0, cnt, t0 + 300 * 1000000LL);
	double cpu = bench_self_cpu_ms() - cpu0;
	for (int i = 0; i < cnt; i++) {
		first_rec r = {d[i].synced ? d[i].t_synced : 0, d[i].rows};
		if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
			return 1;
	}
	first_rec tail = {nerrors, (int64_t)cpu};
	if (write(fd, &tail, sizeof tail) != (ssize_t)sizeof tail)
		return 1;
	bench_client_stop(&cl);
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t k = read(fd, (char *)buf + got, len - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static int first_part(const char *server_bin, int n, int nprocs, bool raw_client)
{
	bench_fixture fx;
	int pipes[8][2], rc = 0;
	pid_t pids[8];
	if (bench_fixture_start(&fx, server_bin, 1, n, "location-staff", bench_pick_location_staff)) {
		fprintf(stderr, "cannot make the signed-in fixture\n");
		return 1;
	}
	dev *d = calloc((size_t)n, sizeof *d);
	for (int i = 0; i < n; i++) {
		bench_fixture_conn(&fx, i, &d[i].c);
		d[i].loc = -1;
	}
	/* the devices take every byte but count rows from each page's header:
	 * decoding 6.6 million rows would be the bench's own limit
	 * (KT_BENCH_DECODE=1 decodes them) */
	count_only = !getenv("KT_BENCH_DECODE");
	long rss0 = server_rss_kb(fx.srv.pid);
	double cpu_srv0 = bench_server_cpu_ms(&fx.srv);
	/* the devices in nprocs processes: one lws client loop is a core's
	 * worth of work for 1.6 GB of pages (libwebsockets parses a frame byte by byte) */
	int64_t t0 = kt_mono_us();
	for (int p = 0; p < nprocs; p++) {
		int first = (int)((int64_t)n * p / nprocs), last = (int)((int64_t)n * (p + 1) / nprocs);
		if (pipe(pipes[p]) || (pids[p] = fork()) < 0) {
			fprintf(stderr, "cannot start the device processes\n");
			return 1;
		}
		if (pids[p] == 0) {
			close(pipes[p][0]);
			_exit(raw_client ? raw_slice(fx.srv.port, &fx, first, last - first, t0, pipes[p][1])
					 : first_slice(fx.srv.port, d + first, last - first, t0, pipes[p][1]));
		}
		close(pipes[p][1]);
	}
	int64_t rows = 0, errors = 0;
	double cpu_me = 0;
	double *per = calloc((size_t)n, sizeof *per);
	int ok = 0;
	for (int p = 0; p < nprocs; p++) {
		int first = (int)((int64_t)n * p / nprocs), last = (int)((int64_t)n * (p + 1) / nprocs);
		for (int i = first; i < last; i++) {
			first_rec r;
			if (read_all(pipes[p][0], &r, sizeof r)) {
				rc = 1;
				break;
			}
			rows += r.rows;
			if (r.t_synced)
				per[ok++] = (double)(r.t_synced - t0) / 1e6;
		}
		first_rec tail;
		if (!rc && !read_all(pipes[p][0], &tail, sizeof tail)) {
			errors += tail.t_synced;
			cpu_me += (double)tail.rows;
		} else
			rc = 1;
		close(pipes[p][0]);
		int st = 0;
		waitpid(pids[p], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	}
	double last_s = ok ? bench_percentile(per, ok, 100) : 0;
	double cpu_srv = bench_server_cpu_ms(&fx.srv) - cpu_srv0;
	printf("first: %d/%d devices connected, resumed and synced from no cursor, all at once, in %.2f s "
	       "(per device p50 %.2f s, p99 %.2f s); %lld rows (%lld per device), %.0f rows/s\n",
	       ok, n, last_s, bench_percentile(per, ok, 50), bench_percentile(per, ok, 99), (long long)rows,
	       (long long)(n ? rows / n : 0), last_s > 0 ? (double)rows / last_s : 0);
	printf("first: CPU server %.0f ms (%.2f us per row), the %d device processes %.0f ms (%s client, rows %s); server RSS "
	       "%ld KB -> %ld KB; %lld errors seen by devices; sign-in not included (see the fixture line)\n",
	       cpu_srv, rows ? cpu_srv * 1000 / (double)rows : 0, nprocs, cpu_me, raw_client ? "lean" : "lws",
	       count_only ? "counted from page headers" : "decoded", rss0, server_rss_kb(fx.srv.pid), (long long)errors);
	if (ok < n || errors)
		rc = 1;
	bench_fixture_stop(&fx);
	free(per);
	free(d);
	return rc;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [--devices N] [--storm N] [--snapshot N] [--locations N] [--writes-for S] [--first N] ...",
		   "Load and soak: many signed-in devices on one server; memory per device, change latency, a reconnect storm (see the file's header for every option).");
	int nfirst = 0, nprocs = 2;
	bool first_lws = false;
	int nstorm = 5000, nsnap = 100, writes_for = 30, soak = 0, interval = 60;
	const char *only = NULL;
	bench_server b;
	kt_store *st;
	static const char *const addrs[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4",
					    "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"};

	ndev = 10000;
	if (argc < 2) {
		fprintf(stderr, "usage: %s SERVER_BIN [--devices N] [--storm N] [--snapshot N] [--locations N] "
				"[--writes-for S] [--soak S] [--interval S] [--addrs K] [--only connect|snapshot] [--first N [--procs K] [--client raw|lws]]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i];
		int v = atoi(argv[i + 1]);
		if (!strcmp(k, "--devices"))
			ndev = v;
		else if (!strcmp(k, "--storm"))
			nstorm = v;
		else if (!strcmp(k, "--snapshot"))
			nsnap = v;
		else if (!strcmp(k, "--locations"))
			nloc = v;
		else if (!strcmp(k, "--writes-for"))
			writes_for = v;
		else if (!strcmp(k, "--soak"))
			soak = v;
		else if (!strcmp(k, "--interval"))
			interval = v;
		else if (!strcmp(k, "--addrs"))
			nsrc = v;
		else if (!strcmp(k, "--first"))
			nfirst = v;
		else if (!strcmp(k, "--procs"))
			nprocs = v;
		else if (!strcmp(k, "--client"))
			first_lws = !strcmp(argv[i + 1], "lws");
		else if (!strcmp(k, "--only"))
			only = argv[i + 1];
		else {
			fprintf(stderr, "unknown option %s\n", k);
			return 2;
		}
	}
	if (nstorm > ndev)
		nstorm = ndev;
	if (nprocs < 1 || nprocs > 8) {
		fprintf(stderr, "--procs: 1-8\n");
		return 2;
	}
	if (ndev < 1 || nloc < 1 || nloc > MAX_LOC || nsrc < 1 || nsrc > 8 || interval < 1) {
		fprintf(stderr, "bad option value (locations 1-%d, addrs 1-8)\n", MAX_LOC);
		return 2;
	}
	src_addr = addrs;
	if (sodium_init() < 0)
		return 1;
	bench_raise_nofile(ndev + nsnap + 200);

	if (nfirst > 0)
		return first_part(argv[1], nfirst, nprocs, !first_lws);
	if (only && !strcmp(only, "snapshot"))
		return snapshot_part(argv[1], nsnap);

	/* an empty database with server keys, then the bench data */
	if (bench_org_db(&b, argv[1], "load.db", &st)) {
		fprintf(stderr, "cannot make the database\n");
		return 1;
	}
	bench_org org;
	devs = calloc((size_t)ndev, sizeof *devs);
	int64_t tp = kt_mono_us();
	if (bench_org_make(st, nloc, &org) || make_sessions(st, devs, ndev, org.staff, nloc * STAFF_PER_LOC)) {
		fprintf(stderr, "cannot make the bench data\n");
		return 1;
	}
	for (int l = 0; l < nloc; l++) {
		memcpy(target[l], org.appt[l * BENCH_APPTS_PER_LOC], sizeof target[l]);
		base_v[l] = 1;
	}
	store_close(st);
	for (int i = 0; i < ndev; i++)
		devs[i].loc = (i % (nloc * STAFF_PER_LOC)) / STAFF_PER_LOC;
	printf("setup: %d locations, %d staff, %d sessions made in %.1f s\n", nloc, nloc * STAFF_PER_LOC, ndev,
	       (double)(kt_mono_us() - tp) / 1e6);
	if (bench_server_serve(&b, argv[1])) {
		fprintf(stderr, "cannot start the server\n");
		return 1;
	}
	if (bench_client_start(&cl, b.port, "kt-bench-load", TICK_US, &hooks)) {
		fprintf(stderr, "cannot create the client context\n");
		return 1;
	}
	printf("event loop: %s (bench and server)\n", kt_evloop_name(cl.loop));
	usleep(300 * 1000);
	long rss0 = server_rss_kb(b.pid);
	printf("server: open-file limit %ld, idle RSS %ld KB\n", server_fd_limit(b.pid), rss0);

	/* 1. connect everyone, in waves */
	int64_t t0 = kt_mono_us();
	long rss_at[2] = {0, 0};
	for (int first = 0; first < ndev; first += WAVE) {
		int last = first + WAVE < ndev ? first + WAVE : ndev;
		for (int i = first; i < last; i++)
			connect_dev(&devs[i], i);
		service_until(first, last, t0 + 600 * 1000000LL);
		if (nsynced < last)
			break;
		if (last >= ndev / 10 && !rss_at[0])
			rss_at[0] = server_rss_kb(b.pid), rss_at[1] = last;
	}
	double conn_s = (double)(kt_mono_us() - t0) / 1e6;
	service_for(1000 * 1000);
	long rss1 = server_rss_kb(b.pid), anon1 = server_anon_kb(b.pid);
	printf("connect: %d/%d devices resumed and synced in %.1f s (%d connection errors)\n", nsynced, ndev, conn_s,
	       nclosed_err);
	printf("connect: server anonymous RSS %ld KB\n", anon1);
	printf("connect: server RSS %ld KB -> %ld KB: %.1f KB per device (from idle); %.1f KB per device between "
	       "%ld and %d devices\n",
	       rss0, rss1, (double)(rss1 - rss0) / ndev, rss_at[1] && ndev > rss_at[1] ?
	       (double)(rss1 - rss_at[0]) / (double)(ndev - rss_at[1]) : 0.0, rss_at[1], ndev);
	fflush(stdout);
	if (nsynced < ndev || (only && !strcmp(only, "connect")))
		goto done;

	/* 2. change latency (or the soak) */
	int seconds = soak ? soak : writes_for;
	max_writes = seconds + 2;
	commit_us = calloc((size_t)nloc * (size_t)max_writes, sizeof *commit_us);
	writer_args wa = {b.db, seconds};
	pthread_t th;
	pthread_create(&th, NULL, writer, &wa);
	int64_t w0 = kt_mono_us();
	double cpu_srv0 = bench_server_cpu_ms(&b), cpu_me0 = bench_self_cpu_ms();
	double p99_first = -1, p99_last = 0;
	long rss_first = 0, rss_last = 0, anon_first = 0, anon_last = 0;
	if (!soak) {
		while (!atomic_load(&writer_done))
			bench_client_service(&cl);
		service_for(1000 * 1000); /* the last changes */
		int expected = (int)((int64_t)seconds * ndev); /* each device sees its location's writes */
		printf("latency: %d locations x 1 write/s for %d s, %d devices: %d deliveries (expected %d)\n", nloc,
		       seconds, ndev, lat.n, expected);
		double wall = (double)(kt_mono_us() - w0) / 1e3;
		report_interval("latency", 1, wall / 1e3, server_rss_kb(b.pid), rss1);
		printf("latency: CPU busy: server %.0f %%, this bench %.0f %% of one core\n",
		       100 * (bench_server_cpu_ms(&b) - cpu_srv0) / wall, 100 * (bench_self_cpu_ms() - cpu_me0) / wall);
	} else {
		int churn = ndev / 50, next = 0;
		for (int iv = 1; !atomic_load(&writer_done); iv++) {
			lat.n = 0;
			int64_t end = w0 + (int64_t)iv * interval * 1000000;
			/* 2 % of the devices reconnect (and resume) in each interval */
			for (int i = 0; i < churn; i++) {
				dev *d = &devs[(next + i) % ndev];
				if (d->c.wsi) {
					d->want_connect = true;
					bench_conn_close(&d->c);
				}
			}
			next = (next + churn) % ndev;
			pending_connects = 1;
			while (kt_mono_us() < end && !atomic_load(&writer_done))
				service_for(200 * 1000);
			long rss = server_rss_kb(b.pid);
			double cs = bench_server_cpu_ms(&b);
			printf("soak interval %d: server CPU %.0f %% of one core, anonymous RSS %ld KB (%+ld KB)\n", iv,
			       100 * (cs - cpu_srv0) / (interval * 1e3), server_anon_kb(b.pid), server_anon_kb(b.pid) - anon1);
			cpu_srv0 = cs;
			report_interval("soak interval", iv, (double)(kt_mono_us() - w0) / 1e6, rss, rss1);
			double p99 = bench_percentile(lat.v, lat.n, 99);
			if (p99_first < 0)
				p99_first = p99, rss_first = rss, anon_first = server_anon_kb(b.pid);
			p99_last = p99, rss_last = rss, anon_last = server_anon_kb(b.pid);
		}
		printf("soak: %d s, drift from the first interval to the last: server RSS %+ld KB (anonymous %+ld KB), p99 "
		       "%+.2f ms\n",
		       soak, rss_last - rss_first, anon_last - anon_first, p99_last - p99_first);
	}
	pthread_join(th, NULL);
	free(commit_us);
	commit_us = NULL;

	/* 3. reconnect storm */
	if (!soak && nstorm > 0) {
		close_devs(0, nstorm);
		service_for(1000 * 1000); /* let the server see them go */
		int before = nsynced;
		int64_t rows0 = 0, rows1 = 0;
		for (int i = 0; i < nstorm; i++)
			rows0 += devs[i].rows;
		int64_t s0 = kt_mono_us();
		for (int i = 0; i < nstorm; i++)
			connect_dev(&devs[i], i);
		service_until(0, nstorm, s0 + 60 * 1000000LL);
		double secs = (double)(kt_mono_us() - s0) / 1e6;
		double *per = calloc((size_t)nstorm, sizeof *per);
		int ok = 0;
		for (int i = 0; i < nstorm; i++)
			rows1 += devs[i].rows;
		for (int i = 0; i < nstorm; i++)
			if (devs[i].synced)
				per[ok++] = (double)(devs[i].t_synced - s0) / 1e3;
		printf("storm: %d devices reconnected at once (%d others stayed connected): %d resumed in %.2f s; "
		       "per device p50 %.0f ms, p99 %.0f ms; %d connection errors so far, %lld snapshot rows resent\n",
		       nstorm, before, ok, secs, bench_percentile(per, ok, 50), bench_percentile(per, ok, 99),
		       nclosed_err, (long long)(rows1 - rows0));
		free(per);
	}
done:
	printf("server: RSS at the end %ld KB, errors seen by devices %d\n", server_rss_kb(b.pid), nerrors);
	int rc = nsynced == ndev ? 0 : 1; /* before the stop, whose close callbacks count devices down */
	bench_client_stop(&cl);
	bench_server_stop(&b);
	for (int i = 0; i < ndev; i++)
		bench_inbuf_free(&devs[i].c.in);
	free(devs);
	bench_org_free(&org);
	bench_samples_free(&lat);
	if (!soak && !only && nsnap > 0)
		rc |= snapshot_part(argv[1], nsnap);
	return rc;
}
