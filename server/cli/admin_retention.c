/* admin_retention.c - `kartoteka-server admin --db FILE retention ...`:
 *   show [--days N] [--json]  what the change log and the stored push
 *       answers hold, and how much of it is older than the window.
 *   run [--days N]  delete what is older than the window now (the same
 *       pass serve runs hourly) and say what went.
 * The window is changelog_days of --config (default 90); --days overrides.
 * Prints counts and times only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/admin.h"
#include "domain/retention.h"

static int days_of(const char *v, int *days)
{
	char *end;
	long n;
	*days = retention_days();
	if (!v)
		return 0;
	n = strtol(v, &end, 10);
	if (*end || end == v || n < 1 || n > 3650) {
		fprintf(stderr, "kartoteka-server admin: retention --days: a whole number of days, 1 to 3650\n");
		return 2;
	}
	*days = (int)n;
	return 0;
}

static void utc(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!ms || !gmtime_r(&t, &tm))
		snprintf(out, 32, "-");
	else
		strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

static int show_cmd(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--days"}, {"--json", true}};
	const char *pos[1];
	int npos, rc, days;
	kt_retention_state s;
	char a[32], b[32];
	if ((rc = admin_parse(argc, argv, o, 2, pos, 0, &npos)) || (rc = days_of(o[0].value, &days)))
		return rc;
	if ((rc = retention_state(st, kt_now_ms(), days, &s)))
		return admin_say_fail("cannot read the database", kt_strerror(rc));
	utc(s.changelog_oldest, a);
	utc(s.mutations_oldest, b);
	if (o[1].seen) {
		printf("{\"days\":%d,\"changelog\":{\"rows\":%lld,\"older\":%lld,\"oldest_ms\":%lld,\"min_seq\":%lld},"
		       "\"mutations\":{\"rows\":%lld,\"older\":%lld,\"oldest_ms\":%lld,\"expired_devices\":%lld}}\n",
		       days, (long long)s.rows.changelog, (long long)s.due.changelog, (long long)s.changelog_oldest,
		       (long long)s.changelog_min_seq, (long long)s.rows.mutations, (long long)s.due.mutations,
		       (long long)s.mutations_oldest, (long long)s.rows.devices);
		return 0;
	}
	printf("window: %d days (changelog_days)\n", days);
	printf("change log: %lld entries, oldest %s, %lld older than the window\n", (long long)s.rows.changelog, a,
	       (long long)s.due.changelog);
	printf("stored push answers: %lld, oldest %s, %lld older than the window; %lld devices have expired answers\n",
	       (long long)s.rows.mutations, b, (long long)s.due.mutations, (long long)s.rows.devices);
	return 0;
}

static int run_cmd(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--days"}};
	const char *pos[1];
	int npos, rc, days;
	kt_retention_counts r;
	if ((rc = admin_parse(argc, argv, o, 1, pos, 0, &npos)) || (rc = days_of(o[0].value, &days)))
		return rc;
	if ((rc = retention_run(st, kt_now_ms(), days, &r)))
		return admin_say_fail("retention run failed (what was removed before stays removed)", kt_strerror(rc));
	printf("removed %lld change log entries and %lld stored push answers (of %lld devices) older than %d days\n",
	       (long long)r.changelog, (long long)r.mutations, (long long)r.devices, days);
	return 0;
}

int admin_retention(kt_store *st, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "show"))
		return show_cmd(st, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "run"))
		return run_cmd(st, argc - 1, argv + 1);
	fprintf(stderr, "kartoteka-server admin: usage: retention show [--days N] [--json] | retention run [--days N]\n");
	return 2;
}
