/* bench_outbox.c - the outbox worker (server/domain/mail.c) against a tiny
 * SMTP sink in this process: mails/s over pooled connections, the server's
 * CPU per mail, and how many connections it opened.
 *
 *   kt-bench-outbox SERVER_BIN [mails]      throughput (default 20000)
 *   kt-bench-outbox sink                    only the sink: prints its port,
 *                                           then counts; for bench_outbox.sh
 *   kt-bench-outbox feed RATE SECONDS DB    keep DB's outbox fed with RATE
 *                                           mails/s (KT_BENCH_ON_SERVE)
 *
 * The mails are appointment confirmations of the demo's clients, sealed
 * with their keys like the planner's (outbox_plan), each with its own
 * idempotency key. The sink answers every SMTP command at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "bench_util.h"
#include "kt_util.h"
#include "db/store.h"
#include "domain/outbox_plan.h"

static atomic_long mails, conns;
static _Atomic int64_t first_us, last_us;

/* ---- the sink ---- */

static int send_all(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static void *sink_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	char buf[65536];
	size_t have = 0;
	bool data = false;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	atomic_fetch_add(&conns, 1);
	if (send_all(fd, "220 sink ESMTP\r\n"))
		goto out;
	for (;;) {
		ssize_t r = recv(fd, buf + have, sizeof buf - have - 1, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
		char *p = buf, *e;
		while ((e = memchr(p, '\n', have - (size_t)(p - buf)))) {
			size_t len = (size_t)(e - p) + 1;
			const char *reply = NULL;
			if (data) {
				if (len <= 3 && p[0] == '.') {
					data = false;
					int64_t now = kt_mono_us();
					int64_t zero = 0;
					atomic_compare_exchange_strong(&first_us, &zero, now);
					atomic_store(&last_us, now);
					atomic_fetch_add(&mails, 1);
					reply = "250 OK queued\r\n";
				}
			} else if (!strncasecmp(p, "EHLO", 4))
				reply = "250-sink\r\n250 8BITMIME\r\n";
			else if (!strncasecmp(p, "DATA", 4)) {
				data = true;
				reply = "354 go on\r\n";
			} else if (!strncasecmp(p, "QUIT", 4)) {
				send_all(fd, "221 bye\r\n");
				goto out;
			} else
				reply = "250 OK\r\n";
			if (reply && send_all(fd, reply))
				goto out;
			p = e + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == sizeof buf - 1)
			have = 0; /* a line longer than the buffer: only the ends matter */
	}
out:
	close(fd);
	return NULL;
}

static void *sink_accept(void *arg)
{
	int ls = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		pthread_t t;
		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, sink_conn, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

static int sink_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pthread_t t;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64) ||
	    getsockname(ls, (struct sockaddr *)&a, &al) || pthread_create(&t, NULL, sink_accept, (void *)(intptr_t)ls))
		return -1;
	pthread_detach(t);
	return ntohs(a.sin_port);
}

/* ---- the mails ---- */

/* Queue n confirmations of the demo's clients in transactions of 500. */
static int feed(kt_store *st, int n, const char *tag, int *seq)
{
	static char clients[256][KT_UUID_LEN + 1], orgs[256][KT_UUID_LEN + 1];
	static int nclients;
	char idem[128];
	if (!nclients) {
		sqlite3_stmt *q;
		sqlite3_prepare_v2(store_db(st), "SELECT id, org_id FROM client LIMIT 256", -1, &q, NULL);
		while (q && sqlite3_step(q) == SQLITE_ROW && nclients < 256) {
			snprintf(clients[nclients], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
			snprintf(orgs[nclients++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 1));
		}
		sqlite3_finalize(q);
		if (!nclients)
			return -1;
	}
	for (int done = 0; done < n;) {
		if (store_begin(st))
			return -1;
		for (int i = 0; i < 500 && done < n; i++, done++) {
			int k = (*seq)++;
			snprintf(idem, sizeof idem, "confirmation:bench-%s-%d", tag, k);
			kt_plan_msg m = {.org = orgs[k % nclients], .client = clients[k % nclients],
					 .kind = "confirmation", .channel = "email", .next_at = kt_now_ms(),
					 .to_addr = "ana.novak@bench.example",
					 .subject = "Vaš termin je potrjen",
					 .body = "Pozdravljeni, Ana!\n\nVaš termin v Studiu Lepota je potrjen: "
						   "petek, 15. januar 2027, ob 9:30 (striženje, Maja).\n\n"
						   "Lep pozdrav,\nStudio Lepota\nGlavni trg 1, Maribor\n",
					 .idem_key = idem};
			if (outbox_plan(st, &m, NULL)) {
				store_rollback(st);
				return -1;
			}
		}
		if (store_commit(st))
			return -1;
	}
	return 0;
}

static int cmd_feed(int rate, int seconds, const char *db)
{
	kt_store *st;
	const char *msg;
	int seq = 0;
	char tag[32];
	if (store_open(db, 0, &st, &msg)) {
		fprintf(stderr, "feed: %s\n", msg);
		return 1;
	}
	snprintf(tag, sizeof tag, "%d", (int)getpid());
	int64_t t0 = kt_mono_us();
	for (int step = 0; step < seconds * 10; step++) {
		if (feed(st, rate / 10, tag, &seq))
			fprintf(stderr, "feed: cannot queue\n");
		int64_t wait = t0 + (int64_t)(step + 1) * 100000 - kt_mono_us();
		if (wait > 0)
			usleep((useconds_t)wait);
	}
	store_close(st);
	return 0;
}

static void on_term(int sig)
{
	(void)sig;
	char line[96];
	int n = snprintf(line, sizeof line, "sink: %ld mails over %ld connections\n", atomic_load(&mails),
			 atomic_load(&conns));
	if (write(2, line, (size_t)n) < 0)
		_exit(1);
	_exit(0);
}

static int cmd_sink(void)
{
	int port = sink_start();
	if (port < 0)
		return 1;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("%d\n", port);
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_throughput(const char *server_bin, int n)
{
	bench_server b;
	char conf[400], cmd[1200];
	kt_store *st;
	const char *msg;
	int port = sink_start(), seq = 0;
	FILE *f;
	memset(&b, 0, sizeof b);
	snprintf(b.dir, sizeof b.dir, "/tmp/kt-bench-XXXXXX");
	if (port < 0 || !mkdtemp(b.dir))
		return 1;
	snprintf(b.db, sizeof b.db, "%s/bench.db", b.dir);
	snprintf(cmd, sizeof cmd, "%s init --db %s --demo --seed 1 >/dev/null 2>&1", server_bin, b.db);
	if (system(cmd) != 0)
		return 1;
	snprintf(conf, sizeof conf, "%s/serve.conf", b.dir);
	if (!(f = fopen(conf, "w")))
		return 1;
	fprintf(f, "smtp_url = smtp://127.0.0.1:%d\nsmtp_from = Studio Lepota <salon@lepota.example>\n", port);
	fclose(f);
	setenv("KT_BENCH_SERVER_CONFIG", conf, 1);
	unsetenv("KT_BENCH_ON_SERVE");
	if (bench_server_serve(&b, server_bin) || store_open(b.db, 0, &st, &msg)) {
		fprintf(stderr, "cannot start the server\n");
		bench_server_stop(&b);
		return 1;
	}
	/* all queued before the worker looks (it polls every second): the
	 * figure is the drain, not the queueing */
	int64_t q0 = kt_mono_us();
	if (feed(st, n, "t", &seq)) {
		fprintf(stderr, "cannot queue\n");
		bench_server_stop(&b);
		return 1;
	}
	int64_t q1 = kt_mono_us();
	store_close(st);
	/* the CPU the server spends from the first mail to the last */
	while (atomic_load(&mails) == 0)
		usleep(200);
	double cpu0 = bench_server_cpu_ms(&b);
	int64_t deadline = kt_mono_us() + 600 * 1000000LL;
	while (atomic_load(&mails) < n && kt_mono_us() < deadline)
		usleep(1000);
	double cpu1 = bench_server_cpu_ms(&b);
	long got = atomic_load(&mails);
	double secs = (double)(atomic_load(&last_us) - atomic_load(&first_us)) / 1e6;
	printf("outbox: %d confirmations queued (sealed, outbox_plan) in %.2f s\n", n, (double)(q1 - q0) / 1e6);
	printf("outbox: %ld mails to a local SMTP sink in %.2f s = %.0f mails/s over %ld SMTP connection(s)\n", got,
	       secs, secs > 0 ? (double)(got - 1) / secs : 0, atomic_load(&conns));
	printf("outbox: server CPU %.0f ms = %.0f us per mail (all threads, first to last mail)\n", cpu1 - cpu0,
	       got > 1 ? (cpu1 - cpu0) * 1000.0 / (double)(got - 1) : 0);
	bench_server_stop(&b);
	return got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [mails] | sink | feed RATE SECONDS DB",
		   "The outbox worker against an SMTP sink in this process: mails per second, server CPU per mail, connections opened.");
	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return cmd_sink();
	if (argc >= 5 && !strcmp(argv[1], "feed"))
		return cmd_feed(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc < 2) {
		fprintf(stderr, "usage: %s SERVER_BIN [mails] | sink | feed RATE SECONDS DB\n", argv[0]);
		return 2;
	}
	return cmd_throughput(argv[1], argc > 2 ? atoi(argv[2]) : 20000);
}
