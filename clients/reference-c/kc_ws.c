/* kc_ws.c - the client side of the WebSocket protocol (RFC 6455) over a raw
 * libwebsockets connection: the upgrade request and its answer, frames in
 * and out. Why not lws's own ws client: Debian's lws 4.1.6 parses every
 * payload byte of every frame through a state machine (~66 instructions a
 * byte, half the client's CPU in a first sync); here a frame's payload is
 * one memcpy into the message being gathered. It must never accept a
 * message over KT_MAX_OUT_FRAME, a text frame, a masked frame or a frame
 * before the upgrade is answered; it never writes (kc_conn.c does, in the
 * writeable callback). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include "kc_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

int kc_ws_request(kc_client *c, const char *host, int port, bool tls, const char *path, char *out, size_t cap)
{
	unsigned char nonce[16];
	int n;
	randombytes_buf(nonce, sizeof nonce);
	if (lws_b64_encode_string((const char *)nonce, sizeof nonce, c->ws.key, sizeof c->ws.key) <= 0)
		return -1;
	/* an IPv6 address goes in brackets; the port only when not the default */
	bool v6 = strchr(host, ':') != NULL, dflt = port == (tls ? 443 : 80);
	char hp[300];
	snprintf(hp, sizeof hp, "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
	if (!dflt)
		snprintf(hp + strlen(hp), sizeof hp - strlen(hp), ":%d", port);
	n = snprintf(out, cap,
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: %s\r\nSec-WebSocket-Version: 13\r\n"
		     "Pragma: no-cache\r\nCache-Control: no-cache\r\n\r\n",
		     path, hp, c->ws.key, KT_SUBPROTOCOL);
	return n > 0 && (size_t)n < cap ? n : -1;
}

/* The value of header `name` in the answer's header block (hdr, NUL-ended),
 * trimmed, into out; false when it is not there. */
static bool header(const char *hdr, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(hdr, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2, *e = strstr(h, "\r\n");
		if (!e || strncasecmp(h, name, nl) || h[nl] != ':')
			continue;
		h += nl + 1;
		while (h < e && (*h == ' ' || *h == '\t'))
			h++;
		while (e > h && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		snprintf(out, cap, "%.*s", (int)(e - h), h);
		return true;
	}
	return false;
}

/* The server's answer to the upgrade, whole: 101 with our subprotocol and
 * the accept value of our key; else why not into c->ws.refused. */
static bool upgrade_ok(kc_client *c)
{
	char v[128], want[64];
	unsigned char sha[20];
	char cat[sizeof c->ws.key + sizeof WS_GUID];
	int code = 0;
	if (sscanf(c->ws.hdr, "HTTP/1.%*d %d", &code) != 1 || code != 101) {
		snprintf(c->ws.refused, sizeof c->ws.refused, "the server refused the WebSocket upgrade (HTTP %d)", code);
		return false;
	}
	if (!header(c->ws.hdr, "upgrade", v, sizeof v) || strcasecmp(v, "websocket") ||
	    !header(c->ws.hdr, "connection", v, sizeof v) || !strcasestr(v, "upgrade")) {
		snprintf(c->ws.refused, sizeof c->ws.refused, "the server's answer is not a WebSocket upgrade");
		return false;
	}
	snprintf(cat, sizeof cat, "%s%s", c->ws.key, WS_GUID);
	lws_SHA1((const unsigned char *)cat, strlen(cat), sha);
	if (lws_b64_encode_string((const char *)sha, sizeof sha, want, sizeof want) <= 0 ||
	    !header(c->ws.hdr, "sec-websocket-accept", v, sizeof v) || strcmp(v, want)) {
		snprintf(c->ws.refused, sizeof c->ws.refused, "the server's WebSocket accept key is wrong");
		return false;
	}
	if (!header(c->ws.hdr, "sec-websocket-protocol", v, sizeof v) || strcmp(v, KT_SUBPROTOCOL)) {
		snprintf(c->ws.refused, sizeof c->ws.refused, "the server does not speak %s", KT_SUBPROTOCOL);
		return false;
	}
	return true;
}

/* Give up on this connection: close frame `code`, then the socket. */
static int fail(kc_client *c, int err, uint16_t code)
{
	if (!c->conn_err)
		c->conn_err = err;
	c->ws.state = KC_WS_FAILED;
	c->ws.close_code = code;
	return -1;
}

int kc_ws_in_reserve(kc_client *c, uint64_t more)
{
	if (more > (uint64_t)(KT_MAX_OUT_FRAME - c->in_len)) {
		kc_set_err(c, "the server sent a message over %d bytes", KT_MAX_OUT_FRAME);
		return fail(c, KT_ETOO_LARGE, 1009);
	}
	if (c->in_len + more > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 65536;
		unsigned char *p;
		while (cap < c->in_len + more)
			cap *= 2;
		if (cap > KT_MAX_OUT_FRAME)
			cap = KT_MAX_OUT_FRAME;
		if (!(p = realloc(c->in, cap))) {
			kc_set_err(c, "out of memory");
			return fail(c, KT_ENOMEM, 1011);
		}
		c->in = p;
		c->in_cap = cap;
	}
	return 0;
}

void kc_ws_in_trim(kc_client *c)
{
	if (c->in_cap > KC_IN_KEEP) { /* a large snapshot page passed: do not keep 2 MiB */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* A frame header is whole in c->ws.fh: check it and start its payload. */
static int frame_begin(kc_client *c)
{
	kc_ws *w = &c->ws;
	unsigned char b0 = w->fh[0], b1 = w->fh[1];
	uint64_t n = b1 & 0x7f;
	w->op = b0 & 0x0f;
	w->fin = (b0 & 0x80) != 0;
	if (b1 & 0x80 || b0 & 0x70) { /* a server never masks; no extension was agreed */
		kc_set_err(c, "the server sent a malformed WebSocket frame");
		return fail(c, KT_EMALFORMED, 1002);
	}
	if (n == 126)
		n = (uint64_t)w->fh[2] << 8 | w->fh[3];
	else if (n == 127) {
		n = 0;
		for (int i = 2; i < 10; i++)
			n = n << 8 | w->fh[i];
	}
	w->left = n;
	switch (w->op) {
	case OP_TEXT:
		kc_set_err(c, "the server sent a text frame");
		return fail(c, KT_ETEXT_FRAME, 1003);
	case OP_BINARY:
	case OP_CONT:
		if ((w->op == OP_CONT) != w->in_msg) {
			kc_set_err(c, "the server sent a WebSocket continuation out of order");
			return fail(c, KT_EMALFORMED, 1002);
		}
		w->in_msg = true;
		return kc_ws_in_reserve(c, n);
	case OP_CLOSE:
	case OP_PING:
	case OP_PONG:
		if (n > 125 || !w->fin) {
			kc_set_err(c, "the server sent a malformed WebSocket control frame");
			return fail(c, KT_EMALFORMED, 1002);
		}
		w->ctl_len = 0;
		return 0;
	default:
		kc_set_err(c, "the server sent an unknown WebSocket frame type %d", w->op);
		return fail(c, KT_EMALFORMED, 1002);
	}
}

/* A frame's payload is all in: a message, an answer to a ping, a close. */
static int frame_end(kc_client *c)
{
	kc_ws *w = &c->ws;
	int rc;
	switch (w->op) {
	case OP_PING:
		return kc_conn_control(c, OP_PONG, w->ctl, w->ctl_len) ? fail(c, KT_ENOMEM, 1011) : 0;
	case OP_PONG:
		w->ping_sent_us = 0;
		return 0;
	case OP_CLOSE:
		/* the answer to ours, or the server's own: either way the end */
		w->state = KC_WS_CLOSED;
		return -1;
	default:
		break;
	}
	if (!w->fin)
		return 0;
	w->in_msg = false;
	size_t n = c->in_len;
	c->in_len = 0;
	if (w->state == KC_WS_CLOSING)
		return 0; /* after our close: only the server's close counts */
	rc = kc_sync_message(c, n ? c->in : (const unsigned char *)"", n);
	kc_ws_in_trim(c);
	return rc ? fail(c, rc, 1008) : 0;
}

/* Frames: as much of the next one as `in` holds. */
static int frames(kc_client *c, const unsigned char *in, size_t len)
{
	kc_ws *w = &c->ws;
	while (len && (w->state == KC_WS_OPEN || w->state == KC_WS_CLOSING)) {
		if (w->fh_need == 0 || w->fh_len < w->fh_need) { /* a header */
			if (w->fh_need == 0)
				w->fh_need = 2, w->fh_len = 0;
			while (len && w->fh_len < w->fh_need) {
				w->fh[w->fh_len++] = *in++, len--;
				if (w->fh_len == 2)
					w->fh_need = (w->fh[1] & 0x7f) == 126 ? 4 : (w->fh[1] & 0x7f) == 127 ? 10 : 2;
			}
			if (w->fh_len < w->fh_need)
				return 0;
			if (frame_begin(c))
				return -1;
		}
		size_t take = w->left < len ? (size_t)w->left : len;
		if (take && w->op >= OP_CLOSE) {
			memcpy(w->ctl + w->ctl_len, in, take);
			w->ctl_len += take;
		} else if (take) { /* (c->in may be NULL for an empty frame) */
			memcpy(c->in + c->in_len, in, take);
			c->in_len += take;
		}
		in += take, len -= take, w->left -= take;
		if (w->left)
			return 0;
		w->fh_need = 0; /* the next frame's header comes next */
		if (frame_end(c))
			return -1;
	}
	return 0;
}

int kc_ws_rx(kc_client *c, const unsigned char *in, size_t len)
{
	kc_ws *w = &c->ws;
	w->rx_last_us = kt_mono_us();
	if (w->state == KC_WS_UPGRADING) {
		/* the answer's header block, then frames may follow in the same read */
		size_t room = sizeof w->hdr - 1 - w->hdr_len, take = len < room ? len : room;
		char *end;
		memcpy(w->hdr + w->hdr_len, in, take);
		w->hdr_len += take;
		w->hdr[w->hdr_len] = 0;
		if (!(end = strstr(w->hdr, "\r\n\r\n"))) {
			if (w->hdr_len < sizeof w->hdr - 1)
				return 0;
			snprintf(w->refused, sizeof w->refused, "the server's answer to the WebSocket upgrade is too long");
			return -1;
		}
		end[2] = 0; /* the header block ends with its last line's CRLF */
		size_t used = (size_t)(end + 4 - w->hdr) - (w->hdr_len - take);
		if (!upgrade_ok(c))
			return -1;
		w->state = KC_WS_OPEN;
		kc_sync_start(c);
		in += used, len -= used;
	}
	if (w->state != KC_WS_OPEN && w->state != KC_WS_CLOSING)
		return 0; /* failed: what follows is not read */
	return frames(c, in, len);
}

size_t kc_ws_frame(unsigned char *payload, size_t len, int op, unsigned char **start)
{
	unsigned char mask[4], *h;
	size_t hl = len < 126 ? 6 : len < 65536 ? 8 : 14;
	h = payload - hl;
	h[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		h[1] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(len >> 8), h[3] = (unsigned char)len;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	randombytes_buf(mask, sizeof mask);
	memcpy(h + hl - 4, mask, 4);
	for (size_t i = 0; i < len; i++)
		payload[i] ^= mask[i & 3];
	*start = h;
	return hl + len;
}

void kc_ws_reset(kc_client *c)
{
	memset(&c->ws, 0, sizeof c->ws);
}
