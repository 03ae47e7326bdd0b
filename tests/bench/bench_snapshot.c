/* bench_snapshot.c - snapshot throughput end to end: the demo owner's data
 * from a real server process into a fresh reference-client cache (SQLite,
 * one transaction per page), in rows per second. Sign-in is not timed.
 * With KT_BENCH_EXPORT=FILE, the rows the first run synced are also written
 * to FILE, one JSON document a line ({_id: "tbl:id", tbl, v, f}): the very
 * records `make bench-compare` replicates with PouchDB.
 * usage: kt-bench-snapshot SERVER_BIN [runs] */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>
#include "bench_util.h"
#include "kartoteka_client.h"
#include "kt_err.h"
#include "kt_util.h"

static int64_t t_state[8];

/* the cache's rows as JSON lines (see the top) */
static int export_rows(kc_client *c, const char *path)
{
	sqlite3_stmt *s;
	FILE *f = fopen(path, "w");
	int step, n = 0;
	if (!f)
		return -1;
	if (sqlite3_prepare_v2(kc_db(c),
			       "SELECT json_object('_id', tbl || ':' || id, 'tbl', tbl, 'v', v, 'f', json(data)) "
			       "FROM rows ORDER BY tbl, id",
			       -1, &s, NULL)) {
		fclose(f);
		return -1;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		fprintf(f, "%s\n", (const char *)sqlite3_column_text(s, 0));
		n++;
	}
	sqlite3_finalize(s);
	return fclose(f) || step != SQLITE_DONE ? -1 : n;
}

/* The server's CPU time in ms from the scheduler's nanosecond counts of
 * each of its threads (/proc/PID/task/T/schedstat): /proc's utime and
 * stime tick in 10 ms, too coarse for a snapshot of a few hundred ms.
 * Negative when unreadable. */
static double server_cpu_ms_fine(pid_t pid)
{
	char path[96];
	struct dirent *e;
	unsigned long long sum = 0, ns;
	DIR *d;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d))) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			fclose(f);
		}
	}
	closedir(d);
	return (double)sum / 1e6;
}

static void on_state(void *user, int state, const char *code, const char *msg)
{
	(void)user, (void)code, (void)msg;
	if (state >= 0 && state < 8 && !t_state[state])
		t_state[state] = kt_mono_us();
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [runs]",
		   "The demo owner's first sync into a fresh reference-client cache, in rows per second, and CPU per row on each side.");
	bench_server b;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	double best = 0, sum = 0, ccpu_sum = 0, scpu_sum = 0, rows_sum = 0;
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
		double cpu0 = bench_self_cpu_ms(), scpu0 = server_cpu_ms_fine(b.pid);
		if (scpu0 < 0)
			scpu0 = bench_server_cpu_ms(&b);
		int64_t t0 = kt_mono_us();
		int rc = kc_run(c, KC_UNTIL_SYNCED, 60000);
		int64_t t1 = kt_mono_us();
		double s = (double)(t1 - t0) / 1e6;
		double scpu1 = server_cpu_ms_fine(b.pid);
		double cpu = bench_self_cpu_ms() - cpu0,
		       scpu = (scpu1 >= 0 ? scpu1 : bench_server_cpu_ms(&b)) - scpu0;
		int64_t rows = kc_count(c, NULL);
		const char *exp = getenv("KT_BENCH_EXPORT");
		if (i == 0 && exp && *exp && !rc && export_rows(c, exp) != rows) {
			fprintf(stderr, "could not write the rows to %s\n", exp);
			kc_close(c);
			bench_server_stop(&b);
			return 1;
		}
		kc_close(c);
		if (rc) {
			fprintf(stderr, "sync failed: %s\n", kt_strerror(rc));
			bench_server_stop(&b);
			return 1;
		}
		double rate = (double)rows / s;
		printf("snapshot run %d: %lld rows in %.1f ms = %.0f rows/s (connect+resume %.1f ms, to snapshot_begin "
		       "%.1f ms, snapshot %.1f ms, close %.1f ms, client CPU %.1f ms, server CPU %.1f ms: %.2f us/row)\n",
		       i + 1, (long long)rows, s * 1000, rate, (double)(t_state[KC_ST_SIGNED_IN] - t0) / 1000,
		       (double)(t_state[KC_ST_SNAPSHOT] - t_state[KC_ST_SIGNED_IN]) / 1000,
		       (double)(t_state[KC_ST_SYNCED] - t_state[KC_ST_SNAPSHOT]) / 1000,
		       (double)(t1 - t_state[KC_ST_SYNCED]) / 1000, cpu, scpu,
		       rows ? (cpu + scpu) * 1000 / (double)rows : 0);
		sum += rate;
		ccpu_sum += cpu;
		scpu_sum += scpu;
		rows_sum += rows;
		if (rate > best)
			best = rate;
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	printf("snapshot: mean %.0f rows/s, best %.0f rows/s over %d runs (owner of the demo salon)\n", sum / runs,
	       best, runs);
	printf("snapshot: CPU per row: client %.2f us (all its threads), server %.2f us\n",
	       rows_sum ? ccpu_sum * 1000 / rows_sum : 0, rows_sum ? scpu_sum * 1000 / rows_sum : 0);
	bench_server_stop(&b);
	return 0;
}
