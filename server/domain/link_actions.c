/* link_actions.c - the registry of link kinds and the three kinds that are
 * not feedback: confirm (an appointment becomes 'confirmed' through the
 * store: audited as the client's, streamed to staff devices), unsubscribe
 * and reconsent (consent entries through consent_record, so a withdrawal
 * drops queued messages of its purpose in the same transaction). Never
 * logs a token; never answers personal data beyond what the page shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "kt_limits.h"
#include "kt_time.h"
#include "kt_util.h"
#include "domain/consent.h"
#include "domain/link_actions.h"
#include "domain/resolve.h"

static struct {
	char kind[KT_LINK_KIND_MAX + 1];
	kt_link_open_fn open;
	kt_link_act_fn act;
} kinds[KT_LINK_KINDS_MAX];
static int nkinds;

int link_actions_register(const char *kind, kt_link_open_fn open, kt_link_act_fn act)
{
	if (!kind || !*kind || strlen(kind) > KT_LINK_KIND_MAX || !open || !act)
		return KT_EINVALID;
	int i = 0;
	while (i < nkinds && strcmp(kinds[i].kind, kind))
		i++;
	if (i == KT_LINK_KINDS_MAX)
		return KT_ETOO_LARGE;
	snprintf(kinds[i].kind, sizeof kinds[i].kind, "%s", kind);
	kinds[i].open = open;
	kinds[i].act = act;
	if (i == nkinds)
		nkinds++;
	return KT_OK;
}

static int find_kind(const char *kind)
{
	for (int i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i].kind, kind))
			return i;
	return -1;
}

bool link_actions_known(const char *kind)
{
	return kind && find_kind(kind) >= 0;
}

/* ---- the answer ---- */

void link_out_init(kt_link_out *o)
{
	memset(o, 0, sizeof *o);
	kt_mpw_init(&o->w);
}

void link_out_free(kt_link_out *o)
{
	if (o && o->w.sb.data)
		kt_mpw_free(&o->w);
}

void link_out_key(kt_link_out *o, const char *key)
{
	o->npairs++;
	kt_mpw_str(&o->w, key);
}

void link_out_str(kt_link_out *o, const char *key, const char *v)
{
	link_out_key(o, key);
	kt_mpw_str(&o->w, v);
}

void link_out_int(kt_link_out *o, const char *key, int64_t v)
{
	link_out_key(o, key);
	kt_mpw_int(&o->w, v);
}

void link_out_bool(kt_link_out *o, const char *key, bool v)
{
	link_out_key(o, key);
	kt_mpw_bool(&o->w, v);
}

/* One text column of a row by id (NULL: none), owned by the caller. */
static char *column_text(kt_store *st, const char *sql, const char *id)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	char *out = NULL;
	if (!q)
		return NULL;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		out = strdup((const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	return out;
}

void link_out_location(const kt_link_ctx *c, kt_link_out *o, const char *location_id)
{
	sqlite3_stmt *q = store_prepare(c->st, "SELECT name, address, time_zone FROM location WHERE id = ?1 AND org_id = ?2");
	link_out_key(o, "location");
	if (!q) {
		kt_mpw_nil(&o->w);
		return;
	}
	sqlite3_bind_text(q, 1, location_id ? location_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->link->org, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		kt_mpw_map(&o->w, 3);
		kt_mpw_str(&o->w, "name");
		kt_mpw_str(&o->w, (const char *)sqlite3_column_text(q, 0));
		kt_mpw_str(&o->w, "address");
		kt_mpw_str(&o->w, (const char *)sqlite3_column_text(q, 1));
		kt_mpw_str(&o->w, "time_zone");
		kt_mpw_str(&o->w, sqlite3_column_text(q, 2) ? (const char *)sqlite3_column_text(q, 2) : "UTC");
	} else
		kt_mpw_nil(&o->w);
	store_finish(c->st, q);
}

void link_local_text(const kt_link_ctx *c, const char *zone, int64_t ms, char *buf, size_t cap)
{
	if (kt_time_format_locale(zone && *zone ? zone : "UTC", c->lang, ms, buf, cap))
		kt_time_format("UTC", ms, buf, cap);
}

static bool lang_known(const char *l)
{
	static const char *const langs[] = {"sl", "de", "pl", "fi", "en"};
	for (size_t i = 0; l && i < sizeof langs / sizeof langs[0]; i++)
		if (!strncmp(l, langs[i], 2) && (!l[2] || l[2] == '-' || l[2] == '_'))
			return true;
	return false;
}

void link_client_lang(kt_store *st, const char *org, const char *client, char lang[8])
{
	const kt_table *ct = kt_table_find("client", 6);
	int li = ct ? kt_col_index(ct, "language") : -1; /* schema 26 (client.language), when there */
	kt_row row = {0};
	snprintf(lang, 8, "en");
	if (li >= 0 && client && *client && store_row_load(st, ct, client, &row) == KT_OK) {
		const kt_val *v = &row.v[li];
		bool set = !v->null && v->s && lang_known(v->s);
		if (set)
			snprintf(lang, 8, "%.2s", v->s);
		kt_row_free(&row);
		if (set)
			return;
	}
	char *ol = column_text(st, "SELECT language FROM organisation WHERE id = ?1", org ? org : "");
	if (lang_known(ol))
		snprintf(lang, 8, "%.2s", ol);
	free(ol);
}

/* kind, lang, salon and done: every answer has them. */
static void common_pairs(kt_store *st, const kt_link *l, const char *lang, kt_link_out *o)
{
	char salon[256];
	resolve_name(st, RESOLVE_ORG, l->org, salon, sizeof salon);
	link_out_str(o, "lang", lang);
	link_out_str(o, "salon", salon);
	link_out_bool(o, "done", o->done);
}

static int found(kt_store *st, const char *token, int64_t now, kt_link *l, char kind[KT_LINK_KIND_MAX + 1], char *err,
		 size_t errlen)
{
	int rc = links_find(st, token, now, l);
	if (rc == KT_OK || rc == KT_ETOKEN_EXPIRED)
		snprintf(kind, KT_LINK_KIND_MAX + 1, "%s", l->kind);
	if (rc == KT_ETOKEN_INVALID)
		return kt_fail(err, errlen, rc, "token: not a link this salon sent, or no longer valid");
	if (rc == KT_ETOKEN_EXPIRED)
		return kt_fail(err, errlen, rc, "this link has expired");
	if (rc)
		return kt_fail(err, errlen, rc, "the link could not be read");
	if (find_kind(l->kind) < 0)
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "token: this server does not handle %s links", l->kind);
	return KT_OK;
}

int link_open(kt_store *st, const char *token, int64_t now, kt_link_out *out, char kind[KT_LINK_KIND_MAX + 1],
	      char *err, size_t errlen)
{
	kt_link l;
	char lang[8];
	int rc;
	kind[0] = 0;
	if ((rc = store_begin_read(st)))
		return kt_fail(err, errlen, rc, "the link could not be read");
	if (!(rc = found(st, token, now, &l, kind, err, errlen))) {
		link_client_lang(st, l.org, l.client, lang);
		kt_link_ctx c = {st, &l, now, lang};
		out->done = l.used_at != 0;
		rc = kinds[find_kind(l.kind)].open(&c, out, err, errlen);
		if (!rc)
			common_pairs(st, &l, lang, out);
	}
	int end = store_commit(st);
	if (!rc && end)
		rc = kt_fail(err, errlen, end, "the link could not be read");
	if (!rc && out->w.err)
		rc = kt_fail(err, errlen, KT_ENOMEM, "the answer could not be packed");
	return rc;
}

int link_act(kt_store *st, const char *token, const kt_link_args *a, int64_t now, kt_link_out *out,
	     char kind[KT_LINK_KIND_MAX + 1], char *err, size_t errlen)
{
	kt_link l;
	char lang[8];
	int rc;
	kind[0] = 0;
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the link could not be used now; try again");
	if (!(rc = found(st, token, now, &l, kind, err, errlen))) {
		link_client_lang(st, l.org, l.client, lang);
		kt_link_ctx c = {st, &l, now, lang};
		/* what the link writes is the client's own doing, from no device */
		store_set_actor(st, "client", l.client[0] ? l.client : NULL, NULL, 0);
		rc = kinds[find_kind(l.kind)].act(&c, a, out, err, errlen);
		store_set_actor(st, "system", NULL, NULL, 0);
		if (!rc && (rc = links_mark_used(st, token, now)))
			kt_fail(err, errlen, rc, "the link could not be used now; try again");
		if (!rc) {
			out->done = true;
			common_pairs(st, &l, lang, out);
		}
	}
	if (rc) {
		store_rollback(st);
		return rc;
	}
	if ((rc = store_commit(st)))
		return kt_fail(err, errlen, rc, "the link could not be used now; try again");
	if (out->w.err)
		return kt_fail(err, errlen, KT_ENOMEM, "the answer could not be packed");
	return KT_OK;
}

int link_unsubscribe_one_click(kt_store *st, const char *token, int64_t now)
{
	kt_link l;
	kt_link_out out;
	kt_link_args none = {0};
	char kind[KT_LINK_KIND_MAX + 1], err[160];
	int rc;
	/* a token of another kind is not this endpoint's: as if unknown */
	if ((rc = store_begin_read(st)))
		return rc;
	rc = links_find(st, token, now, &l);
	if (!store_commit(st) && (rc == KT_OK || rc == KT_ETOKEN_EXPIRED) && strcmp(l.kind, KT_LINK_UNSUBSCRIBE))
		rc = KT_ETOKEN_INVALID;
	if (rc)
		return rc;
	link_out_init(&out);
	rc = link_act(st, token, &none, now, &out, kind, err, sizeof err);
	link_out_free(&out);
	return rc;
}

/* ---- confirm: "I'll be there" ---- */

typedef struct appt_view {
	kt_row row;
	const char *status, *location, *client, *specialist_name, *service_names;
	int64_t start_at;
} appt_view;

static const char *val_text(const kt_row *r, const char *col)
{
	int i = kt_col_index(r->t, col);
	return i >= 0 && !r->v[i].null ? r->v[i].s : NULL;
}

/* The link's appointment, if it is the link's client's in the link's organisation. */
static int appt_load(const kt_link_ctx *c, appt_view *a, char *err, size_t errlen)
{
	const kt_table *t = kt_table_find("appointment", 11);
	memset(a, 0, sizeof *a);
	int rc = store_row_load(c->st, t, c->link->target, &a->row);
	if (rc == KT_ENOT_FOUND || (!rc && (strcmp(a->row.org, c->link->org) ||
					    strcmp(val_text(&a->row, "client_id") ? val_text(&a->row, "client_id") : "",
						   c->link->client)))) {
		if (!rc)
			kt_row_free(&a->row);
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "token: the appointment of this link is gone");
	}
	if (rc)
		return kt_fail(err, errlen, rc, "the appointment could not be read");
	a->status = val_text(&a->row, "status");
	a->location = val_text(&a->row, "location_id");
	a->specialist_name = val_text(&a->row, "specialist_name");
	a->service_names = val_text(&a->row, "service_names");
	a->start_at = a->row.v[kt_col_index(t, "start_at")].i;
	if (!a->status)
		a->status = "booked";
	return KT_OK;
}

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

static int confirm_open(const kt_link_ctx *c, kt_link_out *o, char *err, size_t errlen)
{
	appt_view a;
	char zone[RESOLVE_ZONE], local[128], date[16], hm[8];
	kt_local lt;
	int rc = appt_load(c, &a, err, errlen);
	if (rc)
		return rc;
	resolve_location_zone(c->st, a.location, zone);
	if (!zone[0])
		snprintf(zone, sizeof zone, "UTC");
	link_local_text(c, zone, a.start_at, local, sizeof local);
	if (kt_date_format(zone, a.start_at, date, sizeof date))
		date[0] = 0;
	if (kt_time_to_local(zone, a.start_at, &lt) == KT_OK)
		snprintf(hm, sizeof hm, "%02d:%02d", lt.hour, lt.minute);
	else
		hm[0] = 0;
	link_out_key(o, "appointment");
	kt_mpw_map(&o->w, 8);
	kt_mpw_str(&o->w, "start_at");
	kt_mpw_int(&o->w, a.start_at);
	kt_mpw_str(&o->w, "time_zone");
	kt_mpw_str(&o->w, zone);
	kt_mpw_str(&o->w, "date");
	kt_mpw_str(&o->w, date);
	kt_mpw_str(&o->w, "time");
	kt_mpw_str(&o->w, hm);
	kt_mpw_str(&o->w, "local");
	kt_mpw_str(&o->w, local);
	kt_mpw_str(&o->w, "services");
	pack_names(&o->w, a.service_names);
	kt_mpw_str(&o->w, "specialist");
	kt_mpw_str(&o->w, a.specialist_name);
	kt_mpw_str(&o->w, "status");
	kt_mpw_str(&o->w, a.status);
	link_out_location(c, o, a.location);
	o->done = !strcmp(a.status, "confirmed");
	kt_row_free(&a.row);
	return KT_OK;
}

static int confirm_act(const kt_link_ctx *c, const kt_link_args *args, kt_link_out *o, char *err, size_t errlen)
{
	appt_view a;
	(void)args;
	int rc = appt_load(c, &a, err, errlen);
	if (rc)
		return rc;
	if (!strcmp(a.status, "confirmed"))
		rc = KT_OK; /* a second tap: done already, nothing written */
	else if (!strcmp(a.status, "cancelled"))
		rc = kt_fail(err, errlen, KT_EAPPOINTMENT_CANCELLED, "the appointment was cancelled; nothing to confirm");
	else if (strcmp(a.status, "booked") || a.start_at <= c->now)
		rc = kt_fail(err, errlen, KT_EAPPOINTMENT_PAST, "the appointment has started or is over");
	else {
		kt_field f = {"status", "confirmed"};
		if ((rc = store_update(c->st, "appointment", c->link->target, &f, 1, NULL)))
			kt_fail(err, errlen, rc, "the appointment could not be confirmed now; try again");
	}
	if (!rc) {
		link_out_key(o, "appointment");
		kt_mpw_map(&o->w, 2);
		kt_mpw_str(&o->w, "start_at");
		kt_mpw_int(&o->w, a.start_at);
		kt_mpw_str(&o->w, "status");
		kt_mpw_str(&o->w, "confirmed");
	}
	kt_row_free(&a.row);
	return rc;
}

/* ---- unsubscribe and reconsent: consent entries with source link ---- */

/* The purposes a message may be unsubscribed from or asked again for. */
static bool link_purpose(const char *p)
{
	return !strcmp(p, "marketing_email") || !strcmp(p, "marketing_sms") || !strcmp(p, "birthday_greetings") ||
	       !strcmp(p, "review_requests");
}

static int purpose_of(const kt_link_ctx *c, char *err, size_t errlen)
{
	if (!c->link->client[0] || !link_purpose(c->link->target))
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "token: this link names no consent it can change");
	return KT_OK;
}

/* "granted", "withdrawn" or "none": the state of the link's purpose. */
static const char *consent_state(const kt_link_ctx *c)
{
	bool granted = false;
	int rc = consent_latest(c->st, c->link->client, c->link->target, &granted, NULL);
	return rc ? "none" : granted ? "granted" : "withdrawn";
}

/* Record a grant or a withdrawal of the link's purpose as the client's,
 * through the link. */
static int record(const kt_link_ctx *c, bool granted, char *err, size_t errlen)
{
	kt_consent k;
	char id[KT_UUID_LEN + 1], why[160] = "";
	int rc;
	memset(&k, 0, sizeof k);
	snprintf(k.client_id, sizeof k.client_id, "%s", c->link->client);
	snprintf(k.purpose, sizeof k.purpose, "%.31s", c->link->target);
	k.granted = granted;
	k.at = c->now;
	snprintf(k.source, sizeof k.source, "%s", KT_LINK_CONSENT_SOURCE);
	snprintf(k.text_version, sizeof k.text_version, "%s", KT_LINK_CONSENT_TEXT_VERSION);
	k.text_version_given = true;
	/* the server's rules (NULL: not a device), then who it was: the client */
	if ((rc = consent_check(c->st, NULL, &k, why, sizeof why)))
		return rc == KT_ENOT_FOUND ? kt_fail(err, errlen, KT_ETOKEN_INVALID, "token: the client of this link is gone")
					   : kt_fail(err, errlen, rc, "the consent could not be recorded: %s", why);
	if (strcmp(k.org, c->link->org))
		return kt_fail(err, errlen, KT_ETOKEN_INVALID, "token: the client of this link is gone");
	snprintf(k.recorded_kind, sizeof k.recorded_kind, "client");
	snprintf(k.recorded_by, sizeof k.recorded_by, "%s", c->link->client);
	kt_uuid7(id);
	if ((rc = consent_record(c->st, id, &k, NULL)))
		return kt_fail(err, errlen, rc, "the consent could not be recorded now; try again");
	return KT_OK;
}

static int unsubscribe_open(const kt_link_ctx *c, kt_link_out *o, char *err, size_t errlen)
{
	int rc = purpose_of(c, err, errlen);
	if (rc)
		return rc;
	const char *state = consent_state(c);
	link_out_str(o, "purpose", c->link->target);
	o->done = strcmp(state, "granted") != 0;
	return KT_OK;
}

static int unsubscribe_act(const kt_link_ctx *c, const kt_link_args *a, kt_link_out *o, char *err, size_t errlen)
{
	(void)a;
	int rc = purpose_of(c, err, errlen);
	if (rc)
		return rc;
	/* withdrawn already: a second tap (or a mail client's POST and then
	 * the person's tap) writes nothing */
	if (strcmp(consent_state(c), "withdrawn") && (rc = record(c, false, err, errlen)))
		return rc;
	link_out_str(o, "purpose", c->link->target);
	return KT_OK;
}

static int reconsent_open(const kt_link_ctx *c, kt_link_out *o, char *err, size_t errlen)
{
	int rc = purpose_of(c, err, errlen);
	if (rc)
		return rc;
	link_out_str(o, "purpose", c->link->target);
	link_out_str(o, "state", consent_state(c));
	link_out_str(o, "text_version", KT_LINK_CONSENT_TEXT_VERSION);
	return KT_OK;
}

static int reconsent_act(const kt_link_ctx *c, const kt_link_args *a, kt_link_out *o, char *err, size_t errlen)
{
	int rc = purpose_of(c, err, errlen);
	if (rc)
		return rc;
	if (!a->has_granted)
		return kt_fail(err, errlen, KT_EINVALID, "granted: true (yes, keep sending) or false (no more)");
	kt_consent same = {0};
	int64_t v;
	snprintf(same.client_id, sizeof same.client_id, "%s", c->link->client);
	snprintf(same.purpose, sizeof same.purpose, "%.31s", c->link->target);
	same.granted = a->granted;
	snprintf(same.text_version, sizeof same.text_version, "%s", KT_LINK_CONSENT_TEXT_VERSION);
	/* the same answer to the same text again: nothing to record */
	if (!consent_unchanged(c->st, &same, &v) && (rc = record(c, a->granted, err, errlen)))
		return rc;
	link_out_str(o, "purpose", c->link->target);
	link_out_str(o, "state", a->granted ? "granted" : "withdrawn");
	return KT_OK;
}

int link_actions_register_builtin(void)
{
	int rc = link_actions_register(KT_LINK_CONFIRM, confirm_open, confirm_act);
	if (!rc)
		rc = link_actions_register(KT_LINK_UNSUBSCRIBE, unsubscribe_open, unsubscribe_act);
	if (!rc)
		rc = link_actions_register(KT_LINK_RECONSENT, reconsent_open, reconsent_act);
	return rc;
}
