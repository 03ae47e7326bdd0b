/* stats.h - satisfaction figures for owners and managers: per branch,
 * specialist or service, by week or month between two local dates: the
 * rating distribution and average, CSAT % (share of 4-5 answers), NPS (%
 * promoters 9-10 minus % detractors 0-6), CES average, response rates
 * (answers per request or survey sent) and the trend against the previous
 * period of equal length. Reads only; anonymous counts of erased clients
 * (review_anon, survey answers without a client) count like the rest. */
#ifndef KT_STATS_H
#define KT_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

enum { KT_STATS_BY_LOCATION, KT_STATS_BY_SPECIALIST, KT_STATS_BY_SERVICE };
enum { KT_STATS_WEEK, KT_STATS_MONTH };

/* The counts one group of answers adds up to; the figures are computed from
 * them (stats_figures), so that sums of groups give the right figures. */
typedef struct kt_stats_counts {
	int stars[6];            /* [1..5]: how many reviews gave that many stars */
	int reviews, stars_sum;
	int csat_n, csat_pos;    /* answers; of them 4 or 5 */
	int nps_n, promoters, passives, detractors;
	int ces_n, ces_sum;
	int review_requests, surveys_sent, survey_answers; /* outbox rows sent; answers to surveys */
} kt_stats_counts;

/* Figures; has_* false when there is nothing to compute them from. */
typedef struct kt_stats_figs {
	bool has_rating, has_csat, has_nps, has_ces, has_review_rate, has_survey_rate;
	double rating_avg, csat_pct, nps, ces_avg, review_rate, survey_rate; /* rates and csat in % */
} kt_stats_figs;

/* Add one answer: kind "review" (score = stars 1-5), "csat", "nps", "ces",
 * or "sent_review" / "sent_survey" (a request that went out; score unused). */
void stats_count(kt_stats_counts *c, const char *kind, int score);
void stats_counts_add(kt_stats_counts *into, const kt_stats_counts *c);
void stats_figures(const kt_stats_counts *c, kt_stats_figs *f);

/* One line of the result: a key (location, specialist or service) and a
 * period (first and last local date of it, clipped to the range), or the
 * whole range (period_start "" ... total). prev: the period before (for a
 * total: the range of equal length just before from). */
typedef struct kt_stats_line {
	char key[KT_UUID_LEN + 1];
	char name[128];
	char period[11], period_end[11]; /* YYYY-MM-DD; "" for the total */
	kt_stats_counts now, prev;
	kt_stats_figs fig, prev_fig;
} kt_stats_line;

typedef struct kt_stats_result {
	char from[11], to[11], prev_from[11], prev_to[11];
	int by, group;
	kt_stats_line *lines; /* per key: its periods in order, then its total */
	int n;
} kt_stats_result;
void stats_result_free(kt_stats_result *r); /* accepts NULL */

typedef struct kt_stats_query {
	const char *org;
	const char *from, *to; /* local dates YYYY-MM-DD, inclusive; at most 3 years apart */
	int by, group;
	const char *location;  /* one location id, or NULL for all of locs */
	const char *locs;      /* the asker's locations: "*" (owner, operator) or a comma list */
} kt_stats_query;

/* Compute. KT_EINVALID with err naming the field (from, to, by, group,
 * location); KT_EDENIED for a location not in locs; KT_EIO. */
int stats_compute(kt_store *st, const kt_stats_query *q, kt_stats_result *out, char *err, size_t cap) KT_MUST_CHECK;

/* Names of by and group ("location", "week"...), and back (-1: unknown). */
const char *stats_by_name(int by);
const char *stats_group_name(int group);
int stats_by_from(const char *name);
int stats_group_from(const char *name);

/* The result as a JSON document (owned text). */
char *stats_json(const kt_stats_result *r);

#endif
