/* kc_conn.c - the WebSocket connection: libwebsockets client, an outgoing
 * queue written one message per writeable callback, reassembly of inbound
 * messages under our own size cap, reconnect with exponential backoff. */
#include <stdlib.h>
#include <string.h>
#include "kc_internal.h"

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	kc_client *c = lws_get_opaque_user_data(wsi);
	(void)user;
	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->connected = true;
		kc_on_connected(c);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!lws_frame_is_binary(wsi))
			return -1; /* the server only sends binary frames */
		if (c->in_len + len > KT_MAX_OUT_FRAME) {
			kc_set_err(c, "server message over %d bytes", KT_MAX_OUT_FRAME);
			return -1;
		}
		if (c->in_len + len > c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap : 65536;
			while (cap < c->in_len + len)
				cap *= 2;
			unsigned char *p = realloc(c->in, cap);
			if (!p)
				return -1;
			c->in = p;
			c->in_cap = cap;
		}
		memcpy(c->in + c->in_len, in, len);
		c->in_len += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			size_t n = c->in_len;
			c->in_len = 0;
			if (kc_on_message(c, c->in, n))
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->out_head) {
			kc_outmsg *m = c->out_head;
			c->out_head = m->next;
			if (!c->out_head)
				c->out_tail = NULL;
			int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_BINARY);
			free(m);
			if (n < 0)
				return -1;
			if (c->out_head)
				lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		kc_set_err(c, "cannot connect: %s", in ? (const char *)in : "unknown error");
		/* fall through */
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->wsi = NULL;
		c->closed = true;
		c->connected = false;
		kc_state(c, KC_ST_DISCONNECTED, NULL, NULL);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{KT_SUBPROTOCOL, callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

int kc_send(kc_client *c, const kt_mpw *w)
{
	kc_outmsg *m;
	if (w->err)
		return w->err;
	if (!(m = malloc(sizeof *m + LWS_PRE + w->sb.size)))
		return KT_ENOMEM;
	m->next = NULL;
	m->len = w->sb.size;
	memcpy(m->data + LWS_PRE, w->sb.data, w->sb.size);
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
	return KT_OK;
}

static void drop_queue(kc_client *c)
{
	while (c->out_head) {
		kc_outmsg *m = c->out_head;
		c->out_head = m->next;
		free(m);
	}
	c->out_tail = NULL;
	c->in_len = 0;
}

/* ws://host:port/path -> parts; only plain ws:// in the reference client */
static int parse_url(const char *url, char *host, size_t hcap, int *port, char *path, size_t pcap)
{
	const char *p = url, *colon, *slash;
	if (strncmp(p, "ws://", 5) != 0)
		return KT_EINVALID;
	p += 5;
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (!colon || (slash && colon > slash) || (size_t)(colon - p) >= hcap)
		return KT_EINVALID;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = 0;
	*port = atoi(colon + 1);
	snprintf(path, pcap, "%s", slash ? slash : "/");
	return *port > 0 && *port < 65536 ? KT_OK : KT_EINVALID;
}

static int connect_once(kc_client *c)
{
	struct lws_client_connect_info ci;
	char url[512], host[256], path[256];
	int port;

	if (kc_meta(c, "server", url, sizeof url) != KT_OK) {
		kc_set_err(c, "no server set (use --server ws://HOST:PORT)");
		return KT_EINVALID;
	}
	if (parse_url(url, host, sizeof host, &port, path, sizeof path)) {
		kc_set_err(c, "server must look like ws://HOST:PORT, got %s", url);
		return KT_EINVALID;
	}
	drop_queue(c);
	c->closed = false;
	memset(&ci, 0, sizeof ci);
	ci.context = c->ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = host;
	ci.origin = host;
	ci.protocol = KT_SUBPROTOCOL;
	ci.opaque_user_data = c;
	kc_state(c, KC_ST_CONNECTING, NULL, NULL);
	c->wsi = lws_client_connect_via_info(&ci);
	if (!c->wsi) {
		c->closed = true;
		return KT_EIO;
	}
	return KT_OK;
}

/* lws 4.x ignores lws_service's timeout; this timer makes the loop come
 * back every 20 ms to look at deadlines, stop requests and reconnects. */
static void tick_cb(lws_sorted_usec_list_t *sul)
{
	kc_client *c = lws_container_of(sul, kc_client, tick);
	lws_cancel_service(c->ctx);
	lws_sul_schedule(c->ctx, 0, &c->tick, tick_cb, 20 * LWS_US_PER_MS);
}

void kc_conn_close(kc_client *c)
{
	if (c->ctx) {
		lws_sul_cancel(&c->tick);
		lws_context_destroy(c->ctx);
		c->ctx = NULL;
	}
	c->wsi = NULL;
	drop_queue(c);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

int kc_conn_run(kc_client *c, int timeout_ms, bool reconnect)
{
	int64_t deadline = timeout_ms > 0 ? kt_mono_us() + (int64_t)timeout_ms * 1000 : 0;
	int64_t backoff_ms = 250, next_try = 0;
	int rc;

	if (!c->ctx) {
		struct lws_context_creation_info info;
		memset(&info, 0, sizeof info);
		info.port = CONTEXT_PORT_NO_LISTEN;
		info.protocols = protocols;
		lws_set_log_level(LLL_ERR, NULL);
		if (!(c->ctx = lws_create_context(&info))) {
			kc_set_err(c, "cannot create a network context");
			return KT_ENOMEM;
		}
		lws_sul_schedule(c->ctx, 0, &c->tick, tick_cb, 20 * LWS_US_PER_MS);
	}
	c->done = false;
	c->fatal = false;
	c->stop = 0;
	c->closed = true;
	while (!c->done && !c->stop) {
		int64_t now = kt_mono_us();
		if (deadline && now >= deadline) {
			if (c->wsi)
				lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
			c->wsi = NULL;
			return KT_ETIMEOUT;
		}
		if (c->closed && !c->wsi) {
			if (c->fatal)
				return c->result ? c->result : KT_EAUTH_FAILED;
			if (next_try && !reconnect)
				return KT_EIO; /* one attempt only */
			if (now >= next_try) {
				if ((rc = connect_once(c)) == KT_EINVALID)
					return rc;
				/* exponential backoff with jitter, 250 ms .. 30 s */
				next_try = now + backoff_ms * 1000 + (int64_t)(rand() % 250) * 1000;
				backoff_ms = backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2;
			}
		}
		if (c->connected)
			backoff_ms = 250;
		lws_service(c->ctx, 0);
	}
	/* flush what is queued (the final ack), then close politely */
	for (int i = 0; i < 50 && c->wsi && c->out_head; i++)
		lws_service(c->ctx, 0);
	if (c->wsi) {
		/* close politely and let lws finish the close handshake */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		for (int i = 0; i < 20 && c->wsi; i++)
			lws_service(c->ctx, 0);
	}
	return c->stop && !c->done ? KT_OK : c->result;
}
