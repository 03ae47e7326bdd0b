/* ops_http.c - /healthz, /readyz and /metrics on the device listener
 * (ops_http.h). Loop thread only; a scrape costs two small reads of the
 * database and a few /proc files, never a lock any other thread waits on.
 * /metrics is never open to the world by default: without metrics_allow
 * only loopback peers may read it, and a request a proxy forwarded (it
 * carries X-Forwarded-For, X-Real-IP or Forwarded) passes only with the
 * bearer token. Never logs a token or an address. */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kt_metrics.h"
#include "net/http_out.h"
#include "net/ops_http.h"

typedef struct net_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t b[16];
	int bits;
} net_prefix;

/* set at start (and by a reload) on the loop thread, read on it */
static net_prefix g_allow[KT_METRICS_ALLOW_MAX];
static int g_nallow;
static bool g_allow_set; /* metrics_allow was given (even "none"): no loopback default */
static uint8_t g_token_hash[crypto_generichash_BYTES];
static bool g_has_token;

/* ---- config ---- */

/* An address (IPv4-mapped IPv6 counts as IPv4), or with bits, a prefix. */
static bool parse_addr(const char *s, net_prefix *p)
{
	memset(p, 0, sizeof *p);
	if (inet_pton(AF_INET, s, p->b) == 1) {
		p->family = AF_INET;
		p->bits = 32;
		return true;
	}
	if (inet_pton(AF_INET6, s, p->b) != 1)
		return false;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	p->family = AF_INET6;
	p->bits = 128;
	if (!memcmp(p->b, mapped, sizeof mapped)) {
		memmove(p->b, p->b + 12, 4);
		memset(p->b + 4, 0, 12);
		p->family = AF_INET;
		p->bits = 32;
	}
	return true;
}

static bool parse_prefix(const char *spec, net_prefix *p)
{
	char buf[64];
	const char *slash = strchr(spec, '/');
	size_t n = slash ? (size_t)(slash - spec) : strlen(spec);
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, spec, n);
	buf[n] = 0;
	if (!parse_addr(buf, p))
		return false;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || b < 0 || b > p->bits)
			return false;
		p->bits = (int)b;
	}
	return true;
}

static bool in_prefix(const net_prefix *a, const net_prefix *p)
{
	int full = p->bits / 8, rest = p->bits % 8;
	if (a->family != p->family || memcmp(a->b, p->b, (size_t)full))
		return false;
	return !rest || ((a->b[full] ^ p->b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static int set_allow(const char *v, const char **why)
{
	net_prefix list[KT_METRICS_ALLOW_MAX];
	int n = 0;
	char buf[2048];
	if (strlen(v) >= sizeof buf) {
		*why = "metrics_allow is at most 2047 characters";
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", v);
	if (strcasecmp(buf, "none")) {
		for (char *save = NULL, *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (n == KT_METRICS_ALLOW_MAX) {
				*why = "metrics_allow has at most 32 entries (use ADDR/PREFIX for a range)";
				return -1;
			}
			if (!parse_prefix(t, &list[n++])) {
				*why = "metrics_allow is a comma-separated list of IPv4 or IPv6 addresses, each optionally "
				       "/PREFIX (0-32 or 0-128), or none";
				return -1;
			}
		}
		if (n == 0) {
			*why = "metrics_allow is empty: give addresses, or none";
			return -1;
		}
	}
	memcpy(g_allow, list, sizeof list[0] * (size_t)n);
	g_nallow = n;
	g_allow_set = true;
	return 0;
}

static int set_token(const char *v, const char **why)
{
	size_t n = strlen(v);
	if (n < KT_METRICS_TOKEN_MIN || n > KT_METRICS_TOKEN_MAX) {
		*why = "metrics_token is 16 to 256 characters (e.g. openssl rand -hex 32)";
		return -1;
	}
	for (const char *c = v; *c; c++)
		if (*c <= ' ' || *c > '~') {
			*why = "metrics_token is printable ASCII without blanks";
			return -1;
		}
	crypto_generichash(g_token_hash, sizeof g_token_hash, (const unsigned char *)v, n, NULL, 0);
	g_has_token = true;
	return 0;
}

int ops_http_config_set(const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "metrics_allow"))
		return set_allow(v, why);
	if (!strcmp(k, "metrics_token"))
		return set_token(v, why);
	return 1;
}

void ops_http_config_reset(void)
{
	g_nallow = 0;
	g_allow_set = false;
	g_has_token = false;
	sodium_memzero(g_token_hash, sizeof g_token_hash);
}

/* ---- the guard ---- */

static bool token_ok(const char *auth)
{
	if (!g_has_token || !auth || strncasecmp(auth, "Bearer ", 7))
		return false;
	const char *t = auth + 7;
	while (*t == ' ')
		t++;
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	/* compared as hashes: the time taken says nothing of the token or its length */
	uint8_t h[crypto_generichash_BYTES];
	crypto_generichash(h, sizeof h, (const unsigned char *)t, n, NULL, 0);
	bool ok = sodium_memcmp(h, g_token_hash, sizeof h) == 0;
	sodium_memzero(h, sizeof h);
	return ok;
}

static bool addr_ok(const char *peer)
{
	net_prefix a;
	if (!parse_addr(peer, &a))
		return false;
	if (!g_allow_set) { /* the default: this machine only */
		static const uint8_t v6_loopback[16] = {[15] = 1};
		return (a.family == AF_INET && a.b[0] == 127) ||
		       (a.family == AF_INET6 && !memcmp(a.b, v6_loopback, sizeof v6_loopback));
	}
	for (int i = 0; i < g_nallow; i++)
		if (in_prefix(&a, &g_allow[i]))
			return true;
	return false;
}

int ops_http_metrics_guard(const char *peer, bool forwarded, const char *auth, const char **why)
{
	if (token_ok(auth))
		return 0;
	if (auth && g_has_token) {
		*why = "metrics: wrong bearer token\n";
		return 401;
	}
	if (!forwarded && addr_ok(peer))
		return 0;
	if (g_has_token) {
		*why = "metrics: send the bearer token (Authorization: Bearer ...)\n";
		return 401;
	}
	*why = forwarded ? "metrics: not through a proxy without metrics_token\n"
			 : "metrics: this address is not allowed (metrics_allow)\n";
	return 403;
}

bool ops_http_path(const char *path)
{
	return !strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics");
}

/* ---- answers ---- */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
					   (int)strlen(value), p, end);
}

/* One request being answered. */
typedef struct req {
	kt_server *srv;
	struct lws *wsi;
	kt_web_out *out;
	bool head;
	kt_http_headers_fn headers; /* web.c's */
} req;

/* Headers now; the body (owned by r->out from here) when writeable. */
static int answer(const req *r, unsigned code, const char *type, char *body, size_t len)
{
	struct lws *wsi = r->wsi;
	kt_web_out *out = r->out;
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(code));
	if (lws_add_http_common_headers(wsi, code, type, len, &p, end) ||
	    r->headers(r->srv, wsi, &p, end) || add_header(wsi, "cache-control:", "no-store", &p, end) ||
	    (code == HTTP_STATUS_UNAUTHORIZED && add_header(wsi, "www-authenticate:", "Bearer realm=\"metrics\"", &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		free(body);
		return -1;
	}
	return http_out_body(wsi, out, r->head, (unsigned char *)body, len);
}

static int answer_text(const req *r, unsigned code, const char *text)
{
	char *body = strdup(text);
	if (!body)
		return -1;
	return answer(r, code, "text/plain; charset=utf-8", body, strlen(body));
}

/* The database answers a read on the loop's own connection. */
static bool db_reads(kt_server *srv)
{
	sqlite3_stmt *s = store_prepare(srv->st, "SELECT coalesce(max(seq), 0) FROM changelog");
	if (!s)
		return false;
	bool ok = sqlite3_step(s) == SQLITE_ROW;
	store_finish(srv->st, s);
	return ok;
}

static int healthz(const req *r)
{
	char why[128];
	int64_t beat = atomic_load_explicit(&kt_writer_beat_us, memory_order_relaxed);
	if (!db_reads(r->srv))
		return answer_text(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "database: a read failed\n");
	if (!beat)
		return answer_text(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "writer: not running\n");
	int64_t age = kt_mono_us() - beat;
	if (age > (int64_t)KT_WRITER_STALL_S * 1000000) {
		snprintf(why, sizeof why, "writer: no heartbeat for %lld s\n", (long long)(age / 1000000));
		return answer_text(r, HTTP_STATUS_SERVICE_UNAVAILABLE, why);
	}
	return answer_text(r, HTTP_STATUS_OK, "ok\n");
}

static int readyz(const req *r)
{
	if (atomic_load(&r->srv->draining))
		return answer_text(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "draining\n");
	if (!atomic_load(&r->srv->ready))
		return answer_text(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "starting\n");
	return answer_text(r, HTTP_STATUS_OK, "ok\n");
}

/* ---- values read at scrape time ---- */

/* Queued rows by channel (one walk of the outbox_due index): all of them,
 * and those due now, which only wait for the worker (a reminder queued for
 * next week is not late; a due one that stays is). */
static void outbox_queued(kt_server *srv, kt_mtext *t)
{
	int64_t n[2] = {0, 0}, due[2] = {0, 0};
	sqlite3_stmt *s = store_prepare(srv->st, "SELECT channel = 'sms', count(*), coalesce(sum(next_at <= ?), 0) "
						 "FROM outbox WHERE state = 'queued' GROUP BY channel = 'sms'");
	if (s) {
		sqlite3_bind_int64(s, 1, kt_now_ms());
		while (sqlite3_step(s) == SQLITE_ROW) {
			int c = sqlite3_column_int(s, 0) ? 1 : 0;
			n[c] = sqlite3_column_int64(s, 1);
			due[c] = sqlite3_column_int64(s, 2);
		}
		store_finish(srv->st, s);
	}
	kt_mtext_family(t, "kartoteka_outbox_queued", "gauge",
			"Outgoing messages waiting to be sent (due now or later), by channel.");
	kt_mtext_sample(t, "kartoteka_outbox_queued", "channel", "email", (double)n[0]);
	kt_mtext_sample(t, "kartoteka_outbox_queued", "channel", "sms", (double)n[1]);
	kt_mtext_family(t, "kartoteka_outbox_due", "gauge",
			"Outgoing messages due now and not sent yet (waiting for the worker or a retry), by channel.");
	kt_mtext_sample(t, "kartoteka_outbox_due", "channel", "email", (double)due[0]);
	kt_mtext_sample(t, "kartoteka_outbox_due", "channel", "sms", (double)due[1]);
}

static void database(kt_server *srv, kt_mtext *t)
{
	char wal[4096];
	struct stat st;
	snprintf(wal, sizeof wal, "%s-wal", srv->db_path);
	kt_mtext_family(t, "kartoteka_wal_size_bytes", "gauge", "Size of the database's write-ahead log file.");
	kt_mtext_sample(t, "kartoteka_wal_size_bytes", NULL, NULL, stat(wal, &st) ? 0.0 : (double)st.st_size);
	kt_mtext_family(t, "kartoteka_change_log_head", "gauge", "Newest change-log sequence number this server has read.");
	kt_mtext_sample(t, "kartoteka_change_log_head", NULL, NULL, (double)srv->head_seq);
	int64_t beat = atomic_load_explicit(&kt_writer_beat_us, memory_order_relaxed);
	kt_mtext_family(t, "kartoteka_writer_heartbeat_age_seconds", "gauge",
			"Seconds since the writer thread last went round its loop (it does at least every second).");
	kt_mtext_sample(t, "kartoteka_writer_heartbeat_age_seconds", NULL, NULL,
			beat ? (double)(kt_mono_us() - beat) / 1e6 : -1.0);
	kt_mtext_family(t, "kartoteka_ready", "gauge", "1 when the server is ready (as /readyz), else 0.");
	kt_mtext_sample(t, "kartoteka_ready", NULL, NULL,
			atomic_load(&srv->ready) && !atomic_load(&srv->draining) ? 1.0 : 0.0);
}

/* The process_ families as the Prometheus client libraries name them. */
static void process(kt_mtext *t)
{
	struct rusage ru;
	long page = sysconf(_SC_PAGESIZE), tick = sysconf(_SC_CLK_TCK);
	double cpu = 0, rss = 0, vsz = 0, start = 0, fds = 0;
	if (!getrusage(RUSAGE_SELF, &ru))
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		      (double)ru.ru_stime.tv_usec / 1e6;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		unsigned long long size, res;
		if (fscanf(f, "%llu %llu", &size, &res) == 2) {
			vsz = (double)size * (double)page;
			rss = (double)res * (double)page;
		}
		fclose(f);
	}
	/* start: field 22 of /proc/self/stat (ticks after boot) plus btime of /proc/stat */
	char line[1024];
	unsigned long long started = 0, btime = 0;
	if ((f = fopen("/proc/self/stat", "r"))) {
		if (fgets(line, sizeof line, f)) {
			char *p = strrchr(line, ')'); /* the command name may hold blanks */
			for (int field = 2; p && field < 22; field++)
				p = strchr(p + 1, ' ');
			if (p)
				started = strtoull(p + 1, NULL, 10);
		}
		fclose(f);
	}
	if ((f = fopen("/proc/stat", "r"))) {
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	if (btime && tick > 0)
		start = (double)btime + (double)started / (double)tick;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		for (struct dirent *e; (e = readdir(d));)
			fds += e->d_name[0] != '.';
		fds -= 1; /* the one this count has open */
		closedir(d);
	}
	struct rlimit rl;
	double max_fds = getrlimit(RLIMIT_NOFILE, &rl) ? 0 : (double)rl.rlim_cur;

	kt_mtext_family(t, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	kt_mtext_sample(t, "process_cpu_seconds_total", NULL, NULL, cpu);
	kt_mtext_family(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	kt_mtext_sample(t, "process_resident_memory_bytes", NULL, NULL, rss);
	kt_mtext_family(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	kt_mtext_sample(t, "process_virtual_memory_bytes", NULL, NULL, vsz);
	kt_mtext_family(t, "process_open_fds", "gauge", "Number of open file descriptors.");
	kt_mtext_sample(t, "process_open_fds", NULL, NULL, fds);
	kt_mtext_family(t, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	kt_mtext_sample(t, "process_max_fds", NULL, NULL, max_fds);
	kt_mtext_family(t, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
	kt_mtext_sample(t, "process_start_time_seconds", NULL, NULL, start);
}

static bool forwarded(struct lws *wsi)
{
	return lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 ||
	       lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_X_REAL_IP) > 0 || lws_hdr_custom_length(wsi, "forwarded:", 10) > 0;
}

static int metrics(const req *r)
{
	struct lws *wsi = r->wsi;
	char peer[64] = "", auth[KT_METRICS_TOKEN_MAX + 64];
	const char *why = "";
	bool has_auth = lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0;
	lws_get_peer_simple(wsi, peer, sizeof peer);
	int code = ops_http_metrics_guard(peer, forwarded(wsi), has_auth ? auth : NULL, &why);
	sodium_memzero(auth, sizeof auth);
	if (code)
		return answer_text(r, (unsigned)code, why);
	kt_mtext t = {0};
	kt_metrics_render(&t);
	outbox_queued(r->srv, &t);
	database(r->srv, &t);
	process(&t);
	if (t.failed) {
		kt_mtext_free(&t);
		return answer_text(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "metrics: no memory\n");
	}
	return answer(r, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", t.s, t.len);
}

int ops_http(kt_server *srv, struct lws *wsi, kt_web_out *out, const char *path, bool head,
	     kt_http_headers_fn headers)
{
	req r = {srv, wsi, out, head, headers};
	if (!strcmp(path, "/healthz"))
		return healthz(&r);
	if (!strcmp(path, "/readyz"))
		return readyz(&r);
	return metrics(&r);
}
