/* admin_retention.c - `kartoteka-server admin --db FILE retention ...`:
 *   show [--days N] [--json]  what the change log and the stored push
 *       answers hold, and how much of it is older than the window.
 *   run [--days N] [--outbox-days N]  delete what is older than the
 *       window now (the same pass serve runs hourly; sent appointment
 *       messages after outbox_days) and say what went.
 * The window is changelog_days of --config (default 90); --days overrides.
 * Prints counts and times only, the times in the zone of the (first)
 * organisation's first branch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "kt_time.h"
#include "domain/resolve.h"
#include "domain/retention.h"

static int days_opt(const char *v, const char *opt, int dflt, int *days);

static int days_of(const char *v, int *days)
{
	return days_opt(v, "--days", retention_days(), days);
}

static int days_opt(const char *v, const char *opt, int dflt, int *days)
{
	char *end;
	long n;
	*days = dflt;
	if (!v)
		return 0;
	n = strtol(v, &end, 10);
	if (*end || end == v || n < 1 || n > 3650) {
		fprintf(stderr, "kartoteka-server admin: retention %s: a whole number of days, 1 to 3650\n", opt);
		return 2;
	}
	*days = (int)n;
	return 0;
}

static void local(const char *zone, int64_t ms, char out[64])
{
	if (!ms || kt_time_format(zone[0] ? zone : "UTC", ms, out, 64))
		snprintf(out, 64, "-");
}

static int show_cmd(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--days"}, {"--json", true}};
	const char *pos[1];
	int npos, rc, days;
	kt_retention_state s;
	char a[64], b[64], zone[RESOLVE_ZONE];
	if ((rc = admin_parse(argc, argv, o, 2, pos, 0, &npos)) || (rc = days_of(o[0].value, &days)))
		return rc;
	if ((rc = retention_state(st, kt_now_ms(), days, &s)))
		return admin_say_fail("cannot read the database", kt_strerror(rc));
	resolve_org_zone(st, NULL, zone);
	local(zone, s.changelog_oldest, a);
	local(zone, s.mutations_oldest, b);
	if (o[1].seen) {
		printf("{\"days\":%d,\"changelog\":{\"rows\":%lld,\"older\":%lld,\"oldest_ms\":%lld,\"min_seq\":%lld},"
		       "\"mutations\":{\"rows\":%lld,\"older\":%lld,\"oldest_ms\":%lld,\"expired_devices\":%lld}}\n",
		       days, (long long)s.rows.changelog, (long long)s.due.changelog, (long long)s.changelog_oldest,
		       (long long)s.changelog_min_seq, (long long)s.rows.mutations, (long long)s.due.mutations,
		       (long long)s.mutations_oldest, (long long)s.rows.devices);
		return 0;
	}
	printf("window: %d days (changelog_days); sent messages: %d days (outbox_days)\n", days,
	       retention_outbox_days());
	printf("change log: %lld entries, oldest %s, %lld older than the window\n", (long long)s.rows.changelog, a,
	       (long long)s.due.changelog);
	printf("stored push answers: %lld, oldest %s, %lld older than the window; %lld devices have expired answers\n",
	       (long long)s.rows.mutations, b, (long long)s.due.mutations, (long long)s.rows.devices);
	return 0;
}

static int run_cmd(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--days"}, {"--outbox-days"}};
	const char *pos[1];
	int npos, rc, days, odays;
	kt_retention_counts r;
	int64_t now = kt_now_ms();
	if ((rc = admin_parse(argc, argv, o, 2, pos, 0, &npos)) || (rc = days_of(o[0].value, &days)) ||
	    (rc = days_opt(o[1].value, "--outbox-days", retention_outbox_days(), &odays)))
		return rc;
	if ((rc = retention_run(st, now, days, &r)) || (rc = retention_run_outbox(st, now, odays, &r.outbox, &r.cleared)))
		return admin_say_fail("retention run failed (what was removed before stays removed)", kt_strerror(rc));
	printf("removed %lld change log entries and %lld stored push answers (of %lld devices) older than %d days\n",
	       (long long)r.changelog, (long long)r.mutations, (long long)r.devices, days);
	printf("removed %lld sent appointment messages older than %d days (message counts keep them)\n",
	       (long long)r.outbox, odays);
	printf("cleared the address and text of %lld other sent messages older than %d days (kept so that nothing "
	       "is sent twice and the statistics count them)\n",
	       (long long)r.cleared, odays);
	return 0;
}

int admin_retention(kt_store *st, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "show"))
		return show_cmd(st, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "run"))
		return run_cmd(st, argc - 1, argv + 1);
	fprintf(stderr, "kartoteka-server admin: usage: retention show [--days N] [--json] | retention run [--days N] "
			"[--outbox-days N]\n");
	return 2;
}
