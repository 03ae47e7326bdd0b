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
 * usage: kt-bench-propagation SERVER_BIN [devices] [writes] */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "bench_util.h"
#include "kt_proto.h"
#include "kt_util.h"
#include "db/store.h"

#define MAX_DEV 2000
#define MAX_WRITES 10000

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
static int ndev, nready;
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
		nready++;
	} else if (t == KT_MSG_CHANGES) {
		d->in_frame = 0;
		if (proto_changes_decode(buf, len, on_op, d, &cur))
			fprintf(stderr, "bad changes message\n");
	} else if (t == KT_MSG_ERROR) {
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

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	bench_server b;
	pthread_t th;
	writer_args wa;
	const bench_account *pool[8];
	int npool = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SERVER_BIN [devices] [writes]\n", argv[0]);
		return 2;
	}
	ndev = argc > 2 ? atoi(argv[2]) : 100;
	nwrites = argc > 3 ? atoi(argv[3]) : 200;
	if (ndev < 1 || ndev > MAX_DEV || nwrites < 1 || nwrites > MAX_WRITES)
		return 2;
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
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned)ndev + 64;
	ctx = lws_create_context(&info);
	int64_t t0 = kt_mono_us();
	/* connect in waves: the server queues at most KT_AUTH_QUEUE password
	 * checks and answers "busy" beyond that */
	for (int first = 0; first < ndev; first += 32) {
		int last = first + 32 < ndev ? first + 32 : ndev;
		for (int i = first; i < last; i++) {
			dev *d = &devs[i];
			d->acc = pool[i % npool];
			kt_uuid7(d->device);
			d->last_v = base_v; /* what its snapshot holds */
			d->wsi = bench_ws_connect(ctx, b.port, KT_SUBPROTOCOL, d, NULL, NULL);
		}
		while (nready < last && kt_mono_us() - t0 < 120 * 1000000LL)
			lws_service(ctx, 0);
	}
	if (nready < ndev) {
		fprintf(stderr, "only %d of %d devices synced\n", nready, ndev);
		bench_server_stop(&b);
		return 1;
	}
	double setup_s = (double)(kt_mono_us() - t0) / 1e6;
	wa.db = b.db;
	pthread_create(&th, NULL, writer, &wa);
	while (!atomic_load(&writer_done))
		lws_service(ctx, 0);
	pthread_join(th, NULL);
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
	printf("propagation: %d devices (%d accounts), %d writes, %d versions delivered of %d written "
	       "(%d skipped by devices that were behind: allowed)\n",
	       ndev, npool, nwrites, n, ndev * nwrites, ndev * nwrites - n);
	printf("propagation: at the latest version: %d of %d devices; older or repeated versions: %ld; "
	       "row twice in one frame: %ld\n",
	       ndev - (int)behind, ndev, older, twice);
	printf("propagation: p50 %.2f ms, p99 %.2f ms, max %.2f ms (setup: sign-in + snapshots %.1f s)\n", p50,
	       p99, max, setup_s);
	lws_context_destroy(ctx);
	bench_server_stop(&b);
	return older || twice || behind ? 1 : 0;
}
