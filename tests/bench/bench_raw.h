/* bench_raw.h - a lean benchmark device: the kartoteka.v1 protocol over a
 * plain non-blocking socket (an HTTP upgrade, masked frames out, frames in
 * read whole), for benches where the client's own reading would otherwise
 * be a large part of what is measured. libwebsockets' client parses every
 * received byte on its own: about 5 us per frame in kt-bench-propagation,
 * as much as the server spent writing it. Signs in with `resume` (a token
 * of the signed-in fixture, bench_conn.h), then `sync` from no cursor.
 * Never blocks; the caller owns the epoll set and the socket's slot in it. */
#ifndef KT_BENCH_RAW_H
#define KT_BENCH_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kt_proto.h"
#include "kt_util.h"

#define BENCH_RAW_KEEP 4096 /* a message's first bytes kept whole; longer ones are pages */

typedef struct bench_raw bench_raw;
/* A whole message: len is its whole length; only its first BENCH_RAW_KEEP
 * bytes are in buf (a longer one is a snapshot page). */
typedef void (*bench_raw_msg_fn)(bench_raw *d, const unsigned char *buf, size_t len);

struct bench_raw {
	int fd;
	int state; /* BENCH_RAW_* */
	char token[65], device[KT_UUID_LEN + 1];
	bench_raw_msg_fn on_message;
	void *user;
	/* the upgrade answer, then the frame being read */
	char hdr[1024];
	size_t hlen;
	unsigned char fh[14];
	size_t fhlen;
	uint64_t left;
	bool fin;
	int ctl; /* the current frame is a control frame (its opcode), else 0 */
	unsigned char cbuf[125];
	size_t clen;
	unsigned char msg[BENCH_RAW_KEEP];
	size_t mlen;
};

enum { BENCH_RAW_CONNECTING, BENCH_RAW_UPGRADING, BENCH_RAW_OPEN, BENCH_RAW_FAILED };

/* Open d's socket toward 127.0.0.1:port (non-blocking; wait for EPOLLOUT,
 * then call bench_raw_connected). 0 or -1. */
int bench_raw_connect(bench_raw *d, int port);
/* The socket is writeable for the first time: send the upgrade. 0 or -1. */
int bench_raw_connected(bench_raw *d);
/* Read what the socket has (EPOLLIN): answers welcome (resume) and
 * auth_ok (sync) itself, hands every whole message to d->on_message.
 * buf is scratch of cap bytes. 0, or -1 when the connection ended. */
int bench_raw_read(bench_raw *d, unsigned char *buf, size_t cap);
/* Send one binary message (at most 500 bytes). 0 or -1. */
int bench_raw_send(bench_raw *d, const kt_mpw *w);

#endif
