/* bench_util.h - shared pieces of the benchmark programs: start a demo
 * server process, read its port and the demo credentials, percentiles. */
#ifndef KT_BENCH_UTIL_H
#define KT_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* --help or -h first: the usage line and what the bench measures on
 * stdout, and exit 0, before anything starts a server. */
static inline void bench_help(int argc, char **argv, const char *args, const char *what)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		const char *name = strrchr(argv[0], '/');
		printf("usage: %s %s\n%s\n", name ? name + 1 : argv[0], args, what);
		exit(0);
	}
}

struct lws;

typedef struct bench_account {
	char role[16], location[64], email[128], password[64];
} bench_account;

typedef struct bench_server {
	char dir[256];
	char db[320];
	pid_t pid;
	pid_t hook_pid; /* KT_BENCH_ON_SERVE's command, stopped with the server */
	int port;
	bench_account acc[64];
	int nacc;
} bench_server;

/* A line of `init --demo`'s account table (role, location, e-mail,
 * password, tab-separated; the header line is not one) into *a. */
bool bench_account_parse(bench_account *a, char *line);

/* Create a temp dir, init a demo database with server_bin, start serving it. */
int bench_server_start(bench_server *b, const char *server_bin, int seed);
void bench_server_stop(bench_server *b);
const bench_account *bench_find(const bench_server *b, const char *role, const char *location);
double bench_percentile(double *v, int n, double p); /* sorts v */
/* CPU time (user + system, all threads) the server process has used, in ms. */
double bench_server_cpu_ms(const bench_server *b);
/* This process's CPU time (user + system, all threads) in ms. */
double bench_self_cpu_ms(void);
/* Serve an existing database b->db (made by the caller): fork
 * `server_bin serve` on 127.0.0.1:0 and read its port into b->port.
 * KT_BENCH_SERVER_LOG set: the server's log goes to our stderr. */
int bench_server_serve(bench_server *b, const char *server_bin);
/* Raise the soft open-file limit to the hard one; warn when below want. */
void bench_raise_nofile(long want);

/* A growing array of samples (latencies in ms). */
typedef struct bench_samples {
	double *v;
	int n, cap;
} bench_samples;
/* Append x; exits on no memory. */
void bench_samples_add(bench_samples *s, double x);
void bench_samples_free(bench_samples *s);

/* One device's incoming WebSocket message, gathered from its fragments. */
typedef struct bench_inbuf {
	unsigned char *buf;
	size_t len, cap;
} bench_inbuf;
/* Append a received fragment; true when the message is whole (buf, len):
 * the caller reads it, then calls bench_inbuf_reset. Exits on no memory. */
bool bench_inbuf_add(bench_inbuf *b, struct lws *wsi, const void *in, size_t len);

/* Open a client WebSocket to the server on 127.0.0.1:port with `protocol`;
 * opaque becomes the wsi's opaque user data. iface (source address) and
 * retry (lws's keepalive policy) may be NULL. NULL when lws refused at once. */
struct lws_context;
struct lws_retry_bo;
struct lws *bench_ws_connect(struct lws_context *ctx, int port, const char *protocol, void *opaque,
			     const char *iface, const struct lws_retry_bo *retry);
void bench_inbuf_reset(bench_inbuf *b); /* empty; gives back a large buffer */
void bench_inbuf_free(bench_inbuf *b);

#endif
