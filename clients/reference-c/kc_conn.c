/* kc_conn.c - the connection: one libwebsockets client context per
 * kc_client; for ws:// a raw TCP connection on which kc_ws.c speaks
 * WebSocket (lws's own ws client parses every payload byte one at a time),
 * for wss:// lws's ws client (lws 4.1.6 cannot start TLS on a raw client
 * connection); an outgoing queue written one message per writeable
 * callback, and the loop that reconnects with exponential backoff. It must
 * never write outside the writeable callback, and never hold a server
 * message over KT_MAX_OUT_FRAME. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "kc_internal.h"

#define KC_RX_CHUNK (256 * 1024) /* what one read may bring (lws reads into a buffer of this size) */
#define KC_WS_PRE 14             /* the longest client frame header (kc_ws_frame) */
_Static_assert(LWS_PRE >= KC_WS_PRE, "a frame header goes into the LWS_PRE headroom");

/* wss://: lws's pings find a dead server (a half-open TCP connection after
 * a network change) well before the OS would; the server pings us too.
 * ws:// has the same times in keepalive() below. */
static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = KC_PING_IDLE_US / 1000000,
	.secs_since_valid_hangup = KC_HANGUP_IDLE_US / 1000000,
};

static void free_msg(kc_outmsg *m)
{
	sodium_memzero(m->data, LWS_PRE + m->len); /* login and resume frames carry secrets */
	free(m);
}

static void drop_queue(kc_client *c)
{
	while (c->out_head) {
		kc_outmsg *m = c->out_head;
		c->out_head = m->next;
		free_msg(m);
	}
	c->out_tail = NULL;
}

int kc_send(kc_client *c, const kt_mpw *w)
{
	kc_outmsg *m;
	if (w->err)
		return w->err;
	if (!c->wsi)
		return KT_OK; /* nothing to send on: the next connection starts over */
	if (!(m = malloc(sizeof *m + LWS_PRE + w->sb.size)))
		return KT_ENOMEM;
	m->next = NULL;
	m->len = w->sb.size;
	m->op = 2; /* binary */
	memcpy(m->data + LWS_PRE, w->sb.data, w->sb.size);
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	lws_callback_on_writable(c->wsi);
	return KT_OK;
}

int kc_conn_control(kc_client *c, int op, const unsigned char *payload, size_t len)
{
	kc_outmsg *m;
	if (!c->wsi)
		return KT_OK;
	if (!(m = malloc(sizeof *m + LWS_PRE + len)))
		return KT_ENOMEM;
	m->len = len;
	m->op = op;
	if (len)
		memcpy(m->data + LWS_PRE, payload, len);
	m->next = c->out_head; /* ahead of the messages: each is one frame, so any boundary is one */
	c->out_head = m;
	if (!c->out_tail)
		c->out_tail = m;
	lws_callback_on_writable(c->wsi);
	return KT_OK;
}

void kc_conn_drop(kc_client *c, int why)
{
	if (!c->wsi)
		return;
	if (why && !c->conn_err)
		c->conn_err = why;
	c->closing = true;
	lws_callback_on_writable(c->wsi);
}

/* wss://: a piece of a message from lws's ws client */
static int on_receive_lws(kc_client *c, struct lws *wsi, const void *in, size_t len)
{
	size_t n;
	int rc;
	if (!lws_frame_is_binary(wsi)) {
		kc_set_err(c, "the server sent a text frame");
		c->conn_err = KT_ETEXT_FRAME;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, NULL, 0);
		return -1;
	}
	if (kc_ws_in_reserve(c, len)) {
		lws_close_reason(wsi, (enum lws_close_status)c->ws.close_code, NULL, 0);
		return -1;
	}
	memcpy(c->in + c->in_len, in, len);
	c->in_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	n = c->in_len;
	c->in_len = 0;
	rc = kc_sync_message(c, c->in, n);
	kc_ws_in_trim(c);
	if (rc) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
		return -1;
	}
	return 0;
}

/* ws://: bytes from the raw connection */
static int on_receive(kc_client *c, struct lws *wsi, const void *in, size_t len)
{
	if (!kc_ws_rx(c, in, len))
		return 0;
	if (c->ws.state == KC_WS_FAILED) {
		lws_callback_on_writable(wsi); /* the close frame, then the socket */
		return 0;
	}
	return -1;
}

/* A close frame with `code`. */
static int write_close(struct lws *wsi, uint16_t code)
{
	unsigned char buf[LWS_PRE + 2], *start;
	buf[LWS_PRE] = (unsigned char)(code >> 8);
	buf[LWS_PRE + 1] = (unsigned char)code;
	size_t n = kc_ws_frame(buf + LWS_PRE, 2, 8, &start);
	return lws_write(wsi, start, n, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

/* Write the queue's first message: framed here on a raw connection
 * (ws://), by lws's ws client otherwise; then ask for the next callback
 * while more waits or a close is due. */
static int write_first(kc_client *c, struct lws *wsi, bool raw)
{
	kc_outmsg *m = c->out_head;
	unsigned char *start;
	int n;
	c->out_head = m->next;
	if (!c->out_head)
		c->out_tail = NULL;
	if (raw) {
		size_t fl = kc_ws_frame(m->data + LWS_PRE, m->len, m->op, &start);
		n = lws_write(wsi, start, fl, LWS_WRITE_RAW);
	} else
		n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_BINARY);
	free_msg(m);
	if (n < 0) {
		kc_set_err(c, "cannot write to the server");
		c->conn_err = KT_EIO;
		return -1;
	}
	if (c->out_head || c->closing)
		lws_callback_on_writable(wsi);
	return 0;
}

/* wss://: one message a callback through lws's ws client */
static int on_writeable_lws(kc_client *c, struct lws *wsi)
{
	if (!c->out_head) {
		if (c->closing) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		return 0; /* a callback with nothing to send */
	}
	return write_first(c, wsi, false);
}

static int on_writeable(kc_client *c, struct lws *wsi)
{
	int n;
	if (c->ws.lws)
		return on_writeable_lws(c, wsi);
	if (!c->ws.req_sent) {
		char url[512], host[256], path[256], req[LWS_PRE + 1024];
		bool tls;
		int port;
		if (kc_meta_get(c, "server", url, sizeof url) != KT_OK ||
		    kc_parse_url(url, host, sizeof host, &port, path, sizeof path, &tls) ||
		    (n = kc_ws_request(c, host, port, tls, path, req + LWS_PRE, sizeof req - LWS_PRE)) < 0) {
			kc_set_err(c, "cannot make the WebSocket upgrade request");
			return -1;
		}
		c->ws.req_sent = true;
		return lws_write(wsi, (unsigned char *)req + LWS_PRE, (size_t)n, LWS_WRITE_RAW) < 0 ? -1 : 0;
	}
	switch (c->ws.state) {
	case KC_WS_FAILED: /* say why, then go */
		(void)write_close(wsi, c->ws.close_code);
		return -1;
	case KC_WS_OPEN:
		break;
	default:
		return 0; /* nothing before the upgrade is answered; after our close, only the server's */
	}
	if (!c->out_head) {
		if (c->closing) {
			c->ws.state = KC_WS_CLOSING; /* the server answers with its close, then we go */
			return write_close(wsi, 1000);
		}
		return 0; /* a callback with nothing to send */
	}
	return write_first(c, wsi, true);
}

static void on_ended(kc_client *c, const char *why)
{
	c->wsi = NULL;
	c->ended = true;
	kc_sync_end(c);
	drop_queue(c);
	c->in_len = 0;
	if (why) {
		kc_set_err(c, "%s", why);
		if (!c->conn_err)
			c->conn_err = KT_EIO;
	}
	kc_state(c, KC_ST_DISCONNECTED, NULL, c->conn_err ? c->err : NULL);
}

/* Why OpenSSL refused the server's certificate, in words a person can act
 * on, into c->tls_refused. lws itself reports only "connect SSL err 1". */
static void note_refusal(kc_client *c, X509_STORE_CTX *x)
{
	int e = X509_STORE_CTX_get_error(x);
	X509 *cert = X509_STORE_CTX_get_current_cert(x);
	char subject[200] = "?", when[40] = "", ca[1024];
	const ASN1_TIME *t = NULL;
	bool unknown_ca = false;
	struct tm tm;
	const char *why;
	if (c->tls_refused[0])
		return; /* the first reason is the one that counts */
	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
	switch (e) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		why = "wrong host: it is not for the host in the server URL";
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		why = "expired";
		t = cert ? X509_get0_notAfter(cert) : NULL;
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		why = "not valid yet (or this device's clock is wrong)";
		t = cert ? X509_get0_notBefore(cert) : NULL;
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		why = "unknown certificate authority";
		unknown_ca = true;
		break;
	default:
		why = X509_verify_cert_error_string(e);
	}
	if (t && ASN1_TIME_to_tm(t, &tm))
		strftime(when, sizeof when, " on %Y-%m-%d %H:%M UTC", &tm);
	if (!unknown_ca || kc_meta_get(c, "ca_file", ca, sizeof ca) != KT_OK)
		snprintf(ca, sizeof ca, "the system's CAs");
	snprintf(c->tls_refused, sizeof c->tls_refused, "the server's certificate was refused: %s%s (%.120s%s%.300s)",
		 why, when, subject, unknown_ca ? "; trusted: " : "", unknown_ca ? ca : "");
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	kc_client *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	char why[sizeof c->tls_refused];
	if (!c)
		return 0; /* context-level events */
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED: /* wss:// */
		if (wsi != c->wsi)
			return -1;
		c->ws.state = KC_WS_OPEN;
		kc_sync_start(c);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return wsi == c->wsi ? on_receive_lws(c, wsi, in, len) : -1;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return wsi == c->wsi ? on_writeable(c, wsi) : -1;
	case LWS_CALLBACK_RAW_ADOPT: /* ws:// */
		/* TCP (and TLS) is up: the upgrade request goes first. This may
		 * come inside lws_client_connect_via_info, before c->wsi is set. */
		if (c->wsi && wsi != c->wsi)
			return -1;
		c->wsi = wsi;
		c->ws.rx_last_us = kt_mono_us();
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		return wsi == c->wsi ? on_receive(c, wsi, in, len) : -1;
	case LWS_CALLBACK_RAW_WRITEABLE:
		return wsi == c->wsi ? on_writeable(c, wsi) : -1;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user: the X509_STORE_CTX, len: OpenSSL's verdict so far; we
		 * only take note, the verdict stands */
		if (!len)
			note_refusal(c, user);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c->wsi && wsi != c->wsi)
			return 0;
		if (c->tls_refused[0])
			snprintf(why, sizeof why, "%s", c->tls_refused);
		else if (in && !strncmp(in, "connect SSL err", 15))
			snprintf(why, sizeof why, "cannot connect to the server: the TLS handshake failed (does it speak "
						  "TLS on that port? ws:// is without TLS)");
		else
			snprintf(why, sizeof why, "cannot connect to the server: %.200s",
				 in ? (const char *)in : "connection refused or unreachable");
		on_ended(c, c->conn_err ? NULL : why);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_RAW_CLOSE:
		if (c->wsi && wsi != c->wsi)
			return 0;
		if (c->ws.state == KC_WS_UPGRADING && !c->conn_err) {
			snprintf(why, sizeof why, "cannot connect to the server: %s",
				 c->ws.refused[0] ? c->ws.refused : "it closed the connection during the WebSocket upgrade");
			on_ended(c, why);
			return 0;
		}
		/* after the goal was reached (an error such as `revoked` ends the
		 * run, and the server closes right after it, often in the same
		 * read) the end of the connection is no news: its message stays */
		on_ended(c, c->conn_err || c->closing || c->done ? NULL : "the connection to the server was lost");
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{KT_SUBPROTOCOL, callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ws:// or wss://HOST[:PORT][/PATH] -> parts; host is a name, an IPv4
 * address or a bracketed IPv6 address. */
int kc_parse_url(const char *url, char *host, size_t hcap, int *port, char *path, size_t pcap, bool *tls)
{
	const char *p, *h, *he;
	size_t hl;
	long pn;
	if (url && !strncmp(url, "ws://", 5)) {
		*tls = false;
		pn = 80;
		p = url + 5;
	} else if (url && !strncmp(url, "wss://", 6)) {
		*tls = true;
		pn = 443;
		p = url + 6;
	} else {
		return KT_EINVALID;
	}
	if (*p == '[') {
		h = ++p;
		if (!(he = strchr(p, ']')))
			return KT_EINVALID;
		p = he + 1;
	} else {
		h = p;
		while (*p && *p != ':' && *p != '/')
			p++;
		he = p;
	}
	hl = (size_t)(he - h);
	if (hl == 0 || hl >= hcap)
		return KT_EINVALID;
	for (const char *q = h; q < he; q++)
		if (!(q[0] == '.' || q[0] == '-' || q[0] == ':' || q[0] == '_' || (q[0] >= '0' && q[0] <= '9') ||
		      (q[0] >= 'a' && q[0] <= 'z') || (q[0] >= 'A' && q[0] <= 'Z')))
			return KT_EINVALID;
	memcpy(host, h, hl);
	host[hl] = 0;
	if (*p == ':') {
		char *end;
		if (p[1] < '0' || p[1] > '9')
			return KT_EINVALID;
		pn = strtol(p + 1, &end, 10);
		p = end;
		if (pn < 1 || pn > 65535)
			return KT_EINVALID;
	}
	if (*p && *p != '/')
		return KT_EINVALID;
	if (strlen(*p ? p : "/") >= pcap)
		return KT_EINVALID;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return KT_EINVALID;
	strcpy(path, *p ? p : "/");
	*port = (int)pn;
	return KT_OK;
}

static void silent_log(int level, const char *line)
{
	(void)level, (void)line; /* the library prints nothing */
}

/* The context is made for the stored server's scheme and CA file;
 * kc_set_server and kc_set_ca_file close it so the next run makes a new one. */
static int ensure_context(kc_client *c)
{
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	char url[512], host[256], path[256], ca[1024];
	bool tls = false;
	int port;
	if (atomic_load(&c->ctx))
		return KT_OK;
	memset(&info, 0, sizeof info);
	if (kc_meta_get(c, "server", url, sizeof url) == KT_OK &&
	    kc_parse_url(url, host, sizeof host, &port, path, sizeof path, &tls) == KT_OK && tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		if (kc_meta_get(c, "ca_file", ca, sizeof ca) == KT_OK) {
			/* this CA only: the system's would also accept any public
			 * certificate for the host */
			info.client_ssl_ca_filepath = ca;
			info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
		}
	}
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.fd_limit_per_thread = 16; /* one connection; lws sizes tables by this, not by ulimit */
	info.pt_serv_buf_size = KC_RX_CHUNK; /* a snapshot page in a few reads, not 4 KiB each */
	lws_set_log_level(LLL_ERR, silent_log);
	if (!(ctx = lws_create_context(&info))) {
		kc_set_err(c, "cannot create a network context");
		return KT_ENOMEM;
	}
	atomic_store(&c->ctx, ctx);
	return KT_OK;
}

static void connect_once(kc_client *c)
{
	struct lws_client_connect_info ci;
	char url[512], host[256], path[256];
	struct lws *wsi;
	bool tls;
	int port;

	drop_queue(c);
	c->tls_refused[0] = 0;
	c->in_len = 0;
	c->closing = false;
	c->conn_err = 0;
	c->ended = false;
	kc_ws_reset(c);
	if (kc_meta_get(c, "server", url, sizeof url) != KT_OK ||
	    kc_parse_url(url, host, sizeof host, &port, path, sizeof path, &tls)) {
		c->conn_err = KT_EINVALID;
		on_ended(c, "no server set (use --server ws://HOST:PORT)");
		return;
	}
	memset(&ci, 0, sizeof ci);
	ci.context = atomic_load(&c->ctx);
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = host;
	if (tls) {
		ci.origin = host;
		ci.protocol = KT_SUBPROTOCOL;
		ci.retry_and_idle_policy = &idle_policy;
		c->ws.lws = true;
	} else {
		ci.method = "RAW"; /* kc_ws.c speaks WebSocket on it */
	}
	/* verified against the CAs, for ci.host (lws checks the name or the
	 * IP address), unexpired; never plain after a failed handshake */
	ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
	ci.opaque_user_data = c;
	kc_state(c, KC_ST_CONNECTING, NULL, url);
	c->signin_deadline_us = kt_mono_us() + KC_SIGNIN_DEADLINE_US;
	wsi = lws_client_connect_via_info(&ci);
	if (c->ended)
		return; /* failed inside the call; the callback said so */
	if (!wsi) {
		on_ended(c, "cannot connect to the server");
		return;
	}
	c->wsi = wsi;
}

/* Its only job is to end lws_service's wait. lws runs ripe timers before it
 * computes the poll timeout, so a timer that ripened in between would leave
 * the poll waiting for lws's own next timer (~30 s): wake the poll instead. */
static void wake_cb(lws_sorted_usec_list_t *sul)
{
	kc_client *c = lws_container_of(sul, kc_client, wake);
	struct lws_context *ctx = atomic_load(&c->ctx);
	if (ctx)
		lws_cancel_service(ctx);
}

/* Wait in lws_service for traffic, at most until `until` (monotonic us; 0 =
 * no limit of ours). lws 4.x ignores lws_service's timeout argument, so a
 * scheduled timer bounds the wait; kc_stop() ends it through
 * lws_cancel_service(). */
static void service(kc_client *c, int64_t until)
{
	struct lws_context *ctx = atomic_load(&c->ctx);
	if (until) {
		int64_t us = until - kt_mono_us();
		lws_sul_schedule(ctx, 0, &c->wake, wake_cb, us > 0 ? us : 0);
	}
	lws_service(ctx, 0);
	lws_sul_cancel(&c->wake);
}

static int64_t min_time(int64_t a, int64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* Cut the current connection at once (a peer that does not answer). */
static void kill_now(kc_client *c)
{
	struct lws *wsi = c->wsi;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	if (c->wsi == wsi) /* no close callback came */
		on_ended(c, NULL);
}

/* Close the current connection politely (the queued ack goes first), but do
 * not wait for it longer than KC_CLOSE_GRACE_US. */
static void close_now(kc_client *c)
{
	int64_t end = kt_mono_us() + KC_CLOSE_GRACE_US;
	if (!c->wsi)
		return;
	kc_conn_drop(c, 0);
	while (c->wsi && kt_mono_us() < end)
		service(c, end);
	if (c->wsi)
		kill_now(c);
}

/* Our own pings find a dead server (a half-open TCP connection after a
 * network change) well before the OS would; the server pings us too. Any
 * byte from the server counts as a sign of life. Returns when to look
 * again (0: no need). */
static int64_t keepalive(kc_client *c, int64_t now)
{
	kc_ws *w = &c->ws;
	if (!c->wsi || w->lws || w->state != KC_WS_OPEN || !w->rx_last_us)
		return 0;
	if (now - w->rx_last_us >= KC_HANGUP_IDLE_US) {
		kc_set_err(c, "the server stopped answering (nothing for %lld s)",
			   (long long)(KC_HANGUP_IDLE_US / 1000000));
		c->conn_err = KT_ETIMEOUT;
		kill_now(c);
		return 0;
	}
	if (now - w->rx_last_us >= KC_PING_IDLE_US && w->ping_sent_us <= w->rx_last_us &&
	    kc_conn_control(c, 9, NULL, 0) == KT_OK)
		w->ping_sent_us = now;
	return w->ping_sent_us > w->rx_last_us ? w->rx_last_us + KC_HANGUP_IDLE_US : w->rx_last_us + KC_PING_IDLE_US;
}

int kc_conn_run(kc_client *c, int timeout_ms, bool retry)
{
	int64_t now = kt_mono_us();
	int64_t deadline = timeout_ms > 0 ? now + (int64_t)timeout_ms * 1000 : 0;
	int64_t next_try = now;
	bool tried = false;
	int rc;

	if ((rc = ensure_context(c)))
		return rc;
	c->done = false;
	c->result = KT_OK;
	c->backoff_ms = KC_BACKOFF_MIN_MS;
	/* snapshot pages are committed on a second thread while the next is
	 * read (kc_sync.c); KC_APPLY_THREAD=0 turns that off (for comparisons) */
	const char *at = getenv("KC_APPLY_THREAD");
	c->apply_async = !(at && !strcmp(at, "0"));
	c->err[0] = 0;
	for (;;) {
		now = kt_mono_us();
		if (c->done) {
			rc = c->result;
			break;
		}
		if (atomic_exchange(&c->stop, 0)) {
			rc = KT_OK;
			break;
		}
		if (deadline && now >= deadline) {
			kc_set_err(c, "no answer in time (%d ms)", timeout_ms);
			rc = KT_ETIMEOUT;
			break;
		}
		if (c->ended) { /* the last attempt or connection is over */
			c->ended = false;
			if (!retry || c->conn_err == KT_EINVALID) {
				rc = c->conn_err ? c->conn_err : KT_EIO;
				break;
			}
			/* equal jitter: half the backoff fixed, half random */
			next_try = now + (c->backoff_ms / 2 + randombytes_uniform((uint32_t)c->backoff_ms / 2 + 1)) * 1000;
			c->backoff_ms = c->backoff_ms * 2 > KC_BACKOFF_MAX_MS ? KC_BACKOFF_MAX_MS : c->backoff_ms * 2;
		}
		if (!c->wsi && !c->ended && (!tried || now >= next_try)) {
			tried = true;
			connect_once(c);
			continue;
		}
		if (c->wsi && c->signin_deadline_us && now >= c->signin_deadline_us) {
			kc_set_err(c, "the server did not answer within %d s", KC_SIGNIN_DEADLINE_US / 1000000);
			c->conn_err = KT_ETIMEOUT;
			kill_now(c);
			continue;
		}
		int64_t ka = keepalive(c, now);
		if (c->ended)
			continue;
		if (c->ack_due_us && now >= c->ack_due_us)
			kc_sync_ack(c);
		if (c->wsi && c->queue_poll_us && now >= c->queue_poll_us)
			kc_sync_poll_queue(c);
		service(c, min_time(min_time(min_time(deadline, c->wsi ? c->signin_deadline_us : next_try),
					     min_time(c->ack_due_us, c->wsi ? c->queue_poll_us : 0)),
				    ka));
		kc_sync_poll_applier(c); /* a page that failed on the applier's thread ends the connection */
	}
	close_now(c);
	c->ended = false;
	{
		int drc = kc_sync_drain(c); /* nothing runs on after kc_run returns */
		if (drc && !rc)
			rc = drc;
	}
	c->apply_async = false;
	return rc;
}

void kc_conn_close(kc_client *c)
{
	struct lws_context *ctx = atomic_exchange(&c->ctx, NULL);
	if (ctx)
		lws_context_destroy(ctx); /* closes a connection still open */
	c->wsi = NULL;
	drop_queue(c);
	free(c->in);
	c->in = NULL;
	c->in_cap = c->in_len = 0;
}
