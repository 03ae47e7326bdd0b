/* stats.c - `kartoteka-server stats` (see cli/stats.h): names and dates in,
 * a table for people (names, not ids; local dates) or the whole result as
 * JSON out. Reads only, so it may be pointed at a backup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/args.h"
#include "cli/say.h"
#include "cli/stats.h"
#include "domain/resolve.h"
#include "domain/stats.h"

void stats_usage(FILE *f)
{
	fprintf(f, "usage: kartoteka-server stats --db FILE --from DATE --to DATE [--by location|specialist|service]\n"
		   "         [--group week|month] [--location L] [--organisation O] [--json]\n"
		   "  DATE: YYYY-MM-DD, a local day at each branch; both days count\n"
		   "  --by     one line per branch (default), specialist or service\n"
		   "  --group  per week (Monday to Sunday, default) or month, then the total of the range\n"
		   "  --location L    only this branch (id, name or its start)\n"
		   "  --json   the whole result (counts, figures, the previous period and the trend)\n"
		   "Columns: reviews and their stars 1/2/3/4/5, rating average and its change against the\n"
		   "period before (for the total: the days of equal length just before --from), CSAT %% (4 or 5\n"
		   "of 5), NPS (%% promoters 9-10 minus %% detractors 0-6) with promoters/passives/detractors,\n"
		   "CES average (1-5), answered %% of review requests and of surveys sent.\n"
		   "exit status: 0 done, 1 failed, 2 usage\n");
}

#define say(rc, ...) cli_say("stats", rc, (rc) == 2 ? stats_usage : NULL, __VA_ARGS__)

static void fig(char *out, size_t cap, bool has, double v, const char *unit)
{
	if (has)
		snprintf(out, cap, "%.1f%s", v, unit);
	else
		snprintf(out, cap, "-");
}

static void delta(char *out, size_t cap, bool has, double v)
{
	if (has)
		snprintf(out, cap, "%+.1f", v);
	else
		snprintf(out, cap, "-");
}

/* s in a column of width characters (UTF-8: counted by characters, not
 * bytes), cut or padded with spaces. */
static void cell(const char *s, int width)
{
	int n = 0;
	const char *p = s;
	for (; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (n == width)
			break;
		n++;
	}
	printf("%.*s%*s", (int)(p - s), s, width - n + 1, "");
}

static void print_table(const kt_stats_result *r)
{
	static const char *const by_head[] = {"location", "specialist", "service"};
	printf("%-22s %-23s %7s %-14s %6s %6s %6s %6s %-9s %5s %7s %7s\n", by_head[r->by], "period", "reviews",
	       "stars 1/2/3/4/5", "rating", "trend", "csat", "nps", "p/p/d", "ces", "rev.ans", "srv.ans");
	for (int i = 0; i < r->n; i++) {
		const kt_stats_line *l = &r->lines[i];
		const kt_stats_counts *c = &l->now;
		const kt_stats_figs *f = &l->fig, *p = &l->prev_fig;
		char period[32], stars[32], rating[16], trend[16], csat[16], nps[16], ppd[24], ces[16], rr[16], sr[16];
		if (l->period[0])
			snprintf(period, sizeof period, "%s..%s", l->period, l->period_end + 5);
		else
			snprintf(period, sizeof period, "total");
		snprintf(stars, sizeof stars, "%d/%d/%d/%d/%d", c->stars[1], c->stars[2], c->stars[3], c->stars[4],
			 c->stars[5]);
		fig(rating, sizeof rating, f->has_rating, f->rating_avg, "");
		delta(trend, sizeof trend, f->has_rating && p->has_rating, f->rating_avg - p->rating_avg);
		fig(csat, sizeof csat, f->has_csat, f->csat_pct, "%");
		fig(nps, sizeof nps, f->has_nps, f->nps, "");
		snprintf(ppd, sizeof ppd, "%d/%d/%d", c->promoters, c->passives, c->detractors);
		fig(ces, sizeof ces, f->has_ces, f->ces_avg, "");
		fig(rr, sizeof rr, f->has_review_rate, f->review_rate, "%");
		fig(sr, sizeof sr, f->has_survey_rate, f->survey_rate, "%");
		cell(l->name, 22);
		printf("%-23s %7d %-14s %6s %6s %6s %6s %-9s %5s %7s %7s\n", period, c->reviews, stars, rating, trend, csat,
		       nps, ppd, ces, rr, sr);
	}
	printf("(the total's trend: against %s..%s)\n", r->prev_from, r->prev_to);
}

int stats_main(int argc, char **argv)
{
	cli_opt opt[] = {{"--db"}, {"--from"}, {"--to"}, {"--by"}, {"--group"}, {"--location"}, {"--organisation"},
			 {"--json", true}};
	const char *pos[1], *msg = NULL;
	char err[RESOLVE_ERR], org[KT_UUID_LEN + 1];
	kt_store *st = NULL;
	kt_stats_result r = {0};
	resolve_place loc;
	int npos, rc = 1;

	if (cli_args("stats", stats_usage, argc, argv, opt, 8, pos, 0, &npos))
		return 2;
	if (!opt[0].value || !opt[1].value || !opt[2].value)
		return say(2, "stats needs --db FILE, --from DATE and --to DATE");
	int by = opt[3].value ? stats_by_from(opt[3].value) : KT_STATS_BY_LOCATION;
	int group = opt[4].value ? stats_group_from(opt[4].value) : KT_STATS_WEEK;
	if (by < 0)
		return say(2, "--by is location, specialist or service");
	if (group < 0)
		return say(2, "--group is week or month");
	if (store_open(opt[0].value, KT_STORE_READONLY, &st, &msg))
		return say(1, "%s: %s", opt[0].value, msg ? msg : "cannot open");
	if ((opt[6].value && resolve_org_arg(st, "--organisation", opt[6].value, org, err, sizeof err)) ||
	    (opt[5].value && resolve_location(st, &(resolve_scope){opt[6].value ? org : NULL, NULL}, "--location",
					      opt[5].value, &loc, err, sizeof err)) ||
	    (!opt[6].value && !opt[5].value && resolve_org_arg(st, "--organisation", NULL, org, err, sizeof err))) {
		say(1, "%s", err);
		goto out;
	}
	if (opt[5].value)
		memcpy(org, loc.org, sizeof org);
	kt_stats_query q = {org, opt[1].value, opt[2].value, by, group, opt[5].value ? loc.id : NULL, "*"};
	err[0] = 0;
	if ((rc = stats_compute(st, &q, &r, err, sizeof err))) {
		rc = say(rc == KT_EINVALID ? 2 : 1, "%s", err);
		goto out;
	}
	if (opt[7].seen) {
		char *json = stats_json(&r);
		if (!json) {
			rc = say(1, "out of memory");
			goto out;
		}
		printf("%s\n", json);
		free(json);
	} else
		print_table(&r);
	rc = 0;
out:
	stats_result_free(&r);
	store_close(st);
	return rc;
}
