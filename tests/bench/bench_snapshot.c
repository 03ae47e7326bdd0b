/* bench_snapshot.c - snapshot throughput end to end: the demo owner's data
 * from a real server process into a fresh reference-client cache (SQLite,
 * one transaction per page), in rows per second. Sign-in is not timed.
 * usage: kt-bench-snapshot SERVER_BIN [runs] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "bench_util.h"
#include "kartoteka_client.h"
#include "kt_err.h"
#include "kt_util.h"

static int64_t t_state[8];

static void on_state(void *user, int state, const char *code, const char *msg)
{
	(void)user, (void)code, (void)msg;
	if (state >= 0 && state < 8 && !t_state[state])
		t_state[state] = kt_mono_us();
}

int main(int argc, char **argv)
{
	bench_server b;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	double best = 0, sum = 0;
	char url[64], err[256], dir[320], cmd[400];

	if (argc < 2 || runs < 1) {
		fprintf(stderr, "usage: %s SERVER_BIN [runs]\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0 || bench_server_start(&b, argv[1], 1)) {
		fprintf(stderr, "cannot start the demo server\n");
		return 1;
	}
	const bench_account *owner = bench_find(&b, "owner", NULL);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", b.port);
	for (int i = 0; i < runs; i++) {
		snprintf(dir, sizeof dir, "%s/client-%d", b.dir, i);
		kc_client *c = kc_open(dir, err, sizeof err);
		if (!c || kc_set_server(c, url) || kc_login(c, owner->email, owner->password, 30000)) {
			fprintf(stderr, "sign-in failed: %s\n", c ? kc_last_error(c) : err);
			bench_server_stop(&b);
			return 1;
		}
		kc_callbacks cb = {NULL, NULL, on_state, NULL};
		kc_set_callbacks(c, &cb);
		memset(t_state, 0, sizeof t_state);
		double cpu0 = bench_self_cpu_ms();
		int64_t t0 = kt_mono_us();
		int rc = kc_run(c, KC_UNTIL_SYNCED, 60000);
		double s = (double)(kt_mono_us() - t0) / 1e6;
		double cpu = bench_self_cpu_ms() - cpu0;
		int64_t rows = kc_count(c, NULL);
		kc_close(c);
		if (rc) {
			fprintf(stderr, "sync failed: %s\n", kt_strerror(rc));
			bench_server_stop(&b);
			return 1;
		}
		double rate = (double)rows / s;
		printf("snapshot run %d: %lld rows in %.1f ms = %.0f rows/s (connect+resume %.1f ms, snapshot %.1f ms, client CPU %.1f ms)\n",
		       i + 1, (long long)rows, s * 1000, rate, (double)(t_state[KC_ST_SIGNED_IN] - t0) / 1000,
		       (double)(t_state[KC_ST_SYNCED] - t_state[KC_ST_SNAPSHOT]) / 1000, cpu);
		sum += rate;
		if (rate > best)
			best = rate;
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	printf("snapshot: mean %.0f rows/s, best %.0f rows/s over %d runs (owner of the demo salon)\n", sum / runs,
	       best, runs);
	bench_server_stop(&b);
	return 0;
}
