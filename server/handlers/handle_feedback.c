/* handle_feedback.c - the manage ops of reviews and statistics (owners; managers
 * for their locations): stats, reviews, review_reply, review_set. The rules
 * are domain/feedback.c's and domain/stats.c's; this file reads the keys
 * and packs the answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn/conn.h"
#include "domain/feedback.h"
#include "domain/policy.h"
#include "domain/stats.h"
#include "handlers/handlers.h"
#include "server.h"
#include "sync/after_commit.h"

static const char *cstr(const kt_str *v, char *buf, size_t cap)
{
	if (!v->s)
		return NULL;
	if (v->len >= cap || memchr(v->s, 0, v->len))
		return "\n"; /* too long or not text: every field's own check refuses it */
	memcpy(buf, v->s, v->len);
	buf[v->len] = 0;
	return buf;
}

/* A figure or nil. */
static void pack_num(kt_mpw *w, const char *k, bool has, double v)
{
	kt_mpw_str(w, k);
	if (has)
		kt_mpw_double(w, (double)(int64_t)(v * 10 + (v < 0 ? -0.5 : 0.5)) / 10);
	else
		kt_mpw_nil(w);
}

static void pack_figs(kt_mpw *w, const kt_stats_counts *c, const kt_stats_figs *f)
{
	kt_mpw_map(w, 17);
	kt_mpw_str(w, "stars");
	kt_mpw_array(w, 5);
	for (int i = 1; i <= 5; i++)
		kt_mpw_int(w, c->stars[i]);
	kt_mpw_str(w, "reviews");
	kt_mpw_int(w, c->reviews);
	pack_num(w, "rating_avg", f->has_rating, f->rating_avg);
	kt_mpw_str(w, "csat_answers");
	kt_mpw_int(w, c->csat_n);
	pack_num(w, "csat_pct", f->has_csat, f->csat_pct);
	kt_mpw_str(w, "nps_answers");
	kt_mpw_int(w, c->nps_n);
	kt_mpw_str(w, "promoters");
	kt_mpw_int(w, c->promoters);
	kt_mpw_str(w, "passives");
	kt_mpw_int(w, c->passives);
	kt_mpw_str(w, "detractors");
	kt_mpw_int(w, c->detractors);
	pack_num(w, "nps", f->has_nps, f->nps);
	kt_mpw_str(w, "ces_answers");
	kt_mpw_int(w, c->ces_n);
	pack_num(w, "ces_avg", f->has_ces, f->ces_avg);
	kt_mpw_str(w, "review_requests");
	kt_mpw_int(w, c->review_requests);
	pack_num(w, "review_rate", f->has_review_rate, f->review_rate);
	kt_mpw_str(w, "surveys_sent");
	kt_mpw_int(w, c->surveys_sent);
	kt_mpw_str(w, "survey_answers");
	kt_mpw_int(w, c->survey_answers);
	pack_num(w, "survey_rate", f->has_survey_rate, f->survey_rate);
}

static void pack_stats(kt_mpw *w, const kt_stats_result *r)
{
	kt_mpw_map(w, 8);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "manage_result");
	kt_mpw_str(w, "op");
	kt_mpw_str(w, "stats");
	kt_mpw_str(w, "from");
	kt_mpw_str(w, r->from);
	kt_mpw_str(w, "to");
	kt_mpw_str(w, r->to);
	kt_mpw_str(w, "by");
	kt_mpw_str(w, stats_by_name(r->by));
	kt_mpw_str(w, "group");
	kt_mpw_str(w, stats_group_name(r->group));
	kt_mpw_str(w, "previous");
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "from");
	kt_mpw_str(w, r->prev_from);
	kt_mpw_str(w, "to");
	kt_mpw_str(w, r->prev_to);
	kt_mpw_str(w, "lines");
	kt_mpw_array(w, (uint32_t)r->n);
	for (int i = 0; i < r->n; i++) {
		const kt_stats_line *l = &r->lines[i];
		const kt_stats_figs *a = &l->fig, *b = &l->prev_fig;
		kt_mpw_map(w, 7);
		kt_mpw_str(w, "key");
		kt_mpw_str(w, l->key[0] ? l->key : NULL);
		kt_mpw_str(w, "name");
		kt_mpw_str(w, l->name);
		kt_mpw_str(w, "period");
		kt_mpw_str(w, l->period[0] ? l->period : "total");
		kt_mpw_str(w, "period_end");
		kt_mpw_str(w, l->period[0] ? l->period_end : NULL);
		kt_mpw_str(w, "figures");
		pack_figs(w, &l->now, a);
		kt_mpw_str(w, "previous");
		pack_figs(w, &l->prev, b);
		kt_mpw_str(w, "trend");
		kt_mpw_map(w, 4);
		pack_num(w, "rating_avg", a->has_rating && b->has_rating, a->rating_avg - b->rating_avg);
		pack_num(w, "csat_pct", a->has_csat && b->has_csat, a->csat_pct - b->csat_pct);
		pack_num(w, "nps", a->has_nps && b->has_nps, a->nps - b->nps);
		pack_num(w, "ces_avg", a->has_ces && b->has_ces, a->ces_avg - b->ces_avg);
	}
}

static void send_frame(kt_session *s)
{
	if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, "manage", false);
}

static void op_stats(kt_session *s, const kt_manage_feedback *m)
{
	kt_server *srv = s->srv;
	const kt_principal *p = &s->principal;
	char from[16], to[16], by[16], group[16], loc[80], err[256] = "";
	kt_stats_result r;
	const char *bys = cstr(&m->by, by, sizeof by), *gs = cstr(&m->group, group, sizeof group);
	const char *ls = cstr(&m->location, loc, sizeof loc);
	int byi = bys ? stats_by_from(bys) : KT_STATS_BY_LOCATION, gi = gs ? stats_group_from(gs) : KT_STATS_WEEK;
	if (!m->from.s || !m->to.s) {
		session_error(s, KT_EINVALID, "stats needs from and to: local dates YYYY-MM-DD", "manage", false);
		return;
	}
	if (ls && !kt_uuid_valid(ls, strlen(ls))) {
		session_error(s, KT_EINVALID, "location must be a location id", "manage", false);
		return;
	}
	kt_stats_query q = {p->org, cstr(&m->from, from, sizeof from), cstr(&m->to, to, sizeof to), byi, gi, ls,
			    p->role == KT_ROLE_OWNER ? "*" : p->locs};
	int rc = stats_compute(srv->st, &q, &r, err, sizeof err);
	if (rc) {
		session_error(s, rc, err[0] ? err : NULL, "manage", false);
		return;
	}
	frame_begin(srv);
	pack_stats(&srv->frame, &r);
	stats_result_free(&r);
	send_frame(s);
}

struct list_ctx {
	kt_mpw *w;
	uint32_t n;
};

static int pack_review(void *user, const kt_review_item *r)
{
	struct list_ctx *c = user;
	kt_mpw *w = c->w;
	c->n++;
	kt_mpw_map(w, 12);
	kt_mpw_str(w, "id");
	kt_mpw_str(w, r->id);
	kt_mpw_str(w, "location");
	kt_mpw_str(w, r->location);
	kt_mpw_str(w, "visit_date");
	kt_mpw_str(w, r->visit_date);
	kt_mpw_str(w, "specialist");
	kt_mpw_str(w, r->specialist);
	kt_mpw_str(w, "client_name");
	kt_mpw_str(w, r->client_name);
	kt_mpw_str(w, "stars");
	kt_mpw_int(w, r->stars);
	kt_mpw_str(w, "text");
	kt_mpw_str(w, r->text);
	kt_mpw_str(w, "reply");
	kt_mpw_str(w, r->reply);
	kt_mpw_str(w, "reply_name");
	kt_mpw_str(w, r->reply_name);
	kt_mpw_str(w, "highlighted");
	kt_mpw_bool(w, r->highlighted);
	kt_mpw_str(w, "hidden");
	kt_mpw_bool(w, r->hidden);
	kt_mpw_str(w, "created_at");
	kt_mpw_int(w, r->created_at);
	return 0;
}

static void op_reviews(kt_session *s, const kt_manage_feedback *m)
{
	kt_server *srv = s->srv;
	char loc[80];
	const char *ls = cstr(&m->location, loc, sizeof loc);
	kt_mpw body;
	struct list_ctx c = {&body, 0};
	if (ls && (!kt_uuid_valid(ls, strlen(ls)) || !kt_locset_has(s->principal.locs, ls))) {
		session_error(s, KT_EDENIED, "location: not one of your locations", "manage", false);
		return;
	}
	kt_mpw_init(&body);
	int rc = feedback_review_list(srv->st, &s->principal, NULL, ls,
				      m->limit > 0 && m->limit <= 1000 ? (int)m->limit : 200, pack_review, &c);
	if (rc)
		session_error(s, rc, NULL, "manage", false);
	else {
		frame_begin(srv);
		kt_mpw_map(&srv->frame, 3);
		kt_mpw_str(&srv->frame, "t");
		kt_mpw_str(&srv->frame, "manage_result");
		kt_mpw_str(&srv->frame, "op");
		kt_mpw_str(&srv->frame, "reviews");
		kt_mpw_str(&srv->frame, "reviews");
		kt_mpw_array(&srv->frame, c.n);
		kt_mpw_raw(&srv->frame, body.sb.data, body.sb.size);
		send_frame(s);
	}
	kt_mpw_free(&body);
}

static void op_answer(kt_session *s, const kt_manage_feedback *m, bool reply_op)
{
	kt_server *srv = s->srv;
	const kt_principal *p = &s->principal;
	char id[80], err[256] = "", *reply = NULL;
	const char *ids = cstr(&m->id, id, sizeof id);
	int rc;
	if (reply_op && !m->reply.s && !m->reply_nil) {
		session_error(s, KT_EINVALID, "reply: the text the client reads, or nil to remove it", "manage", false);
		return;
	}
	if (!reply_op && m->highlighted < 0 && m->hidden < 0) {
		session_error(s, KT_EINVALID, "review_set takes highlighted and/or hidden (true or false)", "manage",
			      false);
		return;
	}
	if (reply_op && m->reply.s && (memchr(m->reply.s, 0, m->reply.len) || !(reply = strndup(m->reply.s, m->reply.len)))) {
		session_error(s, reply ? KT_ENOMEM : KT_EINVALID, reply ? NULL : "reply: text without NUL characters",
			      "manage", false);
		return;
	}
	store_set_actor(srv->st, "staff", p->id, s->device, 0);
	rc = feedback_review_answer(srv->st, p, ids, reply_op ? (reply ? reply : "") : NULL,
				    reply_op ? -1 : m->highlighted, reply_op ? -1 : m->hidden, err, sizeof err);
	store_set_actor(srv->st, "system", NULL, NULL, 0);
	free(reply);
	if (rc) {
		session_error(s, rc, err[0] ? err : NULL, "manage", false);
		return;
	}
	frame_begin(srv);
	proto_manage_done_encode(&srv->frame, reply_op ? "review_reply" : "review_set", ids, 0, -1, NULL, 0);
	send_frame(s);
	after_commit(srv); /* the review's devices get the change now */
}

bool handle_feedback_manage(kt_session *s, const unsigned char *buf, size_t len, const kt_str *op)
{
	static const char *const ops[] = {"stats", "reviews", "review_reply", "review_set"};
	kt_manage_feedback m;
	int which = -1;
	for (int i = 0; i < 4; i++)
		if (kt_mp_str_eq(op->s, op->len, ops[i]))
			which = i;
	if (which < 0)
		return false;
	if (!policy_may(&s->principal, which == 0 ? KT_ACT_SEE_STATS : KT_ACT_ANSWER_REVIEW)) {
		session_error(s, KT_EDENIED, which == 0 ? "statistics are for owners and managers"
							: "reviews are answered by owners and managers",
			      "manage", false);
		return true;
	}
	if (proto_manage_feedback_decode(buf, len, &m)) {
		session_error(s, KT_EMALFORMED, "manage keys: from, to, by, group, location (strings), reply (string "
						"or nil), highlighted, hidden (bool), limit (int)",
			      "manage", false);
		return true;
	}
	if (which == 0)
		op_stats(s, &m);
	else if (which == 1)
		op_reviews(s, &m);
	else
		op_answer(s, &m, which == 2);
	return true;
}
