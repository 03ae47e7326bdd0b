/* bench_util.h - shared pieces of the benchmark programs: start a demo
 * server process, read its port and the demo credentials, percentiles. */
#ifndef KT_BENCH_UTIL_H
#define KT_BENCH_UTIL_H

#include <stdint.h>
#include <sys/types.h>

typedef struct bench_account {
	char role[16], location[64], email[128], password[64];
} bench_account;

typedef struct bench_server {
	char dir[256];
	char db[320];
	pid_t pid;
	int port;
	bench_account acc[64];
	int nacc;
} bench_server;

/* Create a temp dir, init a demo database with server_bin, start serving it. */
int bench_server_start(bench_server *b, const char *server_bin, int seed);
void bench_server_stop(bench_server *b);
const bench_account *bench_find(const bench_server *b, const char *role, const char *location);
double bench_percentile(double *v, int n, double p); /* sorts v */
/* CPU time (user + system, all threads) the server process has used, in ms. */
double bench_server_cpu_ms(const bench_server *b);

#endif
