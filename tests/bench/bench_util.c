/* bench_util.c - see bench_util.h. */
#include <libwebsockets.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_util.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile(double *v, int n, double p)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	int i = (int)(p / 100.0 * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

bool bench_account_parse(bench_account *a, char *line)
{
	line[strcspn(line, "\n")] = 0;
	return sscanf(line, "%15[^\t]\t%63[^\t]\t%127[^\t]\t%63[^\t]", a->role, a->location, a->email,
		      a->password) == 4 &&
	       strcmp(a->role, "role") != 0;
}

int bench_server_start(bench_server *b, const char *server_bin, int seed)
{
	char cmd[1024], line[512];
	FILE *f;

	memset(b, 0, sizeof *b);
	snprintf(b->dir, sizeof b->dir, "/tmp/kt-bench-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->db, sizeof b->db, "%s/bench.db", b->dir);
	snprintf(cmd, sizeof cmd, "%s init --db %s --demo --seed %d 2>/dev/null", server_bin, b->db, seed);
	if (!(f = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof line, f) && b->nacc < 64)
		b->nacc += bench_account_parse(&b->acc[b->nacc], line);
	if (pclose(f) != 0 || b->nacc == 0)
		return -1;
	return bench_server_serve(b, server_bin);
}

void bench_server_stop(bench_server *b)
{
	char cmd[512];
	if (b->hook_pid > 0) {
		kill(b->hook_pid, SIGTERM);
		waitpid(b->hook_pid, NULL, 0);
	}
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, NULL, 0);
	}
	if (b->dir[0] && strncmp(b->dir, "/tmp/kt-bench-", 14) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", b->dir);
	}
}

const bench_account *bench_find(const bench_server *b, const char *role, const char *location)
{
	for (int i = 0; i < b->nacc; i++)
		if (strcmp(b->acc[i].role, role) == 0 && (!location || strcmp(b->acc[i].location, location) == 0))
			return &b->acc[i];
	return NULL;
}

double bench_server_cpu_ms(const bench_server *b)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)b->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

bool bench_inbuf_add(bench_inbuf *b, struct lws *wsi, const void *in, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		unsigned char *p = realloc(b->buf, cap);
		if (!p) {
			fprintf(stderr, "bench: out of memory\n");
			exit(1);
		}
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, in, len);
	b->len += len;
	return lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
}

void bench_samples_add(bench_samples *s, double x)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 1 << 16;
		double *v = realloc(s->v, (size_t)cap * sizeof *v);
		if (!v) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

void bench_samples_free(bench_samples *s)
{
	if (!s)
		return;
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void bench_inbuf_reset(bench_inbuf *b)
{
	b->len = 0;
	if (b->cap > 65536)
		bench_inbuf_free(b);
}

void bench_inbuf_free(bench_inbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

int bench_server_serve(bench_server *b, const char *server_bin)
{
	char line[512];
	int fds[2];
	b->hook_pid = 0;
	if (pipe(fds))
		return -1;
	b->pid = fork();
	if (b->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		int null = getenv("KT_BENCH_SERVER_LOG") ? -1 : open("/dev/null", 1);
		if (null >= 0)
			dup2(null, 2);
		/* KT_BENCH_SERVER_CONFIG: a serve config (bench-outbox: smtp_url of its sink) */
		const char *conf = getenv("KT_BENCH_SERVER_CONFIG");
		if (conf && *conf)
			execl(server_bin, server_bin, "serve", "--db", b->db, "--listen", "127.0.0.1:0", "--config", conf,
			      (char *)NULL);
		else
			execl(server_bin, server_bin, "serve", "--db", b->db, "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "listening on 127.0.0.1:%d", &b->port) == 1)
			break;
	/* KT_BENCH_ON_SERVE: a command run beside the bench with the database
	 * path as its last argument (bench-outbox: keep the outbox draining) */
	const char *hook = getenv("KT_BENCH_ON_SERVE");
	if (b->port > 0 && hook && *hook && (b->hook_pid = fork()) == 0) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "exec %s %s", hook, b->db);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return b->port > 0 ? 0 : -1;
}

void bench_raise_nofile(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (long)rl.rlim_cur < want)
		fprintf(stderr, "warning: open-file limit %ld < %ld needed (raise the hard limit: ulimit -Hn)\n",
			(long)rl.rlim_cur, want);
}

double bench_self_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

struct lws *bench_ws_connect(struct lws_context *ctx, int port, const char *protocol, void *opaque,
			     const char *iface, const struct lws_retry_bo *retry)
{
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = "127.0.0.1";
	ci.port = port;
	ci.path = "/";
	ci.host = ci.origin = "127.0.0.1";
	ci.protocol = protocol;
	ci.opaque_user_data = opaque;
	ci.retry_and_idle_policy = retry;
	ci.iface = iface;
	return lws_client_connect_via_info(&ci);
}
