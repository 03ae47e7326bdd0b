/* messages.c - the planner (see messages.h): what an appointment or visit
 * write sets off, planned in the writer's transaction. Settings, preview,
 * campaigns, the daily pass and the unconfirmed list are in
 * messages_ops.c; the words in templates.c; the outbox SQL in
 * outbox_plan.c. Never sends, never logs a text or an address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>
#include "db/validate.h"
#include "domain/consent.h"
#include "domain/links.h"
#include "domain/messages_internal.h"
#include "domain/outbox_plan.h"
#include "domain/portal.h"

#define DAY_MS (24LL * 3600 * 1000)

static char cfg_portal_url[1024];
static bool cfg_sms;

void messages_configure(const char *portal_url, bool sms_enabled)
{
	snprintf(cfg_portal_url, sizeof cfg_portal_url, "%s", portal_url ? portal_url : "");
	cfg_sms = sms_enabled;
}

bool msg_sms_enabled(void)
{
	return cfg_sms;
}

void msg_base_url(kt_store *st, char *out, size_t cap)
{
	kt_portal_config c;
	memset(&c, 0, sizeof c);
	snprintf(c.portal_url, sizeof c.portal_url, "%s", cfg_portal_url);
	if (portal_base_url(st, &c, out, cap))
		snprintf(out, cap, "http://localhost");
}

/* ---- settings (read here: every plan needs them; changed in messages_ops.c) ---- */

void messages_settings_defaults(kt_msg_settings *s)
{
	memset(s, 0, sizeof *s);
	s->reminder1_min = 1440;
	s->review_request_days = 1;
	s->review_request_marketing = true;
	s->birthday = true;
	snprintf(s->quiet_from, sizeof s->quiet_from, "21:00");
	snprintf(s->quiet_to, sizeof s->quiet_to, "08:00");
	s->daily_cap = 3;
	s->nps_every_days = 90;
	s->survey_delay_min = 120;
}

int messages_settings_get(kt_store *st, const char *org, kt_msg_settings *s)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT reminder1_min, reminder2_min, review_request_days, "
					    "review_request_marketing, birthday, quiet_from, quiet_to, daily_cap, "
					    "csat_every_days, nps_every_days, ces_every_days, survey_delay_min, updated_at "
					    "FROM message_settings WHERE org_id = ?1");
	int rc;
	messages_settings_defaults(s);
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		s->reminder1_min = sqlite3_column_int(q, 0);
		s->reminder2_min = sqlite3_column_int(q, 1);
		s->review_request_days = sqlite3_column_int(q, 2);
		s->review_request_marketing = sqlite3_column_int(q, 3) != 0;
		s->birthday = sqlite3_column_int(q, 4) != 0;
		snprintf(s->quiet_from, sizeof s->quiet_from, "%s", (const char *)sqlite3_column_text(q, 5));
		snprintf(s->quiet_to, sizeof s->quiet_to, "%s", (const char *)sqlite3_column_text(q, 6));
		s->daily_cap = sqlite3_column_int(q, 7);
		s->csat_every_days = sqlite3_column_int(q, 8);
		s->nps_every_days = sqlite3_column_int(q, 9);
		s->ces_every_days = sqlite3_column_int(q, 10);
		s->survey_delay_min = sqlite3_column_int(q, 11);
		s->updated_at = sqlite3_column_int64(q, 12);
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* ---- what a message is about ---- */

static void text_col(sqlite3_stmt *q, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int msg_place_load(kt_store *st, const char *org, const char *location, msg_place *p)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT o.name, coalesce(o.country, ''), coalesce(o.language, ''), "
					    "coalesce(l.name, ''), coalesce(l.address, ''), coalesce(l.phone, ''), "
					    "coalesce(l.time_zone, (SELECT time_zone FROM location WHERE org_id = o.id "
					    "ORDER BY rowid LIMIT 1), 'UTC') FROM organisation o LEFT JOIN location l ON "
					    "l.id = ?2 AND l.org_id = o.id WHERE o.id = ?1");
	int rc;
	memset(p, 0, sizeof *p);
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (location)
		sqlite3_bind_text(q, 2, location, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 2);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		char lang[8];
		text_col(q, 0, p->salon, sizeof p->salon);
		text_col(q, 1, p->country, sizeof p->country);
		text_col(q, 2, lang, sizeof lang);
		text_col(q, 3, p->branch, sizeof p->branch);
		text_col(q, 4, p->address, sizeof p->address);
		text_col(q, 5, p->phone, sizeof p->phone);
		text_col(q, 6, p->zone, sizeof p->zone);
		p->org_lang = templates_lang(lang);
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	return rc;
}

void msg_who_free(msg_who *w)
{
	if (!w)
		return;
	if (w->email)
		sodium_memzero(w->email, strlen(w->email));
	if (w->phone)
		sodium_memzero(w->phone, strlen(w->phone));
	free(w->email);
	free(w->phone);
	free(w->first_name);
	free(w->birthday);
	memset(w, 0, sizeof *w);
}

static char *val_dup(const kt_row *r, int c)
{
	return c >= 0 && !r->v[c].null && r->v[c].s && *r->v[c].s ? strdup(r->v[c].s) : NULL;
}

int msg_who_load(kt_store *st, const char *client, bool birthday, msg_who *w)
{
	const kt_table *t = kt_table_find("client", 6);
	int cols[5] = {kt_col_index(t, "name"), kt_col_index(t, "email"), kt_col_index(t, "phone"),
		       kt_col_index(t, "language"), kt_col_index(t, "birthday")};
	kt_row r;
	int rc;
	memset(w, 0, sizeof *w);
	if ((rc = store_row_load_some(st, t, client, cols, birthday ? 5 : 4, &r)))
		return rc;
	char *name = val_dup(&r, cols[0]);
	if (name) { /* the first word of the name on the card */
		name[strcspn(name, " \t")] = 0;
		w->first_name = name;
	}
	w->email = val_dup(&r, cols[1]);
	w->phone = val_dup(&r, cols[2]);
	if (w->email && !validate_mail_address(w->email)) {
		sodium_memzero(w->email, strlen(w->email));
		free(w->email);
		w->email = NULL; /* two addresses in one field, a typo: not an address to send to */
	}
	w->lang = cols[3] >= 0 && !r.v[cols[3]].null && r.v[cols[3]].s ? templates_lang(r.v[cols[3]].s) : -1;
	if (birthday)
		w->birthday = val_dup(&r, cols[4]);
	snprintf(w->org, sizeof w->org, "%s", r.org);
	kt_row_free(&r);
	return KT_OK;
}

int msg_lang(const msg_who *w, const msg_place *p)
{
	return w && w->lang >= 0 ? w->lang : p->org_lang >= 0 ? p->org_lang : 0;
}

/* The channel of a service message (or one governed by a consent that is
 * not a channel's): e-mail when the client has one, else SMS when a
 * gateway is configured, else none (NULL). */
const char *msg_channel(const msg_who *w)
{
	if (w->email)
		return "email";
	if (w->phone && cfg_sms)
		return "sms";
	return NULL;
}

/* ---- planning one message ---- */

int msg_plan(kt_store *st, const msg_plan_args *a, bool *inserted)
{
	char *subject = NULL, *body = NULL, *rs = NULL, *rb = NULL, *headers = NULL;
	char base[1100], unsub[1200], link[1200], tok[KT_LINK_TOKEN_LEN + 1];
	kt_tpl_vars v = a->vars;
	bool sms = !strcmp(a->channel, "sms"), marketing = a->consent_purpose != NULL;
	int lang = a->lang, rc;
	int64_t now = kt_now_ms();

	if (inserted)
		*inserted = false;
	/* a key planned before (a replay, a second process): no link is issued for nothing */
	if (outbox_planned(st, a->idem_key))
		return KT_OK;
	msg_base_url(st, base, sizeof base);
	if (a->link_kind) {
		if ((rc = links_issue(st, a->link_kind, a->org, a->client, a->link_target, a->link_expires, tok)) ||
		    (rc = links_url(base, tok, link, sizeof link)))
			goto out;
		sodium_memzero(tok, sizeof tok);
		v.v[a->link_var] = link;
	}
	if (marketing) {
		if ((rc = links_issue(st, KT_LINK_UNSUBSCRIBE, a->org, a->client, a->consent_purpose,
				      now + 365 * DAY_MS, tok)) ||
		    (rc = links_url(base, tok, unsub, sizeof unsub)))
			goto out;
		sodium_memzero(tok, sizeof tok);
		v.v[KT_TV_UNSUBSCRIBE_LINK] = unsub;
		if (!sms && asprintf(&headers, "List-Unsubscribe: <%s>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click",
				     unsub) < 0) {
			headers = NULL;
			rc = KT_ENOMEM;
			goto out;
		}
	}
	/* a campaign's own text; what it leaves out (its subject) is the template's */
	rc = templates_get(st, a->org, a->kind, lang, sms, &subject, &body);
	if (!rc && a->subject && *a->subject) {
		free(subject);
		rc = (subject = strdup(a->subject)) ? KT_OK : KT_ENOMEM;
	}
	if (!rc && a->body) {
		free(body);
		rc = (body = strdup(a->body)) ? KT_OK : KT_ENOMEM;
	}
	if (rc || (rc = templates_render(subject, &v, lang, sms, false, &rs)) ||
	    (rc = templates_render(body, &v, lang, sms, marketing, &rb)))
		goto out;
	kt_plan_msg m = {a->org,		   a->client,	     templates_kind_name(a->kind),
			 a->channel,		   a->idem_key,	     a->appointment,
			 a->visit,		   a->location,	     a->consent_purpose,
			 sms ? a->phone : a->email, sms ? "" : rs, rb, headers, a->due};
	rc = outbox_plan(st, &m, inserted);
out:
	sodium_memzero(link, sizeof link);
	sodium_memzero(unsub, sizeof unsub);
	if (rb)
		sodium_memzero(rb, strlen(rb));
	free(subject);
	free(body);
	free(rs);
	free(rb);
	free(headers);
	return rc;
}

/* ---- appointments ---- */

typedef struct appt {
	char id[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], location[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1];
	char status[16], specialist[256], services[1024];
	char specialist_id[KT_UUID_LEN + 1], service_ids[1024];
	int64_t start_at, version;
} appt;

static int appt_load(kt_store *st, const char *id, appt *a)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id, location_id, client_id, status, coalesce(specialist_name, ''), "
					    "coalesce((SELECT group_concat(value, ', ') FROM json_each(CASE WHEN "
					    "json_valid(service_names) THEN service_names ELSE '[]' END)), ''), start_at, "
					    "version FROM appointment WHERE id = ?1");
	int rc;
	memset(a, 0, sizeof *a);
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(a->id, sizeof a->id, "%s", id);
		text_col(q, 0, a->org, sizeof a->org);
		text_col(q, 1, a->location, sizeof a->location);
		text_col(q, 2, a->client, sizeof a->client);
		text_col(q, 3, a->status, sizeof a->status);
		text_col(q, 4, a->specialist, sizeof a->specialist);
		text_col(q, 5, a->services, sizeof a->services);
		a->start_at = sqlite3_column_int64(q, 6);
		a->version = sqlite3_column_int64(q, 7);
		text_col(q, 8, a->specialist_id, sizeof a->specialist_id);
		text_col(q, 9, a->service_ids, sizeof a->service_ids);
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	return rc;
}

static bool active(const char *status)
{
	return !strcmp(status, "booked") || !strcmp(status, "confirmed");
}

/* The placeholders of an appointment or visit message. date and time are
 * the caller's buffers. */
void msg_vars(kt_tpl_vars *v, const msg_who *w, const msg_place *p, const char *date, const char *time,
	      const char *services, const char *specialist)
{
	memset(v, 0, sizeof *v);
	v->v[KT_TV_FIRST_NAME] = w && w->first_name ? w->first_name : "";
	v->v[KT_TV_SALON] = p->salon;
	v->v[KT_TV_BRANCH] = p->branch;
	v->v[KT_TV_ADDRESS] = p->address;
	v->v[KT_TV_PHONE] = p->phone;
	v->v[KT_TV_DATE] = date;
	v->v[KT_TV_TIME] = time;
	v->v[KT_TV_ZONE] = p->zone;
	v->v[KT_TV_SERVICES] = services;
	v->v[KT_TV_SPECIALIST] = specialist;
}

typedef struct appt_run {
	kt_store *st;
	const appt *a;
	msg_who who;
	msg_place place;
	kt_msg_settings set;
	const char *channel;
	int lang;
	char date[128], time[64];
	int64_t now;
} appt_run;

static int plan_appt_kind(appt_run *r, int kind, const char *key, int64_t due, bool with_link, bool *inserted)
{
	msg_plan_args a;
	memset(&a, 0, sizeof a);
	a.org = r->a->org;
	a.client = r->a->client;
	a.kind = kind;
	a.channel = r->channel;
	a.idem_key = key;
	a.appointment = r->a->id;
	a.location = r->a->location;
	a.email = r->who.email;
	a.phone = r->who.phone;
	a.lang = r->lang;
	a.due = due;
	msg_vars(&a.vars, &r->who, &r->place, r->date, r->time, r->a->services, r->a->specialist);
	if (with_link) { /* "I'll be there": good until the appointment starts */
		a.link_kind = KT_LINK_CONFIRM;
		a.link_target = r->a->id;
		a.link_expires = r->a->start_at;
		a.link_var = KT_TV_CONFIRM_LINK;
	}
	return msg_plan(r->st, &a, inserted);
}

/* Reminders at start - lead for each lead set, unless the booking is
 * already inside that lead (it got its confirmation: no reminder). */
static int plan_reminders(appt_run *r)
{
	static const int kinds[2] = {KT_MSG_REMINDER, KT_MSG_REMINDER2};
	int leads[2] = {r->set.reminder1_min, r->set.reminder2_min}, rc;
	char key[128];
	for (int i = 0; i < 2; i++) {
		int64_t due = r->a->start_at - (int64_t)leads[i] * 60000;
		if (leads[i] <= 0 || due <= r->now)
			continue;
		snprintf(key, sizeof key, "%s:%s:%lld", templates_kind_name(kinds[i]), r->a->id, (long long)r->a->start_at);
		if ((rc = plan_appt_kind(r, kinds[i], key, due, true, NULL)))
			return rc;
	}
	return KT_OK;
}

/* Was field (a key of the before image) changed to something else? */
static bool changed(json_t *before, const char *field, const char *now_text, int64_t now_int, bool is_int)
{
	json_t *v = before ? json_object_get(before, field) : NULL;
	if (!v)
		return false;
	if (is_int)
		return !json_is_integer(v) || json_integer_value(v) != now_int;
	return !json_is_string(v) || strcmp(json_string_value(v), now_text ? now_text : "") != 0;
}

static int appt_written(kt_store *st, const char *id, bool created, const char *before_text)
{
	appt a;
	appt_run r;
	json_t *before = NULL;
	char key[128];
	int rc;

	/* An update is planned for only when its before image names one of
	 * these five (else was_active == is_active and nothing moved: the
	 * "nothing to say" case below). A key is in the compact JSON as its
	 * quoted name, so a text without any of them cannot hold one: a
	 * note edit (most pushes) costs no row read. */
	if (!created && (!before_text || (!strstr(before_text, "\"status\"") && !strstr(before_text, "\"start_at\"") &&
					  !strstr(before_text, "\"location_id\"") &&
					  !strstr(before_text, "\"services\"") &&
					  !strstr(before_text, "\"specialist_id\""))))
		return KT_OK;
	if ((rc = appt_load(st, id, &a)))
		return rc == KT_ENOT_FOUND ? KT_OK : rc;
	memset(&r, 0, sizeof r);
	r.st = st;
	r.a = &a;
	r.now = kt_now_ms();
	if (!created && before_text)
		before = json_loads(before_text, 0, NULL);
	const char *old_status = before && json_is_string(json_object_get(before, "status"))
					 ? json_string_value(json_object_get(before, "status"))
					 : NULL;
	bool is_active = active(a.status), was_active = old_status ? active(old_status) : is_active;
	/* a device may send every field with each edit: what counts is a value that differs */
	bool moved = changed(before, "start_at", NULL, a.start_at, true);
	bool other = changed(before, "location_id", a.location, 0, false) ||
		     changed(before, "services", a.service_ids, 0, false) ||
		     changed(before, "specialist_id", a.specialist_id, 0, false);

	if (!created && was_active && !is_active) {
		/* cancelled, a no-show or done: nothing queued about it goes out */
		bool cancel = !strcmp(a.status, "cancelled");
		int unsent = 0;
		rc = outbox_drop_appointment(st, a.id, cancel ? "reminder,reminder2,change" : "reminder,reminder2",
					     cancel ? "cancelled" : !strcmp(a.status, "done") ? "past" : "cancelled", NULL);
		if (!rc && cancel)
			rc = outbox_drop_appointment(st, a.id, "confirmation", "cancelled", &unsent);
		/* a booking whose confirmation never went out: nothing to take back */
		if (rc || !cancel || unsent || a.start_at <= r.now)
			goto out;
	} else if (!is_active || a.start_at <= r.now ||
		   (!created && was_active && !moved && !other)) {
		goto out; /* confirmed, a note edited, the past: nothing to say */
	}
	if ((rc = msg_who_load(st, a.client, false, &r.who)) || (rc = msg_place_load(st, a.org, a.location, &r.place)) ||
	    (rc = messages_settings_get(st, a.org, &r.set)))
		goto out;
	if (!(r.channel = msg_channel(&r.who)))
		goto out; /* no address to write to */
	r.lang = msg_lang(&r.who, &r.place);
	if (templates_when(r.place.zone, r.lang, r.place.country, a.start_at, r.date, sizeof r.date, r.time,
			   sizeof r.time))
		snprintf(r.date, sizeof r.date, "?");

	if (created) {
		snprintf(key, sizeof key, "confirmation:%s", a.id);
		if (!(rc = plan_appt_kind(&r, KT_MSG_CONFIRMATION, key, r.now, false, NULL)))
			rc = plan_reminders(&r);
	} else if (!is_active) {
		snprintf(key, sizeof key, "cancellation:%s", a.id);
		rc = plan_appt_kind(&r, KT_MSG_CANCELLATION, key, r.now, false, NULL);
	} else {
		/* moved, another specialist, services or branch, or booked again:
		 * queued reminders say the old; a confirmation not yet sent is
		 * written again, else a change notice goes */
		int n = 0, unsaid = 0;
		/* booked again before its cancellation notice went out: that
		 * notice must not follow the booking */
		if (!was_active && (rc = outbox_drop_appointment(st, a.id, "cancellation", "rebooked", &unsaid)))
			goto out;
		if ((rc = outbox_drop_appointment(st, a.id, "reminder,reminder2,change", "moved", NULL)) ||
		    (rc = outbox_drop_appointment(st, a.id, "confirmation", "moved", &n)) || (rc = plan_reminders(&r)))
			goto out;
		/* the client never heard it was cancelled, and nothing else changed:
		 * their confirmation still holds */
		if (unsaid && !n && !moved && !other)
			goto out;
		if (n)
			snprintf(key, sizeof key, "confirmation:%s", a.id);
		else
			snprintf(key, sizeof key, "change:%s:%lld", a.id, (long long)a.version);
		rc = plan_appt_kind(&r, n ? KT_MSG_CONFIRMATION : KT_MSG_CHANGE, key, r.now, false, NULL);
	}
out:
	json_decref(before);
	msg_who_free(&r.who);
	return rc;
}

/* ---- visits: a review request and a survey ---- */

typedef struct visit {
	char id[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], location[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1];
	char date[11], specialist[256], services[1024];
} visit;

static int visit_load(kt_store *st, const char *id, visit *v)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id, location_id, client_id, visit_date, "
					    "coalesce(specialist_name, ''), coalesce((SELECT group_concat(value, ', ') "
					    "FROM json_each(CASE WHEN json_valid(service_names) THEN service_names ELSE "
					    "'[]' END)), '') FROM visit WHERE id = ?1");
	int rc;
	memset(v, 0, sizeof *v);
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(v->id, sizeof v->id, "%s", id);
		text_col(q, 0, v->org, sizeof v->org);
		text_col(q, 1, v->location, sizeof v->location);
		text_col(q, 2, v->client, sizeof v->client);
		text_col(q, 3, v->date, sizeof v->date);
		text_col(q, 4, v->specialist, sizeof v->specialist);
		text_col(q, 5, v->services, sizeof v->services);
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* The visit's date in the client's words: noon of that day, local. */
void msg_day_text(const msg_place *p, int lang, const char *day, char *out, size_t cap)
{
	int y, m, d;
	int64_t ms;
	char t[64];
	snprintf(out, cap, "%s", day);
	if (sscanf(day, "%4d-%2d-%2d", &y, &m, &d) != 3 || kt_time_from_local(p->zone, y, m, d, 12, 0, &ms))
		return;
	if (templates_when(p->zone, lang, p->country, ms, out, cap, t, sizeof t))
		snprintf(out, cap, "%s", day);
}

static int visit_written(kt_store *st, const char *id)
{
	static const struct {
		const char *name;
		size_t off;
	} surveys[] = {{"nps", offsetof(kt_msg_settings, nps_every_days)},
		       {"csat", offsetof(kt_msg_settings, csat_every_days)},
		       {"ces", offsetof(kt_msg_settings, ces_every_days)}};
	visit v;
	msg_who who = {0};
	msg_place place;
	kt_msg_settings set;
	msg_plan_args a;
	char date[128], key[128], target[64], prefix[32];
	int64_t now = kt_now_ms();
	int rc;

	if ((rc = visit_load(st, id, &v)))
		return rc == KT_ENOT_FOUND ? KT_OK : rc;
	if ((rc = messages_settings_get(st, v.org, &set)))
		return rc;
	bool review = set.review_request_days > 0;
	bool any_survey = set.nps_every_days > 0 || set.csat_every_days > 0 || set.ces_every_days > 0;
	/* review requests are marketing when the owner says so; surveys are
	 * always asked under the review_requests consent */
	if ((review && set.review_request_marketing) || !review)
		review = review && consent_allows(st, v.client, "review_requests");
	any_survey = any_survey && consent_allows(st, v.client, "review_requests");
	if (!review && !any_survey)
		return KT_OK;
	if ((rc = msg_who_load(st, v.client, false, &who)) || (rc = msg_place_load(st, v.org, v.location, &place)))
		goto out;
	memset(&a, 0, sizeof a);
	if (!(a.channel = msg_channel(&who)))
		goto out;
	a.org = v.org;
	a.client = v.client;
	a.visit = v.id;
	a.location = v.location;
	a.email = who.email;
	a.phone = who.phone;
	a.lang = msg_lang(&who, &place);
	msg_day_text(&place, a.lang, v.date, date, sizeof date);
	msg_vars(&a.vars, &who, &place, date, "", v.services, v.specialist);
	if (review) {
		snprintf(key, sizeof key, "review_request:%s", v.id);
		a.kind = KT_MSG_REVIEW_REQUEST;
		a.idem_key = key;
		a.consent_purpose = set.review_request_marketing ? "review_requests" : NULL;
		a.due = now + (int64_t)set.review_request_days * DAY_MS;
		a.link_kind = KT_LINK_REVIEW;
		a.link_target = v.id;
		a.link_expires = a.due + 30 * DAY_MS;
		a.link_var = KT_TV_REVIEW_LINK;
		if ((rc = msg_plan(st, &a, NULL)))
			goto out;
	}
	/* one survey per visit at most: the first whose rate allows it */
	for (size_t i = 0; any_survey && i < sizeof surveys / sizeof surveys[0]; i++) {
		int every = *(const int *)((const char *)&set + surveys[i].off);
		if (every <= 0)
			continue;
		snprintf(prefix, sizeof prefix, "survey:%s:", surveys[i].name);
		if (outbox_recent(st, v.client, prefix, now - (int64_t)every * DAY_MS))
			continue;
		snprintf(key, sizeof key, "survey:%s:%s", surveys[i].name, v.id);
		snprintf(target, sizeof target, "%s:%s", v.id, surveys[i].name);
		a.kind = KT_MSG_SURVEY;
		a.idem_key = key;
		a.consent_purpose = "review_requests";
		a.due = now + (int64_t)set.survey_delay_min * 60000;
		a.link_kind = KT_LINK_SURVEY;
		a.link_target = target;
		a.link_expires = a.due + 30 * DAY_MS;
		a.link_var = KT_TV_SURVEY_LINK;
		rc = msg_plan(st, &a, NULL);
		break;
	}
out:
	msg_who_free(&who);
	return rc;
}

int messages_on_row_written(kt_store *st, const kt_table *t, const char *id, bool created, const char *before)
{
	int rc = KT_OK;
	if (!strcmp(t->name, "appointment"))
		rc = appt_written(st, id, created, before);
	else if (created && !strcmp(t->name, "visit"))
		rc = visit_written(st, id);
	/* a database failure fails the write; anything else (a card without
	 * a usable address, a text that cannot be made) must not cost the
	 * salon its booking */
	if (rc && rc != KT_EIO && rc != KT_ENOMEM && rc != KT_EBUSY) {
		kt_log_code(KT_LOG_INFO, rc, "messages: %s %s: nothing planned (%s)", t->name,
			    created ? "created" : "updated", kt_strerror(rc));
		rc = KT_OK;
	}
	return rc;
}
