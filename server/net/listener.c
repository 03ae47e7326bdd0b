/* listener.c - the libwebsockets side: context, the kartoteka.v1 protocol
 * callback, message reassembly with our own size caps, and wake-ups from
 * other threads. Plain HTTP GET serves the web app (net/web.c); the
 * upgrade-confirm callback refuses upgrades that do not offer our
 * subprotocol. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sync/after_commit.h"
#include "kt_evloop.h"
#include "domain/retention.h"
#include "domain/revoke.h"
#include "server.h"
#include "write/writer.h"
#include "sync/rights.h"
#include "sync/fanout.h"
#include "sync/snapcache.h"
#include "sync/sync.h"
#include "handlers/auth_workers.h"
#include "handlers/export_worker.h"
#include "handlers/handlers.h"
#include "conn/conn.h"
#include "net/session.h"
#include "net/listener.h"
#include "net/keepalive.h"
#include "net/web.h"
#include "net/tls.h"
#include "net/lifecycle.h"
#include "net/walwatch.h"
#include "net/sendpool.h"

static int grow_in(kt_session *s, size_t need)
{
	if (need <= s->in_cap)
		return 0;
	size_t cap = s->in_cap ? s->in_cap : 1024;
	while (cap < need)
		cap *= 2;
	unsigned char *p = realloc(s->in, cap);
	if (!p)
		return -1;
	s->in = p;
	s->in_cap = cap;
	return 0;
}

static int on_receive(kt_session *s, struct lws *wsi, const void *in, size_t len)
{
	size_t cap = s->signed_in ? KT_MAX_FRAME : KT_MAX_FRAME_PREAUTH;
	bool first = lws_is_first_fragment(wsi) && s->in_len == 0;

	s->last_rx_us = kt_mono_us();

	if (s->state == KT_SS_CLOSING)
		return 0; /* draining until the fatal error is written */
	if (atomic_load(&s->srv->draining))
		return 0; /* the server stops: nothing new is taken (unanswered, a push is sent again later) */
	if (first)
		s->in_text = !lws_frame_is_binary(wsi);
	if (s->in_text) {
		session_error(s, KT_ETEXT_FRAME, NULL, NULL, true);
		s->in_len = 0;
		return 0;
	}
	/* refuse as early as the announced length allows, before buffering */
	if (s->in_len + len + lws_remaining_packet_payload(wsi) > cap) {
		session_error(s, KT_ETOO_LARGE, s->signed_in ? "message over 1 MiB" : "message over 4096 bytes before sign-in",
			      NULL, true);
		s->in_len = 0;
		return 0;
	}
	if (s->in_len == 0 && lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
		/* the whole message in one piece, as nearly every one is: read it
		 * where lws put it, and keep no buffer for the connection */
		return session_on_message(s, in, len);
	if (grow_in(s, s->in_len + len))
		return -1;
	memcpy(s->in + s->in_len, in, len);
	s->in_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	size_t n = s->in_len;
	s->in_len = 0;
	int rc = session_on_message(s, s->in, n);
	if (s->in) { /* keep no buffer per idle connection (the message was in pieces: rare) */
		free(s->in);
		s->in = NULL;
		s->in_cap = 0;
	}
	return rc;
}

/* The sessions the fan-out woke while held (fanout_hold): written to now,
 * inside one read transaction, instead of each waiting for a writeable
 * callback (two epoll_ctl calls and a loop turn per device, and a read
 * transaction each). */
static void write_woken(kt_server *srv)
{
	kt_session **r;
	int n = fanout_take_ready(srv, &r);
	bool reading = n && store_read_durable(srv->st, KT_DURABLE_WAIT_MS) == KT_OK;
	if (reading) {
		session_send_woken(srv, r, n);
		store_read_end(srv->st);
	} else
		for (int i = 0; i < n; i++)
			session_want_write(r[i]);
}

/* A commit seen from the loop (not inside a request): the sessions it
 * concerns are written to at once. */
static void commit_seen(kt_server *srv)
{
	fanout_hold(srv, true);
	after_commit(srv);
	fanout_hold(srv, false);
	write_woken(srv);
}

/* The WAL watcher (walwatch.c) wakes the loop once another process's
 * commit is readable. When a wake-up finds nothing new all the same (no
 * wal-index to read, a commit that has no change for devices, or one the
 * watcher gave up waiting for), look again every ms for RECHECK_FINE_MS,
 * then 2, 4, ... ms apart (at most RECHECK_STEP_MS) until RECHECK_FOR_MS
 * have passed since the last WAL write: no later write may come to wake
 * us, and a commit seen too early would wait for one. */
#define RECHECK_STEP_MS 250
#define RECHECK_FOR_MS 5000
#define RECHECK_FINE_MS 20
static void recheck_cb(lws_sorted_usec_list_t *sul)
{
	kt_server *srv = lws_container_of(sul, kt_server, recheck_timer);
	int64_t before = srv->head_seq;
	commit_seen(srv);
	if (srv->head_seq != before || srv->recheck_waited_ms >= RECHECK_FOR_MS)
		return;
	/* every millisecond (the loop's timer resolution) for the first
	 * RECHECK_FINE_MS, where an fsync ends: a commit found there reaches the
	 * devices at most 1 ms after it became visible (doubling from the
	 * start, one visible after 1.2 ms waited for the look at 3 ms) */
	int step = srv->recheck_step_ms < RECHECK_STEP_MS ? srv->recheck_step_ms * 2 : RECHECK_STEP_MS;
	if (srv->recheck_waited_ms < RECHECK_FINE_MS)
		step = 1;
	srv->recheck_step_ms = step;
	srv->recheck_waited_ms += step;
	lws_sul_schedule(srv->ctx, 0, &srv->recheck_timer, recheck_cb, (lws_usec_t)step * LWS_US_PER_MS);
}

static void on_data_wake(kt_server *srv)
{
	int64_t before = srv->head_seq;
	commit_seen(srv);
	if (srv->head_seq == before) {
		srv->recheck_step_ms = 1;
		srv->recheck_waited_ms = 1;
		lws_sul_schedule(srv->ctx, 0, &srv->recheck_timer, recheck_cb, LWS_US_PER_MS);
	}
}

/* Other threads (the worker queues, the writer, the WAL watcher) post
 * their bit to srv->wake, which cancels the service wait; every protocol
 * gets the callback, so the bits are taken at once and each acted on once. */
static void on_wake(kt_server *srv)
{
	unsigned bits = kt_wake_take(&srv->wake);
	if (bits & KT_WAKE_AUTH)
		auth_deliver(srv);
	if (bits & KT_WAKE_PUSH) { /* the answers, then the changes to everyone else at once */
		fanout_hold(srv, true);
		writer_deliver(srv);
		fanout_hold(srv, false);
		write_woken(srv);
	}
	if (bits & KT_WAKE_DATA)
		on_data_wake(srv);
	if (bits & KT_WAKE_EXPORT)
		export_worker_deliver(srv);
	if (bits & KT_WAKE_PORTAL)
		portal_deliver(srv);
	if (bits & (KT_WAKE_RELOAD | KT_WAKE_DRAIN))
		lifecycle_on_wake(srv, bits); /* SIGHUP, SIGTERM */
}

/* srv->wake's kick, from any thread. */
static void kick_loop(void *arg)
{
	kt_server *srv = arg;
	if (srv->ctx)
		lws_cancel_service(srv->ctx);
}

static int callback_kartoteka(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			      size_t len)
{
	kt_session **slot = user;
	kt_server *srv = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		if (atomic_load(&srv->draining))
			return -1; /* accepted before the listener closed (lifecycle.c) */
		*slot = session_new(srv, wsi);
		return *slot ? 0 : -1;
	case LWS_CALLBACK_CLOSED:
		session_free(*slot);
		*slot = NULL;
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return *slot ? on_receive(*slot, wsi, in, len) : -1;
	case LWS_CALLBACK_RECEIVE_PONG:
		if (*slot)
			(*slot)->last_rx_us = kt_mono_us();
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (*slot && (*slot)->want_ping && (*slot)->state != KT_SS_CLOSING)
			return keepalive_write_ping(*slot);
		return *slot ? session_on_writeable(*slot) : 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		on_wake(srv);
		return 0;
	default:
		return 0;
	}
}

/* True when the upgrade's Sec-WebSocket-Protocol list names kartoteka.v1
 * (lws reads at most 127 bytes of it too). */
static bool offers_subprotocol(struct lws *wsi)
{
	char buf[128];
	int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_PROTOCOL);
	for (char *save = NULL, *t = n > 0 ? strtok_r(buf, ", \t", &save) : NULL; t; t = strtok_r(NULL, ", \t", &save))
		if (!strcmp(t, KT_SUBPROTOCOL))
			return true;
	return false;
}

/* protocols[0] also receives upgrades that offered no (or another)
 * subprotocol. They are answered 400 at the upgrade, before lws would bind
 * them (it drops the TCP connection without an HTTP answer for those);
 * plain HTTP gets the web app's files (net/web.c). */
static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len)
{
	kt_server *srv = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
		/* written whole by hand: lws_return_http_status would say HTTP/1.0
		 * here (it has not read the request's version yet), which
		 * WebSocket clients do not accept as an answer */
		static const char refusal[] = "HTTP/1.1 400 Bad Request\r\n"
					      "content-type: text/plain; charset=utf-8\r\n"
					      "content-length: 61\r\n"
					      "connection: close\r\n"
					      "\r\n"
					      "kartoteka: WebSocket with the subprotocol kartoteka.v1 only\r\n";
		unsigned char out[LWS_PRE + sizeof refusal];
		char up[16];
		/* never `in`: after an Upgrade lws does not know, lws has answered
		 * it already and freed the header table `in` points into (the
		 * table is gone, or reset, then) */
		if (lws_hdr_copy(wsi, up, sizeof up, WSI_TOKEN_UPGRADE) <= 0)
			return -1;
		if (!strcasecmp(up, "h2c"))
			return 0; /* it reaches the refusing HTTP handler, never the protocol */
		if (!strcasecmp(up, "websocket") && offers_subprotocol(wsi))
			return 0;
		memcpy(out + LWS_PRE, refusal, sizeof refusal - 1);
		lws_write(wsi, out + LWS_PRE, sizeof refusal - 1, LWS_WRITE_HTTP_HEADERS);
		return -1; /* hang up after the answer */
	}
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return -1;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: /* user: the vhost's SSL_CTX */
		return srv && srv->tls_cert ? tls_attach(srv->tls_cert, user) : 0;
	case LWS_CALLBACK_HTTP:
		return user ? web_http(srv, wsi, user, in) : -1;
	case LWS_CALLBACK_HTTP_BODY:
		return user ? web_body(wsi, user, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return user ? web_body_done(srv, wsi, user) : -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return user ? web_writeable(wsi, user) : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (user)
			web_done(user);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv)
			on_wake(srv);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* The WebSocket protocol's buffers. rx: lws allocates rx_buffer_size (+
 * LWS_PRE) per connection for as long as it is open and hands a message over
 * in pieces of at most that size (on_receive puts them together): 1,024
 * bytes instead of 4,096 is 3 KB less for each of 10,000 idle devices, whose
 * frames (resume, sync, ack) are a few hundred bytes. tx: without
 * tx_packet_size lws sends at most rx_buffer_size per send() and copies the
 * rest of the frame into its own buffer, drained one such piece per loop
 * turn: a 256 KB snapshot page took some 60 turns. Now one send() offers the
 * whole frame; what the socket does not take is buffered the same way. */
#define KT_WS_RX_BUFFER 1024
#define KT_WS_TX_PACKET (KT_MAX_FRAME + 64 * 1024)

static const struct lws_protocols protocols[] = {
	{"http", callback_http, sizeof(kt_web_out), 0, 0, NULL, 0},
	{KT_SUBPROTOCOL, callback_kartoteka, sizeof(kt_session *), KT_WS_RX_BUFFER, 0, NULL, KT_WS_TX_PACKET},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* No keepalive by libwebsockets: its per-connection timers made every new
 * connection walk all the others' (lws_dll2_add_sorted); keepalive.c pings
 * an idle peer after 30 s and hangs up after KT_IDLE_TIMEOUT_S instead.
 * Zero here, because without a policy lws uses its default (300/310 s). */
static const lws_retry_bo_t retry = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

static void poll_cb(lws_sorted_usec_list_t *sul)
{
	kt_server *srv = lws_container_of(sul, kt_server, poll_timer);
	if (store_data_changed(srv->st))
		commit_seen(srv);
	lws_sul_schedule(srv->ctx, 0, &srv->poll_timer, poll_cb, 250 * LWS_US_PER_MS);
}

static int parse_listen(const char *listen, char *host, size_t hcap, int *port)
{
	const char *c = strrchr(listen, ':');
	char *end;
	long p;
	if (!c || (size_t)(c - listen) >= hcap || c == listen)
		return KT_EINVALID;
	p = strtol(c + 1, &end, 10);
	if (*end || p < 0 || p > 65535 || end == c + 1)
		return KT_EINVALID;
	memcpy(host, listen, (size_t)(c - listen));
	host[c - listen] = 0;
	*port = (int)p;
	return KT_OK;
}

static int load_keys(kt_server *srv)
{
	size_t len;
	if (store_meta_get(srv->st, "cursor_key", srv->cursor_key, sizeof srv->cursor_key, &len) ||
	    len != sizeof srv->cursor_key ||
	    store_meta_get(srv->st, "token_key", srv->token_key, sizeof srv->token_key, &len) ||
	    len != sizeof srv->token_key)
		return KT_EINVALID;
	return KT_OK;
}

/* libwebsockets' own lines through our logger (component "lws"), without its newline */
static void lws_log_emit(int level, const char *line)
{
	int n = (int)strcspn(line, "\n");
	kt_log_at(level == LLL_ERR ? KT_LOG_ERR : level == LLL_WARN ? KT_LOG_WARN : KT_LOG_DEBUG, "lws", 0, "%.*s", n, line);
}

/* One connection is one descriptor, and the usual soft limit (1024) would
 * stop the server near a thousand devices: raise the soft limit of open
 * files to the hard limit before libwebsockets sizes its tables by it. */
static void raise_open_file_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		kt_info("open-file limit raised from %llu to %llu", (unsigned long long)was,
			(unsigned long long)rl.rlim_max);
}

/* Whether HOST:PORT can be listened on, tried the way lws does it
 * (SO_REUSEADDR); 0, the errno, or -1 when HOST is not an address. addr
 * gets HOST's address as text. lws 4.1.6 only logs a failed bind and
 * returns a context without a vhost, which then cannot be destroyed
 * cleanly on the libuv loop: so ask before creating the context. */
static int listen_probe(const char *host, int port, char addr[INET_ADDRSTRLEN])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, err = 0;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	bool known = inet_pton(AF_INET, host, &a.sin_addr) == 1;
	if (!known && getaddrinfo(host, NULL, &hints, &ai) == 0 && ai) { /* a name such as localhost */
		a.sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		known = true;
	}
	if (ai)
		freeaddrinfo(ai);
	if (known) /* lws takes an address or an interface name, not a host name */
		inet_ntop(AF_INET, &a.sin_addr, addr, INET_ADDRSTRLEN);
	/* lws would wait for such an "interface" to appear, and we would
	 * claim to listen meanwhile */
	if (!known)
		err = -1;
	else if (fd < 0)
		err = errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
		 bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 1))
		err = errno;
	if (fd >= 0)
		close(fd);
	return err;
}

static void listen_failed(const char *host, int port, int err)
{
	if (err == EADDRINUSE)
		kt_err_log("port %d on %s is already in use", port, host);
	else if (err < 0)
		kt_err_log("cannot listen on %s:%d: not an IPv4 address or a known host name", host, port);
	else if (err)
		kt_err_log("cannot listen on %s:%d: %s", host, port, strerror(err));
	else
		kt_err_log("cannot listen on %s:%d", host, port);
}

int server_run(const kt_serve_opts *o)
{
	struct lws_context_creation_info info;
	kt_evloop *loop = NULL;
	kt_retention_pass *retention = NULL;
	kt_server srv;
	char host[256], addr[INET_ADDRSTRLEN] = "";
	const char *msg = NULL;
	int rc, port;

	memset(&srv, 0, sizeof srv);
	srv.watch_fd = srv.watch_shm = -1;
	kt_wake_init(&srv.wake, kick_loop, &srv);
	if (parse_listen(o->listen, host, sizeof host, &port)) {
		kt_err_log("--listen wants HOST:PORT, e.g. 127.0.0.1:8080");
		return 2;
	}
	if (o->tls_cert && o->tls_key) {
		char err[600];
		if (tls_open(o->tls_cert, o->tls_key, &srv.tls_cert, err, sizeof err)) {
			kt_err_log("TLS: %s", err);
			return 1;
		}
		srv.tls = true;
	}
	/* a SIGHUP before the loop runs must not end the process (its default) */
	lifecycle_early();
	if ((rc = store_open(o->db_path, 0, &srv.st, &msg))) {
		kt_err_log("%s: %s", o->db_path, msg);
		tls_free(srv.tls_cert);
		return 1;
	}
	if (load_keys(&srv)) {
		kt_err_log("%s: server keys missing (was it made by kartoteka-server init?)", o->db_path);
		store_close(srv.st);
		tls_free(srv.tls_cert);
		return 1;
	}
	srv.db_path = strdup(o->db_path);
	srv.web_root = o->web_root;
	srv.revoke_seq = revoke_last_seq(srv.st);
	srv.rights_gen = store_rights_gen(srv.st);
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	if (fanout_init(&srv, 8192, 65536)) {
		rc = 1;
		goto out;
	}

	raise_open_file_limit();
	lws_set_log_level(o->log_level >= KT_LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, lws_log_emit);
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = addr; /* set by listen_probe below */
	info.protocols = protocols;
	info.user = &srv;
	info.retry_and_idle_policy = &retry;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.timeout_secs = 10; /* HTTP upgrade must complete within this */
	info.ka_time = 0;
	if (srv.tls)
		/* no file paths for lws: the vhost gets its SSL_CTX empty and we
		 * fill it in LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS
		 * (net/tls.c) */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
	/* HTTP/1.1 only, also over TLS: browsers would otherwise take h2 and
	 * carry the WebSocket over it (RFC 8441), a path of lws we do not test */
	info.alpn = "http/1.1";
	if ((rc = listen_probe(host, port, addr))) {
		listen_failed(host, port, rc);
		rc = 1;
		goto out;
	}
	/* epoll through libuv, turned by us (common/kt_evloop.h) */
	loop = kt_evloop_new(&info);
	if (!loop) {
		rc = 1;
		goto out;
	}
	srv.ctx = lws_create_context(&info);
	if (!srv.ctx) {
		listen_failed(host, port, 0);
		rc = 1;
		goto out;
	}
	/* lws creates the context even when the listening socket fails
	 * (it only logs "ERROR on binding"): without a vhost we serve nothing */
	srv.vh = lws_get_vhost_by_name(srv.ctx, "default");
	if (!srv.vh || lws_get_vhost_listen_port(srv.vh) <= 0) {
		/* taken between the probe and lws's bind: exit without destroying
		 * the half-made context (see listen_probe) */
		listen_failed(host, port, listen_probe(host, port, addr));
		srv.ctx = NULL;
		loop = NULL;
		rc = 1;
		goto out;
	}
	srv.port = lws_get_vhost_listen_port(srv.vh);
	if ((rc = auth_start(&srv))) {
		fprintf(stderr, "kartoteka-server: cannot start sign-in workers\n");
		rc = 1;
		goto out;
	}
	if ((rc = writer_start(&srv))) {
		fprintf(stderr, "kartoteka-server: cannot start the writer thread\n");
		rc = 1;
		goto out;
	}
	if ((rc = export_worker_start(&srv))) {
		fprintf(stderr, "kartoteka-server: cannot start the export thread\n");
		rc = 1;
		goto out;
	}
	/* portal accounts and mail */
	if (o->portal)
		srv.portal_cfg = o->portal;
	else {
		static kt_portal_config defaults;
		portal_config_defaults(&defaults);
		portal_config_finish(&defaults, o->db_path);
		srv.portal_cfg = &defaults;
	}
	/* links in mails that admin commands queue point where this server is */
	if (portal_record_url(srv.st, srv.portal_cfg, o->tls_cert != NULL, host, srv.port))
		kt_warn("could not record the portal address in the database");
	if ((rc = portal_start(&srv))) {
		fprintf(stderr, "kartoteka-server: cannot start the portal and mail workers\n");
		rc = 1;
		goto out;
	}
	/* the change log and stored answers older than changelog_days: at start and hourly */
	if (retention_pass_start(o->db_path, &retention))
		kt_warn("retention: the pass did not start; the change log grows until it runs");
	srv.sendpool = sendpool_new(sendpool_configured_threads());
	walwatch_start(&srv);
	lws_sul_schedule(srv.ctx, 0, &srv.poll_timer, poll_cb, 250 * LWS_US_PER_MS);
	keepalive_start(&srv);
	atomic_store(&srv.ready, true); /* /readyz: the database is open, the port bound, the workers run */
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM drains from here on, SIGHUP reloads; READY=1 to systemd */
	if ((rc = lifecycle_ready(&srv, o, host))) {
		rc = 1;
		goto out;
	}
	printf("listening on %s:%d%s\n", host, srv.port, srv.tls ? " (TLS)" : "");
	fflush(stdout);
	kt_info("serving %s (schema v%d, change log at %lld, %s loop)", o->db_path, store_schema_version(srv.st),
		(long long)srv.head_seq, kt_evloop_name(loop));

	/* a SIGTERM drains (lifecycle.c), which sets the flag and cancels the
	 * wait once the devices are closed or its time is up */
	while (!atomic_load(&srv.stop)) {
		if (kt_evloop_service(loop, srv.ctx) < 0)
			break;
		lifecycle_between_turns(&srv, kt_evloop_is_libuv(loop));
	}
	kt_info("shutting down");
	rc = 0;
out:
	lifecycle_end(&srv);
	atomic_store(&srv.stop, 1);
	walwatch_stop(&srv);
	if (srv.ctx) {
		lws_sul_cancel(&srv.poll_timer);
		lws_sul_cancel(&srv.recheck_timer);
		keepalive_stop(&srv);
		session_deadlines_stop(&srv);
		auth_stop(&srv); /* before the context: workers kick it (srv.wake) */
		writer_stop(&srv);
		export_worker_stop(&srv);
		portal_stop(&srv);
		kt_evloop_destroy(loop, srv.ctx);
		loop = NULL;
	}
	if (loop)
		kt_evloop_destroy(loop, NULL);
	sendpool_free(srv.sendpool); /* the loop has stopped: no batch is under way */
	srv.sendpool = NULL;
	retention_pass_stop(retention);
	retention = NULL;
	auth_stop(&srv);
	writer_stop(&srv);
	export_worker_stop(&srv);
	portal_stop(&srv);
	fanout_free(&srv);
	sync_rowcache_clear(&srv);
	snapcache_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
	walwatch_close(&srv); /* after the last connection to the database: see walwatch.h */
	free(srv.db_path);
	tls_free(srv.tls_cert);
	sodium_memzero(srv.cursor_key, sizeof srv.cursor_key);
	sodium_memzero(srv.token_key, sizeof srv.token_key);
	return rc;
}
