/* bench_planner.c - the message planner's rate (domain/messages.c): a salon
 * group of 20 branches with 20,000 clients (e-mail and phone on each card,
 * sealed) and a month's 200,000 appointments, then new bookings and moves
 * written through the store in transactions of 100 (the push writer's
 * group), once with the planner installed and once without, on the same
 * data. Prints appointments per second with the planner, its CPU µs per
 * appointment (with minus without), and the messages it planned; fails
 * under 1,000 appointments per second.
 * usage: kt-bench-planner SERVER_BIN [appointments_in_db] [writes] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_org.h"
#include "bench_util.h"
#include "domain/messages.h"
#include "kt_util.h"

#define NLOC 20
#define NCLIENT 20000
#define NSPEC 4
#define BATCH 100
#define TARGET_PER_S 1000.0


static bench_id org, loc[NLOC], spec[NLOC][NSPEC], *client;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int make_group(kt_store *st)
{
	char name[64], email[96], phone[32];
	int rc = store_begin(st);
	kt_uuid7(org);
	kt_field of[] = {{"name", "Salon Bench d.o.o."}, {"language", "sl"}, {"country", "SI"}};
	rc = rc || store_insert(st, "organisation", org, NULL, of, 3, NULL);
	for (int l = 0; !rc && l < NLOC; l++) {
		snprintf(name, sizeof name, "Bench %02d", l);
		kt_uuid7(loc[l]);
		kt_field lf[] = {{"name", name}, {"address", "Glavna ulica 1, Ljubljana"}, {"time_zone", "Europe/Ljubljana"}};
		rc = store_insert(st, "location", loc[l], org, lf, 3, NULL);
		for (int k = 0; !rc && k < NSPEC; k++) {
			snprintf(name, sizeof name, "Specialist %d-%d", l, k);
			snprintf(email, sizeof email, "spec%d.%d@bench.example", l, k);
			kt_uuid7(spec[l][k]);
			kt_field f[] = {{"display_name", name}, {"email", email}, {"role", "specialist"}, {"active", "1"}};
			rc = store_insert(st, "staff", spec[l][k], org, f, 4, NULL) ||
			     store_link_staff_location(st, spec[l][k], loc[l], true);
		}
	}
	for (int c = 0; !rc && c < NCLIENT; c++) {
		snprintf(name, sizeof name, "Stranka%d Novak", c);
		snprintf(email, sizeof email, "stranka%d@bench.example", c);
		snprintf(phone, sizeof phone, "+386 41 %03d %03d", c / 1000, c % 1000);
		kt_uuid7(client[c]);
		kt_field f[] = {{"name", name}, {"email", email}, {"phone", phone}};
		rc = store_insert(st, "client", client[c], org, f, 3, NULL) ||
		     store_link_client_location(st, client[c], loc[c % NLOC]);
		if (!rc && c % 2000 == 1999)
			rc = store_commit(st) || store_begin(st);
	}
	return rc ? (store_rollback(st), -1) : store_commit(st) ? -1 : 0;
}

/* An appointment of client c in the month ahead (9:00-18:00 local-ish). */
static int book(kt_store *st, int c, int64_t base, int i, bench_id id)
{
	char start[24];
	int l = c % NLOC;
	snprintf(start, sizeof start, "%lld",
		 (long long)(base + (int64_t)(i % 30) * 86400000LL + (int64_t)(8 + i % 9) * 3600000LL));
	kt_uuid7(id);
	kt_field f[] = {{"location_id", loc[l]}, {"client_id", client[c]}, {"specialist_id", spec[l][i % NSPEC]},
			{"start_at", start},   {"duration_min", "45"},     {"services", ""},
			{"status", "booked"}};
	return store_insert(st, "appointment", id, org, f, 7, NULL);
}

static int move(kt_store *st, const char *id, int64_t start)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", (long long)start);
	kt_field f[] = {{"start_at", s}};
	return store_update(st, "appointment", id, f, 1, NULL);
}

static long long outbox_rows(kt_store *st)
{
	sqlite3_stmt *q;
	long long n = -1;
	if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM outbox", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			n = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	return n;
}

/* writes/2 new bookings, then writes/2 moves of them; with or without the planner. */
static int run(kt_store *st, int writes, bool planner, double *wall, double *cpu_ms)
{
	int half = writes / 2, rc = 0;
	bench_id *made = calloc((size_t)half, sizeof *made);
	int64_t base = kt_now_ms() + 3 * 86400000LL;
	store_on_row_written(planner ? messages_on_row_written : NULL);
	double t0 = now_s(), c0 = bench_self_cpu_ms();
	for (int i = 0; !rc && i < writes; i += BATCH) {
		if ((rc = store_begin(st)))
			break;
		for (int k = i; !rc && k < i + BATCH && k < writes; k++)
			rc = k < half ? book(st, (k * 7919) % NCLIENT, base, k, made[k])
				      : move(st, made[k - half], base + 40 * 86400000LL + (int64_t)(k % 500) * 3600000LL);
		rc = rc ? (store_rollback(st), rc) : store_commit(st);
	}
	*wall = now_s() - t0;
	*cpu_ms = bench_self_cpu_ms() - c0;
	store_on_row_written(NULL);
	free(made);
	return rc;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [appointments_in_db] [writes]",
		   "The message planner's rate on a salon group of 20 branches and a month of appointments.");
	int in_db = argc > 2 ? atoi(argv[2]) : 200000, writes = argc > 3 ? atoi(argv[3]) : 20000;
	bench_server b;
	kt_store *st = NULL;
	double wall[2], cpu[2];
	if (argc < 2) {
		fprintf(stderr, "usage: kt-bench-planner SERVER_BIN [appointments_in_db] [writes]\n");
		return 2;
	}
	client = calloc(NCLIENT, sizeof *client);
	messages_configure("https://salon.example", false);
	if (!client || bench_org_db(&b, argv[1], "planner.db", &st) || make_group(st)) {
		fprintf(stderr, "kt-bench-planner: cannot make the salon group\n");
		return 1;
	}
	/* a month of appointments already there, planned with nothing (the past) */
	store_on_row_written(NULL);
	int64_t past = kt_now_ms() - 40 * 86400000LL;
	for (int i = 0; i < in_db; i += 1000) {
		bench_id id;
		int rc = store_begin(st);
		for (int k = i; !rc && k < i + 1000 && k < in_db; k++)
			rc = book(st, k % NCLIENT, past, k, id);
		if (rc || store_commit(st)) {
			fprintf(stderr, "kt-bench-planner: cannot fill the month\n");
			return 1;
		}
	}
	long long before = outbox_rows(st);
	if (run(st, writes, false, &wall[0], &cpu[0]) || run(st, writes, true, &wall[1], &cpu[1])) {
		fprintf(stderr, "kt-bench-planner: a write failed\n");
		return 1;
	}
	long long planned = outbox_rows(st) - before;
	double rate = writes / wall[1];
	printf("salon group: %d branches, %d clients, %d appointments before; %d writes (%d new, %d moved), "
	       "transactions of %d\n",
	       NLOC, NCLIENT, in_db, writes, writes / 2, writes / 2, BATCH);
	printf("without the planner: %.0f appointments/s, %.0f us CPU each\n", writes / wall[0], cpu[0] * 1000 / writes);
	printf("with the planner:    %.0f appointments/s, %.0f us CPU each (the planner: %.0f us), "
	       "%lld messages planned (%.2f per write)\n",
	       rate, cpu[1] * 1000 / writes, (cpu[1] - cpu[0]) * 1000 / writes, planned, (double)planned / writes);
	store_close(st);
	bench_server_stop(&b);
	free(client);
	if (rate < TARGET_PER_S) {
		printf("FAIL: under %.0f appointments/s\n", TARGET_PER_S);
		return 1;
	}
	return 0;
}
