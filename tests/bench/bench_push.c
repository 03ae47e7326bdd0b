/* bench_push.c - pushed mutations applied per second, durable (each answer
 * after its commit, synchronous=FULL), with audit and hash chain, from N
 * devices pushing at once (default 20), and the answer latency (p50/p99) of
 * single mutations pushed by one more device under that load (one every
 * 10 ms, or at once when an answer took longer).
 * usage: kt-bench-push SERVER_BIN [devices] [batches] [batch_size]
 * The load stops after KT_BENCH_SECONDS (default 300) if it is not done:
 * a long stream (the WAL's bound, docs/benchmarks.md) sets more. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "bench_util.h"
#include "kt_proto.h"
#include "kt_util.h"
#include "db/store.h"

#define MAX_DEV 64

typedef struct dev {
	struct lws *wsi;
	const bench_account *acc;
	char device[KT_UUID_LEN + 1];
	kt_mpw out;
	bool out_ready, signed_in, probe;
	bench_inbuf in;
	int batches_done;
	int64_t mid, sent_us;
} dev;

static dev devs[MAX_DEV + 1];
static int ndev = 20, nbatches = 20, batch = 100, nsigned, ndone, applied, rejected;
static char (*appt)[KT_UUID_LEN + 1];
static int64_t *appt_v;
static int nappt;
static double *probe_ms;
static int nprobe, probe_cap = 100000;
static bool load_running;
/* The probe device pushes one mutation every 10 ms (or as soon as the last
 * answer is in, when that takes longer): a fixed rate, so a build that
 * answers faster is not also sent more single mutations. */
#define PROBE_EVERY_US 10000
static int64_t probe_due_us; /* 0: the probe waits for an answer */

static void send_batch(dev *d)
{
	int n = d->probe ? 1 : batch;
	int k = (int)(d - devs);
	kt_mpw_reset(&d->out);
	proto_push_begin(&d->out, (uint32_t)n, false);
	for (int i = 0; i < n; i++) {
		/* each device edits its own appointments: no conflicts between devices */
		int a = (k + (ndev + 1) * (int)((d->mid + i) % (nappt / (ndev + 1)))) % nappt;
		char note[48];
		kt_mpw fw;
		kt_mpw_init(&fw);
		kt_mpw_map(&fw, 1);
		kt_mpw_str(&fw, "client_note");
		snprintf(note, sizeof note, "bench %d-%lld", k, (long long)(d->mid + i));
		kt_mpw_str(&fw, note);
		kt_mut m = {d->mid + i + 1, {"appointment", 11}, {appt[a], KT_UUID_LEN}, {"update", 6}, appt_v[a],
			    (const uint8_t *)fw.sb.data, fw.sb.size, kt_now_ms()};
		proto_mut_encode(&d->out, &m);
		kt_mpw_free(&fw);
	}
	d->mid += n;
	d->out_ready = true;
	d->sent_us = kt_mono_us();
	lws_callback_on_writable(d->wsi);
}

static int count_result(void *user, const uint8_t *map, size_t len)
{
	(void)user;
	/* "status" comes second in every result map the server writes */
	if (memmem(map, len, "applied", 7))
		applied++;
	else
		rejected++;
	return 0;
}

static void on_message(dev *d, const unsigned char *buf, size_t len)
{
	kt_msgtype t;
	if (proto_msg_type(buf, len, KT_MAX_STR, &t))
		return;
	if (t == KT_MSG_WELCOME) {
		kt_login l = {{d->acc->email, strlen(d->acc->email)}, {d->acc->password, strlen(d->acc->password)}};
		kt_mpw_reset(&d->out);
		proto_login_encode(&d->out, &l);
		d->out_ready = true;
		lws_callback_on_writable(d->wsi);
	} else if (t == KT_MSG_AUTH_OK) {
		d->signed_in = true;
		nsigned++;
	} else if (t == KT_MSG_PUSH_RESULT) {
		int64_t rtt = kt_mono_us() - d->sent_us;
		if (d->probe) {
			if (load_running && nprobe < probe_cap)
				probe_ms[nprobe++] = (double)rtt / 1000.0;
		} else if (proto_push_result_decode(buf, len, count_result, NULL))
			fprintf(stderr, "bad push_result\n");
		if (!d->probe && ++d->batches_done == nbatches)
			ndone++;
		else if (d->probe)
			probe_due_us = d->sent_us + PROBE_EVERY_US; /* the main loop sends it */
		else
			send_batch(d);
	} else if (t == KT_MSG_ERROR)
		fprintf(stderr, "server error for device %d\n", (int)(d - devs));
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	dev *d = lws_get_opaque_user_data(wsi);
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		kt_hello h = {1u << 1, {d->device, KT_UUID_LEN}, {"kt-bench-push", 13}};
		kt_mpw_reset(&d->out);
		proto_hello_encode(&d->out, &h);
		d->out_ready = true;
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (bench_inbuf_add(&d->in, wsi, in, len)) {
			on_message(d, d->in.buf, d->in.len);
			bench_inbuf_reset(&d->in);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (d->out_ready) {
			size_t n = d->out.sb.size;
			unsigned char *buf = malloc(LWS_PRE + n);
			memcpy(buf + LWS_PRE, d->out.sb.data, n);
			d->out_ready = false;
			int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_BINARY);
			free(buf);
			if (w < (int)n)
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
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

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [devices] [batches] [batch_size]",
		   "Durable pushed mutations per second from N devices at once, and the answer latency of single mutations under that load.");
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	bench_server b;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SERVER_BIN [devices] [batches] [batch_size]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		ndev = atoi(argv[2]);
	if (argc > 3)
		nbatches = atoi(argv[3]);
	if (argc > 4)
		batch = atoi(argv[4]);
	if (ndev < 1 || ndev > MAX_DEV || nbatches < 1 || batch < 1 || batch > KT_PUSH_MAX)
		return 2;
	if (sodium_init() < 0 || bench_server_start(&b, argv[1], 1)) {
		fprintf(stderr, "cannot start the demo server\n");
		return 1;
	}
	const bench_account *owner = bench_find(&b, "owner", NULL);
	{
		kt_store *st;
		const char *msg;
		sqlite3_stmt *s;
		if (store_open(b.db, 0, &st, &msg))
			return 1;
		appt = calloc(6000, sizeof *appt);
		appt_v = calloc(6000, sizeof *appt_v);
		sqlite3_prepare_v2(store_db(st), "SELECT id, version FROM appointment ORDER BY id LIMIT 6000", -1, &s, NULL);
		while (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(appt[nappt], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
			appt_v[nappt++] = sqlite3_column_int64(s, 1);
		}
		sqlite3_finalize(s);
		store_close(st);
	}
	probe_ms = calloc((size_t)probe_cap, sizeof *probe_ms);
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	ctx = lws_create_context(&info);
	for (int i = 0; i <= ndev; i++) {
		dev *d = &devs[i];
		d->acc = owner;
		d->probe = i == ndev;
		kt_mpw_init(&d->out);
		kt_uuid7(d->device);
		d->wsi = bench_ws_connect(ctx, b.port, KT_SUBPROTOCOL, d, NULL, NULL);
	}
	int64_t t0 = kt_mono_us();
	while (nsigned < ndev + 1 && kt_mono_us() - t0 < 60000000)
		lws_service(ctx, 0);
	if (nsigned < ndev + 1) {
		fprintf(stderr, "only %d devices signed in\n", nsigned);
		bench_server_stop(&b);
		return 1;
	}
	t0 = kt_mono_us();
	double cpu0 = bench_server_cpu_ms(&b), me0 = bench_self_cpu_ms();
	load_running = true;
	const char *secs = getenv("KT_BENCH_SECONDS");
	int64_t limit_us = (secs && atoi(secs) > 0 ? atoi(secs) : 300) * (int64_t)1000000;
	for (int i = 0; i <= ndev; i++)
		send_batch(&devs[i]);
	while (ndone < ndev && kt_mono_us() - t0 < limit_us) {
		lws_service(ctx, 0);
		if (probe_due_us && kt_mono_us() >= probe_due_us) {
			probe_due_us = 0;
			send_batch(&devs[ndev]);
		}
	}
	double s = (double)(kt_mono_us() - t0) / 1e6;
	double cpu = bench_server_cpu_ms(&b) - cpu0, me = bench_self_cpu_ms() - me0;
	load_running = false;
	printf("push: %d devices x %d pushes x %d mutations: %d applied, %d rejected in %.2f s = %.0f mutations/s\n",
	       ndev, nbatches, batch, applied, rejected, s, applied / s);
	printf("push: single-mutation answer under that load: p50 %.2f ms, p99 %.2f ms (%d samples)\n",
	       bench_percentile(probe_ms, nprobe, 50), bench_percentile(probe_ms, nprobe, 99), nprobe);
	printf("push: server CPU %.0f ms = %.1f us per applied mutation (all threads)\n", cpu,
	       applied ? cpu * 1000.0 / applied : 0.0);
	/* the devices run on the same cores as the server: what they take is
	 * not the server's to use */
	printf("push: the bench's own CPU %.0f ms (its %d devices), %.0f %% of the cores' time\n", me, ndev + 1,
	       100.0 * (cpu + me) / (s * 1000.0 * (double)sysconf(_SC_NPROCESSORS_ONLN)));
	lws_context_destroy(ctx);
	bench_server_stop(&b);
	return applied == ndev * nbatches * batch ? 0 : 1;
}
