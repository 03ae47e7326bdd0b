/* bench_retention.c - a simulated year of a busy two-branch salon (the demo:
 * Lepota Center and Lepota Maribor), EDITS edits a day, written through the
 * store API as a push writes them (row, field versions, change log entry,
 * audit entry, and the stored answer), with and without the retention pass.
 * Time is simulated in the bench's own data only: after each day its change
 * log entries and stored answers get that day's timestamps, and the pass is
 * called with that day as "now" (retention_run takes now as an argument; the
 * server has no clock override). Every STEP days it prints: database size,
 * change log and stored-answer rows, a device's catch-up after a week offline
 * (reading its 7 days of change log with the server's log reader), and the
 * latency of a single-edit transaction (p50/p99 over the day's samples) with
 * its CPU time.
 * usage: kt-bench-retention SERVER_BIN DIR [DAYS=365] [EDITS=1000] [WINDOW=90|0]
 * WINDOW 0: no retention (the history before this issue). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <time.h>
#include <sodium.h>
#include "kt_util.h"
#include "db/store.h"
#include "domain/retention.h"
#include "bench_util.h"

#define DAY 86400000LL
#define STEP 30
#define SINGLES 20 /* single-edit transactions timed per day; the rest go 50 to a transaction */
#define BATCH 50
#define MAXC 600

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
	return (uint32_t)(rs % n);
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static int64_t q64(kt_store *st, const char *sql, int64_t a)
{
	sqlite3_stmt *s = store_prepare(st, sql);
	int64_t v = -1;
	if (!s)
		return -1;
	if (sqlite3_bind_parameter_count(s))
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	store_finish(st, s);
	return v;
}

static int exec(kt_store *st, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *s = store_prepare(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) > 1)
		sqlite3_bind_int64(s, 2, b);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, s);
	return rc;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char clients[MAXC][KT_UUID_LEN + 1];
static int nclients;
static int64_t mid;

/* One edit as a push makes it: the row through the store, and its stored answer. */
static int edit(kt_store *st)
{
	char text[64], dev[40];
	int rc;
	int c = (int)rnd((uint32_t)nclients);
	snprintf(text, sizeof text, "edit %lld", (long long)mid);
	kt_field f[] = {{"preferences", text}};
	if ((rc = store_update(st, "client", clients[c], f, 1, NULL)))
		return rc;
	snprintf(dev, sizeof dev, "tablet-%d", (int)(mid % 8)); /* eight tablets */
	sqlite3_stmt *s = store_prepare(st, "INSERT INTO mutation(principal_id, device_id, mid, result, at) "
					    "VALUES('bench', ?1, ?2, zeroblob(48), ?3)");
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, dev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, ++mid);
	sqlite3_bind_int64(s, 3, kt_now_ms());
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, s);
	return rc;
}

static int64_t file_size(const char *p)
{
	struct stat sb;
	return stat(p, &sb) ? 0 : (int64_t)sb.st_size;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN DIR [DAYS=365] [EDITS=1000] [WINDOW=90|0]",
		   "A simulated year of a busy two-branch salon: database size, catch-up after a week offline and push latency as the history grows.");
	if (argc < 3) {
		fprintf(stderr, "usage: %s SERVER_BIN DIR [DAYS=365] [EDITS=1000] [WINDOW=90|0]\n", argv[0]);
		return 2;
	}
	int days = argc > 3 ? atoi(argv[3]) : 365, edits = argc > 4 ? atoi(argv[4]) : 1000;
	int window = argc > 5 ? atoi(argv[5]) : 90;
	char db[512], cmd[8192];
	const char *msg = NULL;
	kt_store *st = NULL;
	int rc = 0;
	if (sodium_init() < 0 || days < 8 || edits < SINGLES + BATCH || strlen(argv[1]) > 1000 || strlen(argv[2]) > 400)
		return 2;
	snprintf(db, sizeof db, "%s/retention-%d.db", argv[2], window);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && rm -f '%s' '%s'.key '%s'.keys '%s'-wal '%s'-shm && '%s' init --db '%s' "
		 "--demo --seed 1 > /dev/null", argv[2], db, db, db, db, db, argv[1], db);
	if (system(cmd) != 0) {
		fprintf(stderr, "kt-bench-retention: %s failed\n", cmd);
		return 1;
	}
	if (store_open(db, 0, &st, &msg)) {
		fprintf(stderr, "kt-bench-retention: cannot open %s: %s\n", db, msg ? msg : "?");
		return 1;
	}
	sqlite3_stmt *s = store_prepare(st, "SELECT id FROM client ORDER BY id LIMIT " "600");
	while (s && sqlite3_step(s) == SQLITE_ROW && nclients < MAXC)
		snprintf(clients[nclients++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	store_finish(st, s);
	if (nclients < 10) {
		fprintf(stderr, "kt-bench-retention: the demo has no clients\n");
		return 1;
	}
	/* day 0 is a year ago: the demo's own history is from then */
	int64_t t0 = kt_now_ms() - (int64_t)days * DAY;
	if (exec(st, "UPDATE changelog SET at = ?1 WHERE ?2 = ?2", t0, 0))
		return 1;
	int64_t *day_seq = calloc((size_t)days + 1, sizeof *day_seq);
	double *lat = calloc(SINGLES * STEP, sizeof *lat), *lcpu = calloc(SINGLES * STEP, sizeof *lcpu);
	int ns = 0; /* single-edit samples since the last line */
	double pass_ms = 0, pass_cpu = 0, run_t0 = mono_ms();
	printf("kt-bench-retention: %d days x %d edits, retention window: %d days (0: none); demo salon (2 branches, "
	       "%d clients)\n", days, edits, window, nclients);
	printf("%5s %9s %7s %8s %10s %8s %8s %13s %9s %9s %9s %s\n", "day", "edits", "file_MB", "used_MB",
	       "changelog", "answers", "audit", "week_catchup", "us/entry", "edit_p50", "edit_p99", "edit CPU");
	for (int d = 1; d <= days; d++) {
		int64_t now = t0 + (int64_t)d * DAY, from_seq = q64(st, "SELECT coalesce(max(seq), 0) FROM changelog", 0);
		int64_t from_mid = mid;
		for (int done = 0, day_ns = 0; done < edits;) {
			bool single = day_ns < SINGLES && done % (edits / SINGLES) == 0;
			day_ns += single;
			int n = single ? 1 : (edits - done < BATCH ? edits - done : BATCH);
			double a = mono_ms(), ca = cpu_ms();
			if ((rc = store_begin(st)))
				goto fail;
			for (int i = 0; i < n && !rc; i++)
				rc = edit(st);
			if ((rc = store_end(st, rc, NULL, 0)))
				goto fail;
			if (single) {
				lat[ns] = mono_ms() - a;
				lcpu[ns++] = cpu_ms() - ca;
			}
			done += n;
		}
		/* the day's entries and answers were written at that simulated day */
		if ((rc = exec(st, "UPDATE changelog SET at = ?1 WHERE seq > ?2", now - DAY / 2, from_seq)) ||
		    (rc = exec(st, "UPDATE mutation SET at = ?1 WHERE principal_id = 'bench' AND mid > ?2", now - DAY / 2,
			       from_mid)))
			goto fail;
		day_seq[d] = q64(st, "SELECT coalesce(max(seq), 0) FROM changelog", 0);
		if (window) {
			kt_retention_counts r;
			double a = mono_ms(), ca = cpu_ms();
			if ((rc = retention_run(st, now, window, &r)))
				goto fail;
			pass_ms += mono_ms() - a;
			pass_cpu += cpu_ms() - ca;
		}
		if (d % STEP && d != days)
			continue;
		/* a device back after a week offline: its cursor is a week old */
		int64_t after = d > 7 ? day_seq[d - 7] : 0, entries = 0;
		double a = mono_ms();
		if ((rc = store_read_durable(st, 1000)))
			goto fail;
		bool bad = after + 1 < store_min_seq(st); /* would be bad_cursor: a snapshot */
		for (;;) {
			kt_log_entry e[500];
			int n = 0;
			if ((rc = store_log_read(st, after, e, 500, &n)))
				break;
			for (int i = 0; i < n; i++)
				kt_log_entry_free(&e[i]);
			if (!n)
				break;
			entries += n;
			after = e[n - 1].seq;
		}
		store_read_end(st);
		if (rc)
			goto fail;
		double catchup = mono_ms() - a;
		qsort(lat, (size_t)ns, sizeof *lat, cmp_d);
		double cpu = 0;
		for (int i = 0; i < ns; i++)
			cpu += lcpu[i];
		(void)q64(st, "PRAGMA wal_checkpoint(TRUNCATE)", 0);
		int64_t psize = q64(st, "PRAGMA page_size", 0);
		double used = (double)(q64(st, "PRAGMA page_count", 0) - q64(st, "PRAGMA freelist_count", 0)) * psize;
		printf("%5d %9lld %7.1f %8.1f %10lld %8lld %8lld %8.1f ms%s %9.2f %6.2f ms %6.2f ms %.3f ms\n", d,
		       (long long)d * edits, file_size(db) / 1048576.0, used / 1048576.0,
		       (long long)q64(st, "SELECT count(*) FROM changelog", 0),
		       (long long)q64(st, "SELECT count(*) FROM mutation", 0),
		       (long long)q64(st, "SELECT count(*) FROM audit", 0), catchup, bad ? "!" : " ",
		       entries ? catchup * 1000.0 / (double)entries : 0.0, lat[ns / 2], lat[ns - 1 - ns / 100],
		       cpu / ns);
		fflush(stdout);
		ns = 0;
	}
	if (window)
		printf("retention pass (daily here, hourly in serve): %.1f ms in all, %.2f ms CPU a day, "
		       "%.2f us CPU per edit written\n",
		       pass_ms, pass_cpu / days, pass_cpu * 1000.0 / ((double)days * edits));
	printf("whole run: %.1f s\n", (mono_ms() - run_t0) / 1000.0);
	free(day_seq);
	free(lat);
	free(lcpu);
	store_close(st);
	return 0;
fail:
	fprintf(stderr, "kt-bench-retention: failed: %s\n", kt_strerror(rc));
	store_close(st);
	return 1;
}
