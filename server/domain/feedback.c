/* feedback.c - see feedback.h. Personal values (a review's text and reply,
 * a client's name) are read and written only through the store, which
 * seals and opens them; the SQL here reads ids, stars, scores and times.
 * Never logs a review's text or a client's name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "kt_mp.h"
#include "kt_time.h"
#include "domain/feedback.h"

static const char *fval(const kt_field *f, int n, const char *name, bool *has)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(f[i].name, name)) {
			if (has)
				*has = true;
			return f[i].text;
		}
	if (has)
		*has = false;
	return NULL;
}

static const char *rval(const kt_row *r, const char *col)
{
	int i = r ? kt_col_index(r->t, col) : -1;
	return i >= 0 && !r->v[i].null ? r->v[i].s : NULL;
}

static int64_t row_int(const kt_row *r, const char *col)
{
	int i = r ? kt_col_index(r->t, col) : -1;
	return i >= 0 && !r->v[i].null ? r->v[i].i : 0;
}

static bool text_ok(const char *t)
{
	return !t || (strlen(t) <= FEEDBACK_MAX_TEXT && kt_utf8_valid((const uint8_t *)t, strlen(t)));
}

/* The values a review write carries, by their rules. */
static int check_values(const kt_field *f, int n, char *msg, size_t cap)
{
	bool has;
	const char *v = fval(f, n, "stars", &has);
	if (has && (!v || atoi(v) < 1 || atoi(v) > 5 || strspn(v, "0123456789") != strlen(v)))
		return kt_fail(msg, cap, KT_EINVALID, "stars must be a whole number from 1 to 5");
	if (!text_ok(fval(f, n, "text", NULL)))
		return kt_fail(msg, cap, KT_EINVALID, "text must be text of at most %d bytes", FEEDBACK_MAX_TEXT);
	if (!text_ok(fval(f, n, "reply", NULL)))
		return kt_fail(msg, cap, KT_EINVALID, "reply must be text of at most %d bytes", FEEDBACK_MAX_TEXT);
	return KT_OK;
}

/* The visit a review is about: the client's own, in org. */
static int own_visit(kt_store *st, const char *org, const char *client, const char *visit_id, kt_row *v, char *msg,
		     size_t cap)
{
	int rc = KT_ENOT_FOUND;
	memset(v, 0, sizeof *v);
	if (visit_id && kt_uuid_valid(visit_id, strlen(visit_id)))
		rc = store_row_load(st, kt_table_find("visit", 5), visit_id, v);
	if (rc && rc != KT_ENOT_FOUND)
		return rc;
	if (!rc && (strcmp(v->org, org) || strcmp(v->client, client))) {
		kt_row_free(v);
		rc = KT_ENOT_FOUND;
	}
	if (rc)
		return kt_fail(msg, cap, KT_ENOT_FOUND, "visit_id: no such visit of yours");
	return KT_OK;
}

/* The id of visit_id's review into id ("" when none). */
static int review_of_visit(kt_store *st, const char *visit_id, char id[KT_UUID_LEN + 1])
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id FROM review WHERE visit_id = ?1");
	int rc;
	id[0] = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, visit_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

static void fill_add(kt_review_fill *fill, const char *name, const char *value)
{
	fill->f[fill->n++] = (kt_field){name, value};
}

static void date_of(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%d", &tm);
}

/* A staff member's display name (the organisation's name when by is NULL). */
static void staff_name(kt_store *st, const char *org, const char *by, char *out, size_t cap)
{
	sqlite3_stmt *q = store_prepare(st, by ? "SELECT display_name FROM staff WHERE id = ?1"
					       : "SELECT name FROM organisation WHERE id = ?1");
	out[0] = 0;
	if (!q)
		return;
	sqlite3_bind_text(q, 1, by ? by : org, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
}

/* The reply's signature: who, by name, and when; all cleared with the reply. */
static void fill_reply(kt_store *st, const char *org, const char *by, const char *reply, int64_t now,
		       kt_review_fill *fill)
{
	if (!reply || !*reply) {
		fill_add(fill, "reply_by", NULL);
		fill_add(fill, "reply_name", NULL);
		fill_add(fill, "replied_at", NULL);
		return;
	}
	snprintf(fill->by, sizeof fill->by, "%s", by ? by : "");
	staff_name(st, org, by, fill->name, sizeof fill->name);
	snprintf(fill->at, sizeof fill->at, "%lld", (long long)now);
	fill_add(fill, "reply_by", by ? fill->by : NULL);
	fill_add(fill, "reply_name", fill->name);
	fill_add(fill, "replied_at", fill->at);
}

/* A client's change of their review is theirs for a week after it was written. */
static int editable(const kt_row *row, int64_t now, char *msg, size_t cap)
{
	int64_t until = row_int(row, "created_at") + FEEDBACK_EDIT_MS;
	char day[16];
	if (now <= until)
		return KT_OK;
	date_of(until, day, sizeof day);
	return kt_fail(msg, cap, KT_EDENIED, "a review can be changed for %d days after it was written (until %s UTC)",
		       FEEDBACK_EDIT_DAYS, day);
}

int feedback_review_push(kt_store *st, const kt_principal *p, const kt_row *row, const kt_field *f, int n,
			 int64_t now, kt_review_fill *fill, char *msg, size_t cap)
{
	char other[KT_UUID_LEN + 1];
	bool has;
	int rc;
	memset(fill, 0, sizeof *fill);
	if ((rc = check_values(f, n, msg, cap)))
		return rc;
	if (!row) { /* a create: the client's own visit, once */
		kt_row v;
		const char *visit = fval(f, n, "visit_id", NULL);
		if (!p->is_client)
			return kt_fail(msg, cap, KT_EDENIED, "only the client writes a review of their visit");
		if ((rc = own_visit(st, p->org, p->id, visit, &v, msg, cap)))
			return rc;
		snprintf(fill->loc, sizeof fill->loc, "%s", v.locs);
		snprintf(fill->client, sizeof fill->client, "%s", v.client);
		snprintf(fill->specialist, sizeof fill->specialist, "%s", rval(&v, "specialist_id") ? rval(&v, "specialist_id") : "");
		kt_row_free(&v);
		if ((rc = review_of_visit(st, visit, other)))
			return rc;
		if (other[0])
			return kt_fail(msg, cap, KT_ECONFLICT,
				       "visit_id: this visit has a review already (%s); change that one instead", other);
		snprintf(fill->at, sizeof fill->at, "%lld", (long long)now);
		fill_add(fill, "location_id", fill->loc);
		fill_add(fill, "client_id", fill->client);
		fill_add(fill, "specialist_id", fill->specialist[0] ? fill->specialist : NULL);
		fill_add(fill, "created_at", fill->at);
		return KT_OK;
	}
	if (p->is_client) {
		if (strcmp(row->client, p->id))
			return kt_fail(msg, cap, KT_EDENIED, "a client changes only their own review");
		fval(f, n, "visit_id", &has);
		if (has)
			return kt_fail(msg, cap, KT_EINVALID, "visit_id: a review stays with its visit");
		return editable(row, now, msg, cap);
	}
	const char *reply = fval(f, n, "reply", &has);
	if (has)
		fill_reply(st, p->org, p->id, reply, now, fill);
	return KT_OK;
}

int feedback_review_save(kt_store *st, const char *org, const char *client, const char *visit_id, int stars,
			 const char *text, bool public_ok, int64_t now, char id[KT_UUID_LEN + 1], char *msg,
			 size_t cap)
{
	const kt_table *t = kt_table_find("review", 6);
	kt_principal p = {.is_client = true, .role = KT_ROLE_CLIENT, .active = true};
	char s[4];
	kt_row row;
	kt_review_fill fill;
	kt_field f[8];
	int n = 0, rc;

	snprintf(p.id, sizeof p.id, "%s", client);
	snprintf(p.org, sizeof p.org, "%s", org);
	snprintf(s, sizeof s, "%d", stars);
	f[n++] = (kt_field){"stars", s};
	f[n++] = (kt_field){"text", text && *text ? text : NULL};
	f[n++] = (kt_field){"public_ok", public_ok ? "1" : "0"};
	if (stars < 1 || stars > 5)
		return kt_fail(msg, cap, KT_EINVALID, "stars must be a whole number from 1 to 5");
	if ((rc = own_visit(st, org, client, visit_id, &row, msg, cap)))
		return rc;
	kt_row_free(&row);
	if ((rc = review_of_visit(st, visit_id, id)))
		return rc;
	if (id[0]) { /* the review of this visit: changed, while it may be */
		if ((rc = store_row_load(st, t, id, &row)))
			return rc;
		rc = feedback_review_push(st, &p, &row, f, n, now, &fill, msg, cap);
		kt_row_free(&row);
		return rc ? rc : store_update(st, "review", id, f, n, NULL);
	}
	f[n++] = (kt_field){"visit_id", visit_id};
	if ((rc = feedback_review_push(st, &p, NULL, f, n, now, &fill, msg, cap)))
		return rc;
	for (int i = 0; i < fill.n; i++)
		f[n++] = fill.f[i];
	kt_uuid7(id);
	return store_insert(st, "review", id, org, f, n, NULL);
}

void feedback_review_view_free(kt_review_view *v)
{
	if (!v)
		return;
	free(v->services);
	free(v->text);
	free(v->reply);
	free(v->reply_name);
	memset(v, 0, sizeof *v);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int feedback_review_view(kt_store *st, const char *org, const char *client, const char *visit_id,
			 kt_review_view *out)
{
	kt_row v, r;
	char msg[96];
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = own_visit(st, org, client, visit_id, &v, msg, sizeof msg)))
		return rc;
	snprintf(out->visit_date, sizeof out->visit_date, "%s", rval(&v, "visit_date") ? rval(&v, "visit_date") : "");
	snprintf(out->specialist, sizeof out->specialist, "%s",
		 rval(&v, "specialist_name") ? rval(&v, "specialist_name") : "");
	snprintf(out->location, sizeof out->location, "%s", v.locs);
	out->services = strdup(rval(&v, "service_names") ? rval(&v, "service_names") : "[]");
	kt_row_free(&v);
	if ((rc = review_of_visit(st, visit_id, out->id)) || !out->id[0])
		return rc;
	if ((rc = store_row_load(st, kt_table_find("review", 6), out->id, &r)))
		return rc;
	out->has_review = true;
	out->stars = (int)row_int(&r, "stars");
	out->public_ok = row_int(&r, "public_ok") != 0;
	out->text = dup_or_null(rval(&r, "text"));
	out->reply = dup_or_null(rval(&r, "reply"));
	out->reply_name = dup_or_null(rval(&r, "reply_name"));
	out->created_at = row_int(&r, "created_at");
	out->editable_until = out->created_at + FEEDBACK_EDIT_MS;
	kt_row_free(&r);
	return KT_OK;
}

int feedback_review_answer(kt_store *st, const kt_principal *p, const char *review_id, const char *reply,
			   int highlighted, int hidden, char *msg, size_t cap)
{
	kt_row row = {0};
	kt_review_fill fill = {0};
	kt_field f[8];
	int n = 0, rc;

	if (!review_id || !kt_uuid_valid(review_id, strlen(review_id)))
		return kt_fail(msg, cap, KT_EINVALID, "id: the review's id (a UUID)");
	if (p && !p->is_client && p->role != KT_ROLE_OWNER && p->role != KT_ROLE_MANAGER)
		return kt_fail(msg, cap, KT_EDENIED, "only owners and managers answer reviews");
	if (p && p->is_client)
		return kt_fail(msg, cap, KT_EDENIED, "only owners and managers answer reviews");
	if (!reply && highlighted < 0 && hidden < 0)
		return kt_fail(msg, cap, KT_EINVALID, "say what to change: reply, highlighted or hidden");
	if (reply && !text_ok(reply))
		return kt_fail(msg, cap, KT_EINVALID, "reply must be text of at most %d bytes", FEEDBACK_MAX_TEXT);
	if ((rc = store_begin(st)))
		return kt_fail(msg, cap, rc, "could not save (%s)", kt_strerror(rc));
	rc = store_row_load(st, kt_table_find("review", 6), review_id, &row);
	if (rc == KT_ENOT_FOUND || (!rc && p && strcmp(row.org, p->org))) {
		rc = kt_fail(msg, cap, KT_ENOT_FOUND, "no such review");
		goto out;
	}
	if (rc)
		goto out;
	if (p && p->role == KT_ROLE_MANAGER && !kt_locset_has(p->locs, row.locs)) {
		rc = kt_fail(msg, cap, KT_EDENIED, "this review is about a visit at a location that is not yours");
		goto out;
	}
	if (reply) {
		f[n++] = (kt_field){"reply", *reply ? reply : NULL};
		fill_reply(st, row.org, p ? p->id : NULL, reply, kt_now_ms(), &fill);
		for (int i = 0; i < fill.n; i++)
			f[n++] = fill.f[i];
	}
	if (highlighted >= 0)
		f[n++] = (kt_field){"highlighted", highlighted ? "1" : "0"};
	if (hidden >= 0)
		f[n++] = (kt_field){"hidden", hidden ? "1" : "0"};
	rc = store_update(st, "review", review_id, f, n, NULL);
out:
	kt_row_free(&row);
	if (rc) {
		store_rollback(st);
		if (msg && !msg[0])
			kt_fail(msg, cap, rc, "could not save (%s)", kt_strerror(rc));
		return rc;
	}
	return store_commit(st);
}

/* ---- surveys ---- */

bool feedback_survey_kind(const char *kind)
{
	return kind && (!strcmp(kind, "csat") || !strcmp(kind, "nps") || !strcmp(kind, "ces"));
}

void feedback_survey_range(const char *kind, int *lo, int *hi)
{
	bool nps = kind && !strcmp(kind, "nps");
	*lo = nps ? 0 : 1;
	*hi = nps ? 10 : 5;
}

int feedback_survey_answer(kt_store *st, const char *org, const char *client, const char *visit_id,
			   const char *kind, int score, int64_t now, char *msg, size_t cap)
{
	int lo, hi, rc;
	kt_row v;
	char id[KT_UUID_LEN + 1];
	sqlite3_stmt *q;

	if (!feedback_survey_kind(kind))
		return kt_fail(msg, cap, KT_EINVALID, "kind must be csat, nps or ces");
	feedback_survey_range(kind, &lo, &hi);
	if (score < lo || score > hi)
		return kt_fail(msg, cap, KT_EINVALID, "score must be a whole number from %d to %d (%s)", lo, hi, kind);
	if ((rc = own_visit(st, org, client, visit_id, &v, msg, cap)))
		return rc;
	kt_uuid7(id);
	q = store_prepare(st, "INSERT INTO survey_answer(id, org_id, location_id, client_id, visit_id, specialist_id, "
			      "services, kind, score, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
			      "ON CONFLICT(visit_id, kind) WHERE visit_id IS NOT NULL DO UPDATE SET score = "
			      "excluded.score, created_at = excluded.created_at");
	if (!q) {
		kt_row_free(&v);
		return KT_EIO;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, v.locs, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, visit_id, -1, SQLITE_STATIC);
	if (rval(&v, "specialist_id"))
		sqlite3_bind_text(q, 6, rval(&v, "specialist_id"), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, rval(&v, "services") ? rval(&v, "services") : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 9, score);
	sqlite3_bind_int64(q, 10, now);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	kt_row_free(&v);
	return rc;
}

int feedback_survey_score(kt_store *st, const char *visit_id, const char *kind)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT score FROM survey_answer WHERE visit_id = ?1 AND kind = ?2");
	int s = -1;
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, visit_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		s = sqlite3_column_int(q, 0);
	store_finish(st, q);
	return s;
}

/* ---- erasure and export ---- */

int feedback_erase_client(kt_store *st, const char *client, int *n)
{
	static const char *const sql[] = {
		"INSERT INTO review_anon(org_id, location_id, specialist_id, services, stars, created_at) SELECT "
		"r.org_id, r.location_id, r.specialist_id, coalesce((SELECT v.services FROM visit v WHERE v.id = "
		"r.visit_id), ''), r.stars, r.created_at FROM review r WHERE r.client_id = ?1",
		"UPDATE survey_answer SET client_id = NULL, visit_id = NULL WHERE client_id = ?1",
	};
	*n = 0;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *q = store_prepare(st, sql[i]);
		if (!q)
			return KT_EIO;
		sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		*n += sqlite3_changes(store_db(st));
		store_finish(st, q);
		if (rc != SQLITE_DONE)
			return KT_EIO;
	}
	return KT_OK;
}

int feedback_merge_clients(kt_store *st, const char *keep, const char *dup)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE survey_answer SET client_id = ?1 WHERE client_id = ?2");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, keep, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, dup, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

int feedback_export_answers(kt_store *st, const char *client, char **json)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT kind, score, created_at, location_id, visit_id FROM survey_answer "
					    "WHERE client_id = ?1 ORDER BY created_at, id");
	json_t *a;
	int rc;
	*json = NULL;
	if (!q) /* a backup from before survey answers existed */
		return (*json = strdup("[]")) ? KT_OK : KT_ENOMEM;
	if (!(a = json_array())) {
		store_finish(st, q);
		return KT_ENOMEM;
	}
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *visit = (const char *)sqlite3_column_text(q, 4);
		json_array_append_new(a, json_pack("{s:s, s:i, s:I, s:s, s:o}", "kind",
						   (const char *)sqlite3_column_text(q, 0), "score", sqlite3_column_int(q, 1),
						   "created_at", (json_int_t)sqlite3_column_int64(q, 2), "location_id",
						   (const char *)sqlite3_column_text(q, 3),
						   "visit_id", visit ? json_string(visit) : json_null()));
	}
	store_finish(st, q);
	if (rc == SQLITE_DONE && !(*json = json_dumps(a, JSON_COMPACT)))
		rc = SQLITE_NOMEM;
	json_decref(a);
	return rc == SQLITE_DONE ? KT_OK : rc == SQLITE_NOMEM ? KT_ENOMEM : KT_EIO;
}

/* ---- the public feed ---- */

void feedback_public_name(const char *full, char *out, size_t cap)
{
	const char *p = full ? full : "", *first, *last = NULL;
	size_t fn;
	out[0] = 0;
	while (*p == ' ')
		p++;
	first = p;
	fn = strcspn(first, " ");
	for (const char *q = first + fn; *q; q++)
		if (*q != ' ' && q[-1] == ' ')
			last = q;
	if (!fn)
		return;
	if (!last) {
		snprintf(out, cap, "%.*s", (int)fn, first);
		return;
	}
	/* the initial: the last word's first character (UTF-8: its whole sequence) */
	size_t il = 1;
	unsigned char c = (unsigned char)*last;
	if (c >= 0xf0)
		il = 4;
	else if (c >= 0xe0)
		il = 3;
	else if (c >= 0xc0)
		il = 2;
	snprintf(out, cap, "%.*s %.*s.", (int)fn, first, (int)il, last);
}

static json_t *feed_review(kt_store *st, const char *id, const char *zone)
{
	kt_row r, c;
	char name[160] = "", date[16] = "";
	json_t *o;
	if (store_row_load(st, kt_table_find("review", 6), id, &r))
		return NULL;
	if (row_int(&r, "public_ok") && !store_row_load(st, kt_table_find("client", 6), r.client, &c)) {
		feedback_public_name(rval(&c, "name"), name, sizeof name);
		kt_row_free(&c);
	}
	/* the day it was written at the branch */
	if (!zone || kt_date_format(zone, row_int(&r, "created_at"), date, sizeof date))
		date_of(row_int(&r, "created_at"), date, sizeof date);
	o = json_pack("{s:i, s:o, s:o, s:s, s:o, s:b}", "stars", (int)row_int(&r, "stars"), "text",
		      rval(&r, "text") ? json_string(rval(&r, "text")) : json_null(), "reply",
		      rval(&r, "reply") ? json_string(rval(&r, "reply")) : json_null(), "date", date, "name",
		      name[0] ? json_string(name) : json_null(), "highlighted", row_int(&r, "highlighted") != 0);
	kt_row_free(&r);
	return o;
}

int feedback_public_json(kt_store *st, const char *location_id, char **json)
{
	sqlite3_stmt *q;
	kt_row loc;
	json_t *doc = NULL, *arr = NULL;
	char zone[64];
	int rc, count = 0;
	double avg = 0;

	*json = NULL;
	if (!location_id || !kt_uuid_valid(location_id, strlen(location_id)))
		return KT_ENOT_FOUND;
	if ((rc = store_row_load(st, kt_table_find("location", 8), location_id, &loc)))
		return rc;
	snprintf(zone, sizeof zone, "%s", rval(&loc, "time_zone") ? rval(&loc, "time_zone") : "UTC");
	if (row_int(&loc, "closed_at")) {
		kt_row_free(&loc);
		return KT_ENOT_FOUND;
	}
	if (!(q = store_prepare(st, "SELECT count(*), coalesce(avg(stars), 0) FROM review WHERE location_id = ?1 AND "
				    "hidden = 0"))) {
		kt_row_free(&loc);
		return KT_EIO;
	}
	sqlite3_bind_text(q, 1, location_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		count = sqlite3_column_int(q, 0);
		avg = sqlite3_column_double(q, 1);
	}
	store_finish(st, q);
	arr = json_array();
	doc = json_pack("{s:{s:s}, s:f, s:i}", "location", "name", rval(&loc, "name") ? rval(&loc, "name") : "",
			"average", (double)((int64_t)(avg * 100 + 0.5)) / 100, "count", count);
	kt_row_free(&loc);
	if (!arr || !doc) {
		rc = KT_ENOMEM;
		goto out;
	}
	if (!(q = store_prepare(st, "SELECT id FROM review WHERE location_id = ?1 AND hidden = 0 ORDER BY highlighted "
				    "DESC, created_at DESC, id LIMIT ?2"))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(q, 1, location_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, FEEDBACK_FEED_MAX);
	/* ids first: loading a row prepares statements of its own */
	char (*ids)[KT_UUID_LEN + 1] = calloc(FEEDBACK_FEED_MAX, sizeof *ids);
	int nid = 0;
	while (ids && nid < FEEDBACK_FEED_MAX && sqlite3_step(q) == SQLITE_ROW)
		snprintf(ids[nid++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	for (int i = 0; i < nid; i++) {
		json_t *o = feed_review(st, ids[i], zone);
		if (o)
			json_array_append_new(arr, o);
	}
	free(ids);
	json_object_set_new(doc, "reviews", arr);
	arr = NULL;
	rc = (*json = json_dumps(doc, JSON_COMPACT)) ? KT_OK : KT_ENOMEM;
out:
	json_decref(arr);
	json_decref(doc);
	return rc;
}

/* ---- the list for owners and managers ---- */

int feedback_review_list(kt_store *st, const kt_principal *p, const char *org, const char *location, int limit,
			 kt_review_cb cb, void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT r.id FROM review r WHERE r.org_id = ?1 AND (?2 IS NULL OR "
					    "r.location_id = ?2) ORDER BY r.created_at DESC, r.id LIMIT ?3");
	char (*ids)[KT_UUID_LEN + 1];
	int nid = 0, rc = KT_OK;
	if (!q)
		return KT_EIO;
	if (limit < 1 || limit > 1000)
		limit = 1000;
	if (!(ids = calloc((size_t)limit, sizeof *ids))) {
		store_finish(st, q);
		return KT_ENOMEM;
	}
	sqlite3_bind_text(q, 1, p ? p->org : org, -1, SQLITE_STATIC);
	if (location)
		sqlite3_bind_text(q, 2, location, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, limit);
	while (nid < limit && sqlite3_step(q) == SQLITE_ROW)
		snprintf(ids[nid++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	for (int i = 0; !rc && i < nid; i++) {
		kt_row r, v = {0}, c = {0}, l = {0};
		if (store_row_load(st, kt_table_find("review", 6), ids[i], &r))
			continue;
		if (p && p->role != KT_ROLE_OWNER && !kt_locset_has(p->locs, r.locs)) {
			kt_row_free(&r);
			continue;
		}
		bool hv = !store_row_load(st, kt_table_find("visit", 5), rval(&r, "visit_id"), &v);
		bool hc = !store_row_load(st, kt_table_find("client", 6), r.client, &c);
		bool hl = !store_row_load(st, kt_table_find("location", 8), r.locs, &l);
		kt_review_item it = {ids[i],
				     hl ? rval(&l, "name") : "",
				     hv ? rval(&v, "visit_date") : "",
				     hv ? rval(&v, "specialist_name") : "",
				     rval(&r, "text"),
				     rval(&r, "reply"),
				     rval(&r, "reply_name"),
				     hc ? rval(&c, "name") : "",
				     (int)row_int(&r, "stars"),
				     row_int(&r, "highlighted") != 0,
				     row_int(&r, "hidden") != 0,
				     row_int(&r, "public_ok") != 0,
				     row_int(&r, "created_at")};
		rc = cb(user, &it);
		kt_row_free(&r);
		kt_row_free(&v);
		kt_row_free(&c);
		kt_row_free(&l);
	}
	free(ids);
	return rc;
}
