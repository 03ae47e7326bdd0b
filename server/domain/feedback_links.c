/* feedback_links.c - the review and survey links (links.h kinds "review"
 * and "survey") in the links registry (link_actions.h): what their page
 * shows and their one action, through the rules of feedback.c, so that a
 * review by link and one from the portal are the same review (once per
 * visit, a week to change it). Shows only the link's own visit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "domain/feedback.h"
#include "domain/link_actions.h"

/* The visit's service names (a JSON array text, as the server wrote
 * them) as an array of strings. */
static void pack_names(kt_mpw *w, const char *json)
{
	json_t *arr = json ? json_loads(json, 0, NULL) : NULL;
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0, k = 0;
	for (size_t i = 0; i < n; i++)
		k += json_is_string(json_array_get(arr, i));
	kt_mpw_array(w, (uint32_t)k);
	for (size_t i = 0; i < n; i++)
		if (json_is_string(json_array_get(arr, i)))
			kt_mpw_str(w, json_string_value(json_array_get(arr, i)));
	json_decref(arr);
}

static void pack_visit(kt_link_out *o, const kt_review_view *v)
{
	link_out_key(o, "visit");
	kt_mpw_map(&o->w, 3);
	kt_mpw_str(&o->w, "date");
	kt_mpw_str(&o->w, v->visit_date);
	kt_mpw_str(&o->w, "services");
	pack_names(&o->w, v->services);
	kt_mpw_str(&o->w, "specialist");
	kt_mpw_str(&o->w, v->specialist[0] ? v->specialist : NULL);
}

static void pack_review(kt_link_out *o, const kt_review_view *v)
{
	link_out_key(o, "review");
	if (!v->has_review) {
		kt_mpw_nil(&o->w);
		return;
	}
	kt_mpw_map(&o->w, 6);
	kt_mpw_str(&o->w, "stars");
	kt_mpw_int(&o->w, v->stars);
	kt_mpw_str(&o->w, "text");
	kt_mpw_str(&o->w, v->text);
	kt_mpw_str(&o->w, "public_ok");
	kt_mpw_bool(&o->w, v->public_ok);
	kt_mpw_str(&o->w, "reply");
	kt_mpw_str(&o->w, v->reply);
	kt_mpw_str(&o->w, "reply_name");
	kt_mpw_str(&o->w, v->reply_name);
	kt_mpw_str(&o->w, "editable_until");
	kt_mpw_int(&o->w, v->editable_until);
}

static int gone(int rc, char *err, size_t errlen)
{
	if (rc == KT_ENOT_FOUND) /* the visit was deleted (or its client erased): the link is dead */
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "this link is no longer valid");
	return rc;
}

static int review_show(const kt_link_ctx *c, kt_link_out *o, char *err, size_t errlen)
{
	kt_review_view v;
	int rc = feedback_review_view(c->st, c->link->org, c->link->client, c->link->target, &v);
	if (rc)
		return gone(rc, err, errlen);
	pack_visit(o, &v);
	pack_review(o, &v);
	link_out_location(c, o, v.location);
	o->done = v.has_review;
	feedback_review_view_free(&v);
	return KT_OK;
}

static int review_open(const kt_link_ctx *c, kt_link_out *o, char *err, size_t errlen)
{
	return review_show(c, o, err, errlen);
}

static int review_act(const kt_link_ctx *c, const kt_link_args *a, kt_link_out *o, char *err, size_t errlen)
{
	char id[KT_UUID_LEN + 1], *text = NULL;
	int rc;
	if (!a->has_stars || a->stars < 1 || a->stars > 5)
		return kt_fail(err, errlen, KT_EINVALID, "stars: a whole number from 1 to 5");
	if (a->text && a->text_len > FEEDBACK_MAX_TEXT)
		return kt_fail(err, errlen, KT_EINVALID, "text: at most %d bytes", FEEDBACK_MAX_TEXT);
	if (a->text && !(text = strndup(a->text, a->text_len)))
		return KT_ENOMEM;
	rc = feedback_review_save(c->st, c->link->org, c->link->client, c->link->target, (int)a->stars, text,
				  a->has_public_ok && a->public_ok, c->now, id, err, errlen);
	free(text);
	if (rc)
		return gone(rc, err, errlen);
	return review_show(c, o, err, errlen);
}

/* "VISIT:kind" into visit and kind. */
static bool survey_target(const kt_link *l, char visit[KT_UUID_LEN + 1], char kind[8])
{
	const char *colon = strchr(l->target, ':');
	if (!colon || colon - l->target != KT_UUID_LEN)
		return false;
	snprintf(visit, KT_UUID_LEN + 1, "%.*s", KT_UUID_LEN, l->target);
	snprintf(kind, 8, "%s", colon + 1);
	return feedback_survey_kind(kind);
}

static int survey_show(const kt_link_ctx *c, kt_link_out *o, char *err, size_t errlen)
{
	char visit[KT_UUID_LEN + 1], kind[8];
	kt_review_view v;
	int lo, hi, rc, score;
	if (!survey_target(c->link, visit, kind))
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "this link is no longer valid");
	if ((rc = feedback_review_view(c->st, c->link->org, c->link->client, visit, &v)))
		return gone(rc, err, errlen);
	feedback_survey_range(kind, &lo, &hi);
	score = feedback_survey_score(c->st, visit, kind);
	link_out_str(o, "question", kind);
	link_out_int(o, "min", lo);
	link_out_int(o, "max", hi);
	link_out_key(o, "answer");
	if (score >= 0)
		kt_mpw_int(&o->w, score);
	else
		kt_mpw_nil(&o->w);
	pack_visit(o, &v);
	link_out_location(c, o, v.location);
	o->done = score >= 0;
	feedback_review_view_free(&v);
	return KT_OK;
}

static int survey_act(const kt_link_ctx *c, const kt_link_args *a, kt_link_out *o, char *err, size_t errlen)
{
	char visit[KT_UUID_LEN + 1], kind[8];
	int lo, hi, rc;
	if (!survey_target(c->link, visit, kind))
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "this link is no longer valid");
	feedback_survey_range(kind, &lo, &hi);
	if (!a->has_score || a->score < lo || a->score > hi)
		return kt_fail(err, errlen, KT_EINVALID, "score: a whole number from %d to %d", lo, hi);
	if ((rc = feedback_survey_answer(c->st, c->link->org, c->link->client, visit, kind, (int)a->score, c->now, err,
					 errlen)))
		return gone(rc, err, errlen);
	return survey_show(c, o, err, errlen);
}

int feedback_links_register(void)
{
	int rc = link_actions_register(KT_LINK_REVIEW, review_open, review_act);
	return rc ? rc : link_actions_register(KT_LINK_SURVEY, survey_show, survey_act);
}
