/* bench_conn.c - the benchmark devices' client connections (bench_conn.h).
 * One client context per process: the callback finds it through the
 * context's user pointer, the device through the wsi's opaque user data. */
#include "bench_conn.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

static void send_msg(bench_conn *c, kt_mpw *w)
{
	bench_conn_queue(c, w);
	kt_mpw_free(w);
}

/* The sign-in every bench device does: resume its session, then sync.
 * Without a token and with c->login: a password sign-in that keeps the token. */
static void sign_in(bench_conn *c, kt_msgtype t, const unsigned char *buf, size_t len)
{
	kt_mpw w;
	if (t == KT_MSG_WELCOME && !c->token[0] && c->login) {
		kt_login l = {{c->login->email, strlen(c->login->email)}, {c->login->password, strlen(c->login->password)}};
		kt_mpw_init(&w);
		proto_login_encode(&w, &l);
		send_msg(c, &w);
	} else if (t == KT_MSG_WELCOME) {
		kt_resume r = {{c->token, 64}};
		kt_mpw_init(&w);
		proto_resume_encode(&w, &r);
		send_msg(c, &w);
	} else if (t == KT_MSG_AUTH_OK) {
		kt_auth_ok ok;
		if (!c->token[0] && c->login && !proto_auth_ok_decode(buf, len, &ok) && ok.token.len == 64) {
			memcpy(c->token, ok.token.s, 64);
			c->token[64] = 0;
		}
		if (c->login_only)
			return;
		kt_cursor_msg m = {0};
		m.has_cursor = c->cursor_len > 0; /* none: a first snapshot */
		m.cursor = (kt_str){(const char *)c->cursor, c->cursor_len};
		kt_mpw_init(&w);
		proto_sync_encode(&w, &m);
		send_msg(c, &w);
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	bench_conn *c = lws_get_opaque_user_data(wsi);
	bench_client *cl = lws_context_user(lws_get_context(wsi));
	(void)user;
	if (!c || !cl)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		kt_mpw w;
		kt_hello h = {1u << 1, {c->device, KT_UUID_LEN}, {cl->app, strlen(cl->app)}};
		kt_mpw_init(&w);
		proto_hello_encode(&w, &h);
		send_msg(c, &w);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (bench_inbuf_add(&c->in, wsi, in, len)) {
			kt_msgtype t;
			if ((cl->peek_pages && !proto_msg_peek_type(c->in.buf, c->in.len, &t) && t == KT_MSG_PAGE) ||
			    !proto_msg_type(c->in.buf, c->in.len, KT_MAX_STR, &t)) {
				sign_in(c, t, c->in.buf, c->in.len);
				cl->hooks.on_message(c, t, c->in.buf, c->in.len);
			}
			bench_inbuf_reset(&c->in);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->closing)
			return -1;
		if (c->out_len) {
			size_t n = c->out_len;
			c->out_len = 0;
			if (lws_write(wsi, c->out + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n)
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		c->wsi = NULL;
		cl->hooks.on_error(c, in ? (const char *)in : NULL);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->wsi = NULL;
		bench_inbuf_reset(&c->in);
		cl->hooks.on_closed(c);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{KT_SUBPROTOCOL, callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* No lws keepalive timers: each connection's would be inserted into one
 * sorted list by walking all the others (see server/net/keepalive.c). */
static const lws_retry_bo_t no_keepalive = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

static void on_tick(lws_sorted_usec_list_t *sul)
{
	bench_client *cl = lws_container_of(sul, bench_client, tick);
	lws_sul_schedule(cl->ctx, 0, sul, on_tick, cl->tick_us);
}

int bench_client_start(bench_client *cl, int port, const char *app, lws_usec_t tick_us,
		       const bench_client_hooks *hooks)
{
	struct lws_context_creation_info info;
	memset(cl, 0, sizeof *cl);
	cl->port = port;
	cl->app = app;
	cl->tick_us = tick_us;
	cl->hooks = *hooks;
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = cl;
	/* no fd_limit_per_thread: below the open-file limit it makes lws find
	 * the connection of every ready descriptor by a linear search
	 * (wsi_from_fd, half of kt-bench-load's CPU at 10,000); sized by the
	 * raised limit (bench_raise_nofile), the lookup is an index. */
	cl->loop = kt_evloop_new(&info);
	if (!cl->loop)
		return -1;
	cl->ctx = lws_create_context(&info);
	if (!cl->ctx) {
		kt_evloop_destroy(cl->loop, NULL);
		cl->loop = NULL;
		return -1;
	}
	lws_sul_schedule(cl->ctx, 0, &cl->tick, on_tick, tick_us);
	return 0;
}

void bench_client_stop(bench_client *cl)
{
	if (!cl || !cl->loop)
		return;
	if (cl->ctx)
		lws_sul_cancel(&cl->tick);
	kt_evloop_destroy(cl->loop, cl->ctx);
	cl->loop = NULL;
	cl->ctx = NULL;
}

int bench_client_service(bench_client *cl)
{
	return kt_evloop_service(cl->loop, cl->ctx);
}

int bench_conn_connect(bench_client *cl, bench_conn *c, const char *iface)
{
	c->closing = false;
	c->out_len = 0;
	c->wsi = bench_ws_connect(cl->ctx, cl->port, KT_SUBPROTOCOL, c, iface, &no_keepalive);
	return c->wsi ? 0 : -1;
}

void bench_conn_queue(bench_conn *c, const kt_mpw *w)
{
	memcpy(c->out + LWS_PRE, w->sb.data, w->sb.size);
	c->out_len = w->sb.size;
	lws_callback_on_writable(c->wsi);
}

void bench_conn_close(bench_conn *c)
{
	if (!c->wsi)
		return;
	c->closing = true;
	lws_callback_on_writable(c->wsi);
}

void bench_conn_error_msg(const bench_conn *c, const unsigned char *buf, size_t len, int *errors)
{
	kt_error_msg e;
	if (!proto_error_decode(buf, len, &e) && (*errors)++ < 5)
		fprintf(stderr, "device %s: error %.*s: %.*s\n", c->device, (int)e.code.len, e.code.s, (int)e.msg.len,
			e.msg.s);
}

void bench_conn_keep_cursor(bench_conn *c, const kt_str *cursor)
{
	if (cursor->s && cursor->len <= sizeof c->cursor) {
		memcpy(c->cursor, cursor->s, cursor->len);
		c->cursor_len = cursor->len;
	}
}

/* ---- the signed-in fixture (bench_conn.h) ---- */

/* snprintf for paths; a path too long for its buffer is cut (and cannot be opened) */
static void fx_fmt(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fx_fmt(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(out, n, fmt, ap) >= (int)n)
		out[0] = 0;
	va_end(ap);
}

/* password sign-ins at once: a few more than the server's workers hash at
 * a time (it queues up to KT_AUTH_QUEUE, but each connection must be signed
 * in within its 10 s deadline, and a busy machine hashes only a few a second) */
#define FX_IN_FLIGHT 8
enum { FX_WAITING, FX_IN_FLIGHT_STATE, FX_DONE };

typedef struct fx_dev {
	bench_conn c; /* first: the hooks get &d->c */
	int state;
	bool retry; /* refused (busy): close and try again */
} fx_dev;

static int fx_in_flight, fx_done, fx_errors;

static void fx_on_message(bench_conn *c, kt_msgtype t, const unsigned char *buf, size_t len)
{
	fx_dev *d = (fx_dev *)c;
	if (t == KT_MSG_AUTH_OK && c->token[0] && d->state == FX_IN_FLIGHT_STATE) {
		d->state = FX_DONE;
		fx_in_flight--;
		fx_done++;
		bench_conn_close(c);
	} else if (t == KT_MSG_ERROR) {
		kt_error_msg e;
		/* busy, throttled and a missed sign-in deadline say "again later";
		 * anything else is a failure */
		if (!proto_error_decode(buf, len, &e) &&
		    ((e.code.len == 4 && !memcmp(e.code.s, "busy", 4)) ||
		     (e.code.len == 7 && !memcmp(e.code.s, "timeout", 7)) ||
		     (e.code.len == 9 && !memcmp(e.code.s, "throttled", 9))))
			d->retry = true;
		else
			bench_conn_error_msg(c, buf, len, &fx_errors);
		bench_conn_close(c);
	}
}

static void fx_back_to_waiting(fx_dev *d)
{
	if (d->state == FX_IN_FLIGHT_STATE) {
		d->state = FX_WAITING;
		fx_in_flight--;
	}
}

static void fx_on_error(bench_conn *c, const char *why)
{
	(void)why;
	fx_back_to_waiting((fx_dev *)c);
}

static void fx_on_closed(bench_conn *c)
{
	fx_back_to_waiting((fx_dev *)c);
}

static const bench_client_hooks fx_hooks = {fx_on_message, fx_on_error, fx_on_closed};

int bench_pick_location_staff(const bench_server *b, int *pool, int max)
{
	const char *loc = NULL;
	int n = 0;
	for (int i = 0; i < b->nacc && n < max; i++) {
		if (!strcmp(b->acc[i].role, "owner"))
			pool[n++] = i;
		else if (strcmp(b->acc[i].role, "client") != 0 && (!loc || !strcmp(loc, b->acc[i].location))) {
			loc = b->acc[i].location;
			pool[n++] = i;
		}
	}
	return n;
}

/* Read the TSV `init --demo` prints (role, location, email, password). */
static void fx_parse_accounts(bench_server *b, FILE *f, FILE *copy)
{
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (copy)
			fputs(line, copy);
		if (b->nacc < 64)
			b->nacc += bench_account_parse(&b->acc[b->nacc], line);
	}
}

static int fx_copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY), out = -1, rc = -1;
	ssize_t n;
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* the server refuses a key file others may read */
	if (out < 0)
		goto done;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	rc = n < 0 ? -1 : 0;
done:
	if (out >= 0 && close(out))
		rc = -1;
	close(in);
	return rc;
}

/* The database with its keyring and master key file. */
static int fx_copy_db(const char *from, const char *to)
{
	static const char *const ext[] = {"", ".keys", ".key"};
	char a[PATH_MAX], b[PATH_MAX];
	for (int i = 0; i < 3; i++) {
		fx_fmt(a, sizeof a, "%s%s", from, ext[i]);
		fx_fmt(b, sizeof b, "%s%s", to, ext[i]);
		if (fx_copy_file(a, b))
			return -1;
	}
	return 0;
}

/* Everything in the main files (the server is stopped): a copy needs no -wal. */
static int fx_checkpoint(const char *db)
{
	char path[PATH_MAX];
	for (int i = 0; i < 2; i++) {
		sqlite3 *h = NULL;
		fx_fmt(path, sizeof path, "%s%s", db, i ? ".keys" : "");
		int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		sqlite3_close(h);
		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

static void fx_stop_server(bench_server *b)
{
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, NULL, 0);
	}
	b->pid = 0;
	b->port = 0;
}

/* Sign devices [from, n) in with their passwords on the running server. */
static int fx_sign_in(bench_fixture *fx, int from)
{
	bench_server *b = &fx->srv;
	bench_client cl;
	int m = fx->n - from, rc = 0;
	fx_dev *d = calloc((size_t)m, sizeof *d);
	if (!d || bench_client_start(&cl, b->port, "kt-bench", 10 * LWS_US_PER_MS, &fx_hooks)) {
		free(d);
		return -1;
	}
	fx_in_flight = fx_done = fx_errors = 0;
	for (int i = 0; i < m; i++) {
		bench_signed_dev *sd = &fx->dev[from + i];
		sd->account = (from + i) % fx->npool;
		kt_uuid7(sd->device);
		memcpy(d[i].c.device, sd->device, sizeof d[i].c.device);
		d[i].c.login = &b->acc[fx->pool[sd->account]];
		d[i].c.login_only = true;
	}
	int64_t t0 = kt_mono_us();
	double cpu0 = bench_server_cpu_ms(b);
	int next = 0;
	while (fx_done < m && !fx_errors) {
		if (kt_mono_us() - t0 > 20 * 60 * 1000000LL) {
			fprintf(stderr, "fixture: only %d of %d password sign-ins in 20 minutes\n", fx_done, m);
			rc = -1;
			break;
		}
		/* start the waiting ones, round robin, while there is room */
		for (int k = 0; k < m && fx_in_flight < FX_IN_FLIGHT; k++) {
			fx_dev *x = &d[(next + k) % m];
			if (x->state != FX_WAITING || x->c.wsi)
				continue;
			x->retry = false;
			x->state = FX_IN_FLIGHT_STATE;
			fx_in_flight++;
			if (bench_conn_connect(&cl, &x->c, NULL)) {
				x->state = FX_WAITING;
				fx_in_flight--;
			}
			next = (next + k + 1) % m;
		}
		bench_client_service(&cl);
	}
	/* let the done ones close */
	for (int64_t end = kt_mono_us() + 5 * 1000000LL; kt_mono_us() < end;) {
		int open = 0;
		for (int i = 0; i < m; i++)
			open += d[i].c.wsi != NULL;
		if (!open)
			break;
		bench_client_service(&cl);
	}
	fx->signin_s = (double)(kt_mono_us() - t0) / 1e6;
	fx->signin_cpu_ms = bench_server_cpu_ms(b) - cpu0;
	fx->signed_now = fx_done;
	for (int i = 0; i < m; i++) {
		memcpy(fx->dev[from + i].token, d[i].c.token, sizeof d[i].c.token);
		bench_inbuf_free(&d[i].c.in);
	}
	bench_client_stop(&cl);
	free(d);
	return rc || fx_errors || fx_done < m ? -1 : 0;
}

/* Save the stopped server's database and the tokens as the cache `final`:
 * made in a folder of its own and renamed into place, as the harness does. */
static int fx_save(bench_fixture *fx, const char *root, const char *final, const char *accounts)
{
	char tdir[PATH_MAX], path[PATH_MAX], old[PATH_MAX], cmd[PATH_MAX * 2 + 32];
	if (fx_checkpoint(fx->srv.db))
		return -1;
	mkdir(root, 0755);
	fx_fmt(tdir, sizeof tdir, "%s/making-XXXXXX", root);
	if (!mkdtemp(tdir))
		return -1;
	fx_fmt(path, sizeof path, "%s/demo.db", tdir);
	int rc = fx_copy_db(fx->srv.db, path);
	fx_fmt(path, sizeof path, "%s/accounts.tsv", tdir);
	FILE *f = fopen(path, "w");
	if (!f || fputs(accounts, f) < 0)
		rc = -1;
	if (f && fclose(f))
		rc = -1;
	fx_fmt(path, sizeof path, "%s/tokens.tsv", tdir);
	f = fopen(path, "w");
	if (!f)
		rc = -1;
	for (int i = 0; f && i < fx->n; i++)
		fprintf(f, "%s\t%s\t%d\n", fx->dev[i].device, fx->dev[i].token, fx->dev[i].account);
	if (f && (fprintf(f, "# sign-in %.1f s for %d devices\n", fx->signin_s, fx->signed_now) < 0 || fclose(f)))
		rc = -1;
	if (!rc) {
		/* a smaller cache of the same key goes aside first (rename needs an empty target) */
		fx_fmt(old, sizeof old, "%s.old-%d", final, (int)getpid());
		bool had = rename(final, old) == 0;
		rc = rename(tdir, final) ? -1 : 0;
		if (had) {
			fx_fmt(cmd, sizeof cmd, "rm -rf '%s'", old);
			if (system(cmd) != 0)
				fprintf(stderr, "fixture: could not remove %s\n", old);
		}
	}
	if (rc) {
		fx_fmt(cmd, sizeof cmd, "rm -rf '%s'", tdir);
		if (system(cmd) != 0)
			fprintf(stderr, "fixture: could not remove %s\n", tdir);
	}
	return rc;
}

int bench_fixture_start(bench_fixture *fx, const char *server_bin, int seed, int n, const char *pool_name,
			bench_pick_fn pick)
{
	bench_server *b = &fx->srv;
	char real[PATH_MAX], root[PATH_MAX], final[PATH_MAX + 128], path[PATH_MAX + 160], date[16], cmd[PATH_MAX + 64];
	struct stat sb;
	time_t now = time(NULL);
	struct tm tm;
	int have = 0;
	char *accounts = NULL;
	size_t alen = 0;

	memset(fx, 0, sizeof *fx);
	if (n < 1 || !realpath(server_bin, real) || stat(real, &sb))
		return -1;
	fx->n = n;
	fx->dev = calloc((size_t)n, sizeof *fx->dev);
	if (!fx->dev)
		return -1;
	/* the cache: <build>/test-cache, <build>/server/kartoteka-server being the binary */
	fx_fmt(root, sizeof root, "%s", real);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(root, '/');
		if (slash)
			*slash = 0;
	}
	strncat(root, "/test-cache", sizeof root - strlen(root) - 1);
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y%m%d", &tm);
	fx_fmt(final, sizeof final, "%s/bench-signed-%s-%d-%s-%lld-%lld", root, pool_name, seed, date,
		 (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec, (long long)sb.st_size);
	/* A/B of two builds with the same schema: both may take one cache */
	const char *from = getenv("KT_BENCH_FIXTURE_FROM");
	if (from && *from)
		fx_fmt(final, sizeof final, "%s", from);
	fx_fmt(fx->cache, sizeof fx->cache, "%s", final);

	fx_fmt(b->dir, sizeof b->dir, "/tmp/kt-bench-XXXXXX");
	if (!mkdtemp(b->dir))
		goto fail;
	fx_fmt(b->db, sizeof b->db, "%s/bench.db", b->dir);
	FILE *acopy = open_memstream(&accounts, &alen);
	fx_fmt(path, sizeof path, "%s/tokens.tsv", final);
	FILE *tok = fopen(path, "r");
	if (tok) { /* from the cache */
		char line[256];
		fx_fmt(path, sizeof path, "%s/accounts.tsv", final);
		FILE *f = fopen(path, "r");
		if (f) {
			fx_parse_accounts(b, f, acopy);
			fclose(f);
		}
		fx_fmt(path, sizeof path, "%s/demo.db", final);
		if (!f || fx_copy_db(path, b->db)) {
			fclose(tok);
			fclose(acopy);
			fprintf(stderr, "fixture: cannot copy the cached database %s\n", final);
			goto fail;
		}
		while (have < n && fgets(line, sizeof line, tok)) {
			bench_signed_dev *d = &fx->dev[have];
			if (sscanf(line, "%36[0-9a-f-]\t%64[0-9a-f]\t%d", d->device, d->token, &d->account) == 3 &&
			    strlen(d->token) == 64)
				have++;
		}
		fclose(tok);
	} else { /* a new demo salon */
		fx_fmt(cmd, sizeof cmd, "%s init --db %s --demo --seed %d 2>/dev/null", real, b->db, seed);
		FILE *f = popen(cmd, "r");
		if (f)
			fx_parse_accounts(b, f, acopy);
		if (!f || pclose(f) != 0) {
			fclose(acopy);
			fprintf(stderr, "fixture: `init --demo` failed\n");
			goto fail;
		}
	}
	fclose(acopy);
	fx->npool = b->nacc ? pick(b, fx->pool, 64) : 0;
	if (fx->npool < 1) {
		fprintf(stderr, "fixture: no account fits the pool %s\n", pool_name);
		goto fail;
	}
	for (int i = 0; i < have; i++)
		if (fx->dev[i].account < 0 || fx->dev[i].account >= fx->npool)
			have = i; /* a cache of another pool: sign the rest in again */
	if (have < n) {
		if (bench_server_serve(b, real)) {
			fprintf(stderr, "fixture: cannot start the server\n");
			goto fail;
		}
		int rc = fx_sign_in(fx, have);
		fx_stop_server(b);
		if (rc) {
			fprintf(stderr, "fixture: the password sign-ins failed\n");
			goto fail;
		}
		if (fx_save(fx, root, final, accounts ? accounts : ""))
			fprintf(stderr, "fixture: could not save the cache %s (going on without)\n", final);
	}
	free(accounts);
	accounts = NULL;
	printf("fixture: %d devices on %d accounts (%s): %d from the cache, %d signed in with a password in this run "
	       "(%.1f s, server CPU %.0f ms: %.1f ms per sign-in); cache %s\n",
	       n, fx->npool, pool_name, n - fx->signed_now, fx->signed_now, fx->signin_s, fx->signin_cpu_ms,
	       fx->signed_now ? fx->signin_cpu_ms / fx->signed_now : 0.0, fx->cache);
	fflush(stdout);
	if (bench_server_serve(b, real)) {
		fprintf(stderr, "fixture: cannot start the server\n");
		goto fail;
	}
	return 0;
fail:
	free(accounts);
	bench_fixture_stop(fx);
	return -1;
}

void bench_fixture_stop(bench_fixture *fx)
{
	if (!fx)
		return;
	if (fx->srv.dir[0])
		bench_server_stop(&fx->srv);
	free(fx->dev);
	memset(fx, 0, sizeof *fx);
}

void bench_fixture_conn(const bench_fixture *fx, int i, bench_conn *c)
{
	memcpy(c->device, fx->dev[i].device, sizeof c->device);
	memcpy(c->token, fx->dev[i].token, sizeof c->token);
	c->cursor_len = 0;
}
