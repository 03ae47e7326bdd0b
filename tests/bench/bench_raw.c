/* bench_raw.c - the lean benchmark device (bench_raw.h): RFC 6455 client
 * framing by hand, the way kt-bench-load --first's devices speak. */
#include "bench_raw.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_frame(bench_raw *d, unsigned char op, const void *data, size_t n)
{
	unsigned char f[512];
	size_t h = 0;
	uint32_t key = randombytes_random();
	if (n > sizeof f - 8)
		return -1;
	f[h++] = 0x80 | op;
	if (n < 126)
		f[h++] = (unsigned char)(0x80 | n);
	else {
		f[h++] = 0x80 | 126;
		f[h++] = (unsigned char)(n >> 8);
		f[h++] = (unsigned char)n;
	}
	memcpy(f + h, &key, 4);
	for (size_t i = 0; i < n; i++)
		f[h + 4 + i] = ((const unsigned char *)data)[i] ^ ((unsigned char *)&key)[i & 3];
	size_t len = h + 4 + n;
	return send(d->fd, f, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int bench_raw_send(bench_raw *d, const kt_mpw *w)
{
	return send_frame(d, 0x2, w->sb.data, w->sb.size);
}

int bench_raw_connect(bench_raw *d, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->state = BENCH_RAW_CONNECTING;
	d->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return d->state = BENCH_RAW_FAILED, -1;
	setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(d->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS)
		return d->state = BENCH_RAW_FAILED, -1;
	return 0;
}

int bench_raw_connected(bench_raw *d)
{
	char req[512], key[32];
	uint8_t nonce[16];
	int err = 0;
	socklen_t el = sizeof err;
	randombytes_buf(nonce, sizeof nonce);
	sodium_bin2base64(key, sizeof key, nonce, sizeof nonce, sodium_base64_VARIANT_ORIGINAL);
	int rl = snprintf(req, sizeof req,
			  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
			  key, KT_SUBPROTOCOL);
	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err ||
	    send(d->fd, req, (size_t)rl, MSG_NOSIGNAL) != rl)
		return d->state = BENCH_RAW_FAILED, -1;
	d->state = BENCH_RAW_UPGRADING;
	return 0;
}

/* A whole control frame: close ends the device, a ping is answered (the
 * server pings a device silent for 30 s), a pong is ignored. */
static void control(bench_raw *d)
{
	if (d->ctl == 8)
		d->state = BENCH_RAW_FAILED;
	else if (d->ctl == 9 && send_frame(d, 0xa, d->cbuf, d->clen))
		d->state = BENCH_RAW_FAILED;
	d->ctl = 0;
	d->clen = 0;
}

/* The sign-in (welcome -> resume, auth_ok -> sync), then the bench's hook. */
static void message(bench_raw *d)
{
	size_t kept = d->mlen < BENCH_RAW_KEEP ? d->mlen : BENCH_RAW_KEEP;
	kt_msgtype t;
	if (d->mlen <= BENCH_RAW_KEEP && !proto_msg_peek_type(d->msg, kept, &t) &&
	    (t == KT_MSG_WELCOME || t == KT_MSG_AUTH_OK)) {
		kt_mpw w;
		kt_mpw_init(&w);
		if (t == KT_MSG_WELCOME) {
			kt_resume r = {{d->token, 64}};
			proto_resume_encode(&w, &r);
		} else {
			kt_cursor_msg m = {0};
			proto_sync_encode(&w, &m);
		}
		if (bench_raw_send(d, &w))
			d->state = BENCH_RAW_FAILED;
		kt_mpw_free(&w);
	}
	d->on_message(d, d->msg, d->mlen);
	d->mlen = 0;
}

static void upgrade_answer(bench_raw *d, const unsigned char **p, size_t *n)
{
	while (*n && d->state == BENCH_RAW_UPGRADING) {
		d->hdr[d->hlen++] = (char)*(*p)++;
		(*n)--;
		if (d->hlen >= 4 && !memcmp(d->hdr + d->hlen - 4, "\r\n\r\n", 4)) {
			if (strncmp(d->hdr, "HTTP/1.1 101", 12)) {
				d->state = BENCH_RAW_FAILED;
				return;
			}
			kt_mpw w;
			kt_hello h = {1u << 1, {d->device, KT_UUID_LEN}, {"kt-bench", 8}};
			kt_mpw_init(&w);
			proto_hello_encode(&w, &h);
			d->state = bench_raw_send(d, &w) ? BENCH_RAW_FAILED : BENCH_RAW_OPEN;
			kt_mpw_free(&w);
		} else if (d->hlen == sizeof d->hdr)
			d->state = BENCH_RAW_FAILED;
	}
}

/* Frames in: headers byte by byte (they are short), payloads copied whole. */
static void frames(bench_raw *d, const unsigned char *p, size_t n)
{
	while (n && d->state == BENCH_RAW_OPEN) {
		if (!d->left) {
			size_t need = d->fhlen < 2 ? 2 : 2 + ((d->fh[1] & 0x7f) == 126 ? 2 : (d->fh[1] & 0x7f) == 127 ? 8 : 0);
			if (d->fhlen < need) {
				d->fh[d->fhlen++] = *p++;
				n--;
				continue;
			}
			uint64_t len = d->fh[1] & 0x7f;
			if (len == 126)
				len = (uint64_t)d->fh[2] << 8 | d->fh[3];
			else if (len == 127) {
				len = 0;
				for (int i = 2; i < 10; i++)
					len = len << 8 | d->fh[i];
			}
			int op = d->fh[0] & 0x0f;
			d->fhlen = 0;
			d->left = len;
			if (op >= 8) { /* control frames may come between a message's fragments */
				d->ctl = op;
				if (len > sizeof d->cbuf)
					d->state = BENCH_RAW_FAILED;
				else if (!len)
					control(d);
				continue;
			}
			d->fin = d->fh[0] & 0x80;
			if (!len && d->fin)
				message(d);
			continue;
		}
		size_t k = n < d->left ? n : (size_t)d->left;
		if (d->ctl) {
			memcpy(d->cbuf + d->clen, p, k);
			d->clen += k;
		} else {
			if (d->mlen < BENCH_RAW_KEEP)
				memcpy(d->msg + d->mlen, p, d->mlen + k <= BENCH_RAW_KEEP ? k : BENCH_RAW_KEEP - d->mlen);
			d->mlen += k;
		}
		d->left -= k;
		p += k;
		n -= k;
		if (!d->left && d->ctl)
			control(d);
		else if (!d->left && d->fin)
			message(d);
	}
}

int bench_raw_read(bench_raw *d, unsigned char *buf, size_t cap)
{
	for (;;) {
		ssize_t r = recv(d->fd, buf, cap, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			d->state = BENCH_RAW_FAILED;
		if (r <= 0)
			break;
		const unsigned char *p = buf;
		size_t n = (size_t)r;
		upgrade_answer(d, &p, &n);
		frames(d, p, n);
		if ((size_t)r < cap)
			break; /* the socket is empty (level-triggered epoll: asked again otherwise) */
	}
	return d->state == BENCH_RAW_FAILED ? -1 : 0;
}
