/* messages_ops.c - the planner's other entries (messages.h): changing its
 * settings (read in messages.c, which every plan needs), previews,
 * campaigns, the daily birthday pass and the list of unconfirmed
 * appointments reception calls. Calls messages.c, never the other way. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "domain/consent.h"
#include "domain/hourly.h"
#include "domain/links.h"
#include "domain/messages_internal.h"
#include "domain/outbox_plan.h"

#define DAY_MS (24LL * 3600 * 1000)

/* ---- settings ---- */

const char *const messages_setting_names[KT_MSG_SETTING_COUNT] = {
	"reminder1_min",   "reminder2_min",   "review_request_days", "review_request_marketing",
	"birthday",        "quiet_from",      "quiet_to",            "daily_cap",
	"csat_every_days", "nps_every_days",  "ces_every_days",      "survey_delay_min"};

/* "24h", "90m", "2d", "1440" (in unit_min minutes) into minutes. */
static bool parse_duration(const char *v, int unit_min, long long *min)
{
	char *end;
	long long n = strtoll(v, &end, 10);
	if (end == v || n < 0 || n > 10000000)
		return false;
	if (!*end)
		*min = n * unit_min;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		*min = n;
	else if (!strcmp(end, "h"))
		*min = n * 60;
	else if (!strcmp(end, "d"))
		*min = n * 1440;
	else if (!strcmp(end, "w"))
		*min = n * 10080;
	else
		return false;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes"))
		return *out = true, true;
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "no"))
		return *out = false, true;
	return false;
}

static bool parse_hhmm(const char *v)
{
	int h, m;
	char end;
	return strlen(v) == 5 && sscanf(v, "%2d:%2d%c", &h, &m, &end) == 2 && v[2] == ':' && h >= 0 && h <= 23 &&
	       m >= 0 && m <= 59;
}

int messages_settings_apply(kt_msg_settings *s, const char *key, const char *value, char *why, size_t cap)
{
	static const struct {
		const char *key;
		size_t off;
		int unit_min, max_units; /* unit: minutes (1) or days (1440); max in units */
		const char *rule;
	} nums[] = {
		{"reminder1_min", offsetof(kt_msg_settings, reminder1_min), 1, 20160,
		 "a lead time such as 24h, 90m or 2d (at most 14 days; 0 = no reminder)"},
		{"reminder2_min", offsetof(kt_msg_settings, reminder2_min), 1, 20160,
		 "a lead time such as 2h (at most 14 days; 0 = no second reminder)"},
		{"review_request_days", offsetof(kt_msg_settings, review_request_days), 1440, 60,
		 "days after the visit, 0 to 60 (0 = no review requests)"},
		{"csat_every_days", offsetof(kt_msg_settings, csat_every_days), 1440, 3650,
		 "days between two CSAT questions to one client, 0 to 3650 (0 = off)"},
		{"nps_every_days", offsetof(kt_msg_settings, nps_every_days), 1440, 3650,
		 "days between two NPS questions to one client, 0 to 3650 (0 = off)"},
		{"ces_every_days", offsetof(kt_msg_settings, ces_every_days), 1440, 3650,
		 "days between two CES questions to one client, 0 to 3650 (0 = off)"},
		{"survey_delay_min", offsetof(kt_msg_settings, survey_delay_min), 1, 43200,
		 "how long after the visit a survey goes, such as 2h (at most 30 days)"},
	};
	kt_msg_settings t = *s;
	bool b;
	if (!key || !value)
		return snprintf(why, cap, "a setting needs a name and a value"), KT_EINVALID;
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		long long min;
		if (strcmp(key, nums[i].key))
			continue;
		if (!parse_duration(value, nums[i].unit_min, &min) || min % nums[i].unit_min ||
		    min / nums[i].unit_min > nums[i].max_units)
			return snprintf(why, cap, "%s: %s", key, nums[i].rule), KT_EINVALID;
		*(int *)((char *)&t + nums[i].off) = (int)(min / nums[i].unit_min);
		goto ok;
	}
	if (!strcmp(key, "review_request_marketing") || !strcmp(key, "birthday")) {
		if (!parse_bool(value, &b))
			return snprintf(why, cap, "%s: on or off (true, false)", key), KT_EINVALID;
		if (key[0] == 'b')
			t.birthday = b;
		else
			t.review_request_marketing = b;
	} else if (!strcmp(key, "quiet_from") || !strcmp(key, "quiet_to")) {
		if (!parse_hhmm(value))
			return snprintf(why, cap, "%s: a local time HH:MM such as 21:00", key), KT_EINVALID;
		snprintf(key[6] == 'f' ? t.quiet_from : t.quiet_to, 6, "%s", value);
	} else if (!strcmp(key, "daily_cap")) {
		char *end;
		long n = strtol(value, &end, 10);
		if (end == value || *end || n < 1 || n > 50)
			return snprintf(why, cap, "daily_cap: messages per client per day, 1 to 50"), KT_EINVALID;
		t.daily_cap = (int)n;
	} else
		return snprintf(why, cap, "%.40s is not a setting; settings: reminder1_min, reminder2_min, "
					  "review_request_days, review_request_marketing, birthday, quiet_from, quiet_to, "
					  "daily_cap, csat_every_days, nps_every_days, ces_every_days, survey_delay_min",
				key),
		       KT_EINVALID;
ok:
	if (t.reminder2_min && t.reminder2_min >= t.reminder1_min && t.reminder1_min)
		return snprintf(why, cap, "reminder2_min: the second reminder comes after the first, so its lead "
					  "must be shorter than reminder1_min"),
		       KT_EINVALID;
	*s = t;
	return KT_OK;
}

int messages_settings_save(kt_store *st, const char *org, kt_msg_settings *s)
{
	sqlite3_stmt *q = store_prepare(st, "INSERT OR REPLACE INTO message_settings(org_id, reminder1_min, reminder2_min, "
					    "review_request_days, review_request_marketing, birthday, quiet_from, quiet_to, "
					    "daily_cap, csat_every_days, nps_every_days, ces_every_days, survey_delay_min, "
					    "updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
	int rc;
	if (!q)
		return KT_EIO;
	s->updated_at = kt_now_ms();
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, s->reminder1_min);
	sqlite3_bind_int(q, 3, s->reminder2_min);
	sqlite3_bind_int(q, 4, s->review_request_days);
	sqlite3_bind_int(q, 5, s->review_request_marketing);
	sqlite3_bind_int(q, 6, s->birthday);
	sqlite3_bind_text(q, 7, s->quiet_from, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, s->quiet_to, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 9, s->daily_cap);
	sqlite3_bind_int(q, 10, s->csat_every_days);
	sqlite3_bind_int(q, 11, s->nps_every_days);
	sqlite3_bind_int(q, 12, s->ces_every_days);
	sqlite3_bind_int(q, 13, s->survey_delay_min);
	sqlite3_bind_int64(q, 14, s->updated_at);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* ---- preview ---- */

static int preview_appt(kt_store *st, const char *org, const char *appointment, msg_place *p, msg_who *w,
			int64_t *start, char *services, size_t scap, char *specialist, size_t pcap)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT location_id, client_id, start_at, coalesce(specialist_name, ''), "
					    "coalesce((SELECT group_concat(value, ', ') FROM json_each(CASE WHEN "
					    "json_valid(service_names) THEN service_names ELSE '[]' END)), '') "
					    "FROM appointment WHERE id = ?1 AND org_id = ?2");
	char loc[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1];
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, appointment, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		store_finish(st, q);
		return rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	}
	snprintf(loc, sizeof loc, "%s", (const char *)sqlite3_column_text(q, 0));
	snprintf(client, sizeof client, "%s", (const char *)sqlite3_column_text(q, 1));
	*start = sqlite3_column_int64(q, 2);
	snprintf(specialist, pcap, "%s", (const char *)sqlite3_column_text(q, 3));
	snprintf(services, scap, "%s", (const char *)sqlite3_column_text(q, 4));
	store_finish(st, q);
	if ((rc = msg_place_load(st, org, loc, p)))
		return rc;
	return msg_who_load(st, client, false, w);
}

int messages_preview(kt_store *st, const char *org, int kind, const char *lang_code, bool sms, const char *appointment,
		     char **subject, char **body, char *why, size_t cap)
{
	msg_place p;
	msg_who w = {0};
	kt_tpl_vars v;
	char services[1024] = "Haircut, Colour", specialist[256] = "Nina", date[128], time[64], *s = NULL, *b = NULL;
	char base[1100], links[5][1200];
	int64_t start = kt_now_ms() + 3 * DAY_MS;
	int lang = -1, rc;

	*subject = *body = NULL;
	if (kind < 0 || kind >= KT_MSG_KIND_COUNT)
		return snprintf(why, cap, "kind is one of " KT_MSG_KINDS), KT_EINVALID;
	if (lang_code && *lang_code && (lang = templates_lang(lang_code)) < 0)
		return snprintf(why, cap, "lang is one of " KT_MSG_LANGS), KT_EINVALID;
	if (appointment) {
		rc = preview_appt(st, org, appointment, &p, &w, &start, services, sizeof services, specialist,
				  sizeof specialist);
		if (rc == KT_ENOT_FOUND) {
			msg_who_free(&w);
			return snprintf(why, cap, "appointment: no such appointment in your organisation"), rc;
		}
	} else {
		rc = msg_place_load(st, org, NULL, &p);
		if (!rc && !p.branch[0]) { /* the first branch, for an example that reads true */
			sqlite3_stmt *q = store_prepare(st, "SELECT id FROM location WHERE org_id = ?1 ORDER BY rowid LIMIT 1");
			char loc[KT_UUID_LEN + 1] = "";
			if (q) {
				sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
				if (sqlite3_step(q) == SQLITE_ROW)
					snprintf(loc, sizeof loc, "%s", (const char *)sqlite3_column_text(q, 0));
				store_finish(st, q);
			}
			if (loc[0])
				rc = msg_place_load(st, org, loc, &p);
		}
		w.first_name = strdup("Ana");
		w.lang = -1;
	}
	if (rc) {
		msg_who_free(&w);
		return snprintf(why, cap, "the database cannot be read"), rc;
	}
	if (lang < 0)
		lang = msg_lang(&w, &p);
	if (!appointment) { /* three days ahead at half past two: a time that reads like one */
		kt_local l;
		if (!kt_time_to_local(p.zone, start, &l))
			(void)kt_time_from_local(p.zone, l.year, l.month, l.day, 14, 30, &start);
	}
	if (templates_when(p.zone, lang, p.country, start, date, sizeof date, time, sizeof time))
		snprintf(date, sizeof date, "?");
	msg_vars(&v, &w, &p, date, time, services, specialist);
	msg_base_url(st, base, sizeof base);
	/* example links: a preview issues nothing */
	for (int i = 0; i < 5; i++) {
		if (links_url(base, "EXAMPLE-LINK-NOT-ACTIVE", links[i], sizeof links[i]))
			links[i][0] = 0;
		v.v[KT_TV_CONFIRM_LINK + i] = links[i];
	}
	rc = templates_get(st, org, kind, lang, sms, &s, &b);
	if (!rc && !(rc = templates_render(s, &v, lang, sms, false, subject)))
		rc = templates_render(b, &v, lang, sms, templates_kind_marketing(kind, true), body);
	free(s);
	free(b);
	msg_who_free(&w);
	if (rc) {
		free(*subject);
		*subject = NULL;
		snprintf(why, cap, "out of memory");
	}
	return rc;
}

/* ---- campaigns ---- */

/* The latest entry of (client, purpose): granted and imported (no proof)? */
static int consent_state(kt_store *st, const char *client, const char *purpose, bool *granted, bool *imported)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT granted, source FROM consent WHERE client_id = ?1 AND purpose = ?2 "
					    "ORDER BY at DESC, granted ASC, id DESC LIMIT 1");
	int rc;
	*granted = *imported = false;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*granted = sqlite3_column_int(q, 0) != 0;
		*imported = !strcmp((const char *)sqlite3_column_text(q, 1), "import");
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

static bool valid_day(const char *d)
{
	int y, m, dd;
	return d && strlen(d) == 10 && sscanf(d, "%4d-%2d-%2d", &y, &m, &dd) == 3 && d[4] == '-' && d[7] == '-' &&
	       m >= 1 && m <= 12 && dd >= 1 && dd <= 31;
}

int messages_campaign(kt_store *st, const char *org, const kt_campaign *c, char id[KT_UUID_LEN + 1], int *planned,
		      char *why, size_t cap)
{
	static const char *const purposes[2] = {"marketing_email", "marketing_sms"};
	sqlite3_stmt *q = NULL;
	msg_place p;
	char key[160];
	int rc, n = 0;
	bool own = c->body && *c->body;
	int64_t now = kt_now_ms();

	*planned = 0;
	if (c->kind != KT_MSG_CAMPAIGN && c->kind != KT_MSG_RECONSENT)
		return snprintf(why, cap, "kind: campaign or reconsent"), KT_EINVALID;
	if (c->channel && strcmp(c->channel, "email") && strcmp(c->channel, "sms"))
		return snprintf(why, cap, "channel: email or sms (none: each the client consented to)"), KT_EINVALID;
	if (c->channel && !strcmp(c->channel, "sms") && !msg_sms_enabled())
		return snprintf(why, cap, "channel: no SMS gateway is configured (sms_url)"), KT_EINVALID;
	if (c->visited_since && !valid_day(c->visited_since))
		return snprintf(why, cap, "visited_since: a date YYYY-MM-DD"), KT_EINVALID;
	/* no subject: the template's (of each client's language) */
	if (own && (rc = templates_check(c->kind, false, c->subject && *c->subject ? c->subject : "-", c->body, why,
					 cap)))
		return rc;
	kt_uuid7(id);
	if ((rc = store_begin(st)))
		return snprintf(why, cap, "the database is busy; try again"), rc;
	if ((rc = msg_place_load(st, org, c->location, &p))) {
		snprintf(why, cap, "no such organisation");
		goto out;
	}
	if (c->location && !p.branch[0]) {
		rc = KT_EINVALID;
		snprintf(why, cap, "location: no such branch in your organisation");
		goto out;
	}
	q = store_prepare(st, "SELECT c.id FROM client c WHERE c.org_id = ?1 AND (?2 IS NULL OR EXISTS(SELECT 1 FROM "
			      "client_location cl WHERE cl.client_id = c.id AND cl.location_id = ?2)) AND (?3 IS NULL OR "
			      "EXISTS(SELECT 1 FROM visit v WHERE v.client_id = c.id AND v.visit_date >= ?3)) ORDER BY c.id");
	if (!q) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (c->location)
		sqlite3_bind_text(q, 2, c->location, -1, SQLITE_STATIC);
	if (c->visited_since)
		sqlite3_bind_text(q, 3, c->visited_since, -1, SQLITE_STATIC);
	/* the ids first: planning writes while the list is read */
	char (*ids)[KT_UUID_LEN + 1] = NULL;
	size_t nids = 0, capids = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (nids == capids) {
			void *g = realloc(ids, (capids = capids ? capids * 2 : 256) * sizeof *ids);
			if (!g) {
				rc = KT_ENOMEM;
				break;
			}
			ids = g;
		}
		snprintf(ids[nids++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	}
	store_finish(st, q);
	rc = rc == SQLITE_DONE ? KT_OK : rc == KT_ENOMEM ? rc : KT_EIO;
	for (size_t i = 0; !rc && i < nids; i++) {
		msg_who w;
		if ((rc = msg_who_load(st, ids[i], false, &w))) {
			rc = rc == KT_ENOT_FOUND ? KT_OK : rc;
			continue;
		}
		for (int ch = 0; !rc && ch < 2; ch++) {
			bool granted, imported, ins = false;
			const char *channel = ch ? "sms" : "email", *to = ch ? w.phone : w.email;
			if ((c->channel && strcmp(c->channel, channel)) || !to || (ch && !msg_sms_enabled()))
				continue;
			if ((rc = consent_state(st, ids[i], purposes[ch], &granted, &imported)))
				break;
			if (!granted || (c->kind == KT_MSG_RECONSENT && !imported))
				continue;
			snprintf(key, sizeof key, "%s:%s:%s%s", templates_kind_name(c->kind), id, ids[i], ch ? ":sms" : "");
			msg_plan_args a;
			memset(&a, 0, sizeof a);
			a.org = org;
			a.client = ids[i];
			a.kind = c->kind;
			a.channel = channel;
			a.idem_key = key;
			a.location = c->location;
			a.consent_purpose = purposes[ch];
			a.email = w.email;
			a.phone = w.phone;
			a.lang = msg_lang(&w, &p);
			a.due = now;
			msg_vars(&a.vars, &w, &p, "", "", "", "");
			if (c->kind == KT_MSG_RECONSENT) {
				a.link_kind = KT_LINK_RECONSENT;
				a.link_target = purposes[ch];
				a.link_expires = now + 30 * DAY_MS;
				a.link_var = KT_TV_RECONSENT_LINK;
			}
			if (own) {
				a.subject = ch ? "" : c->subject;
				a.body = c->body;
			}
			if (!(rc = msg_plan(st, &a, &ins)) && ins)
				n++;
		}
		msg_who_free(&w);
	}
	free(ids);
	if (rc)
		snprintf(why, cap, "the campaign could not be planned (%s)", kt_strerror(rc));
out:
	if (rc) {
		store_rollback(st);
		return rc;
	}
	if ((rc = store_commit(st)))
		return snprintf(why, cap, "the campaign could not be saved"), rc;
	*planned = n;
	return KT_OK;
}

/* ---- the daily pass: birthdays ---- */

static int plan_birthdays(kt_store *st, const char *org, int64_t now, int *planned)
{
	msg_place p;
	kt_msg_settings set;
	kt_local today;
	sqlite3_stmt *q;
	char key[128], mmdd[6];
	int rc;
	if ((rc = messages_settings_get(st, org, &set)) || !set.birthday)
		return rc;
	if ((rc = msg_place_load(st, org, NULL, &p)) || kt_time_to_local(p.zone, now, &today))
		return rc;
	snprintf(mmdd, sizeof mmdd, "%02d-%02d", today.month, today.day);
	bool leap = (today.year % 4 == 0 && today.year % 100) || today.year % 400 == 0;
	/* greetings go at 10:00 local, or now when the pass runs later */
	int64_t due = now;
	int64_t ten;
	if (!kt_time_from_local(p.zone, today.year, today.month, today.day, 10, 0, &ten) && ten > now)
		due = ten;
	if (!(q = store_prepare(st, "SELECT id FROM client WHERE org_id = ?1 AND birthday IS NOT NULL ORDER BY id")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	char (*ids)[KT_UUID_LEN + 1] = NULL;
	size_t nids = 0, capids = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (nids == capids) {
			void *g = realloc(ids, (capids = capids ? capids * 2 : 256) * sizeof *ids);
			if (!g) {
				rc = KT_ENOMEM;
				break;
			}
			ids = g;
		}
		snprintf(ids[nids++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	}
	store_finish(st, q);
	rc = rc == SQLITE_DONE ? KT_OK : rc == KT_ENOMEM ? rc : KT_EIO;
	for (size_t i = 0; !rc && i < nids; i++) {
		msg_who w;
		const char *channel;
		bool ins = false;
		snprintf(key, sizeof key, "birthday:%s:%04d", ids[i], today.year);
		if (outbox_planned(st, key))
			continue;
		if ((rc = msg_who_load(st, ids[i], true, &w))) {
			rc = rc == KT_ENOT_FOUND ? KT_OK : rc;
			continue;
		}
		/* the 29th of February is greeted on the 28th in other years */
		bool today_is = w.birthday && strlen(w.birthday) == 10 &&
				(!strcmp(w.birthday + 5, mmdd) ||
				 (!leap && !strcmp(w.birthday + 5, "02-29") && !strcmp(mmdd, "02-28")));
		if (today_is && (channel = msg_channel(&w)) && consent_allows(st, ids[i], "birthday_greetings")) {
			msg_plan_args a;
			memset(&a, 0, sizeof a);
			a.org = org;
			a.client = ids[i];
			a.kind = KT_MSG_BIRTHDAY;
			a.channel = channel;
			a.idem_key = key;
			a.consent_purpose = "birthday_greetings";
			a.email = w.email;
			a.phone = w.phone;
			a.lang = msg_lang(&w, &p);
			a.due = due;
			msg_vars(&a.vars, &w, &p, "", "", "", "");
			if (!(rc = msg_plan(st, &a, &ins)) && ins)
				(*planned)++;
		}
		msg_who_free(&w);
	}
	free(ids);
	return rc;
}

int messages_plan_daily(kt_store *st, int64_t now, int *planned)
{
	sqlite3_stmt *q;
	char (*orgs)[KT_UUID_LEN + 1] = NULL;
	int rc, n = 0, norgs = 0;
	if (planned)
		*planned = 0;
	if ((rc = store_begin(st)))
		return rc;
	if (!(q = store_prepare(st, "SELECT id FROM organisation ORDER BY id"))) {
		store_rollback(st);
		return KT_EIO;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		void *g = realloc(orgs, (size_t)(norgs + 1) * sizeof *orgs);
		if (!g) {
			rc = KT_ENOMEM;
			break;
		}
		orgs = g;
		snprintf(orgs[norgs++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	}
	store_finish(st, q);
	rc = rc == SQLITE_DONE ? KT_OK : rc == KT_ENOMEM ? rc : KT_EIO;
	for (int i = 0; !rc && i < norgs; i++)
		rc = plan_birthdays(st, orgs[i], now, &n);
	free(orgs);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	if ((rc = store_commit(st)))
		return rc;
	if (planned)
		*planned = n;
	return KT_OK;
}

static void daily_pass(kt_store *st)
{
	int n = 0;
	if (messages_plan_daily(st, kt_now_ms(), &n))
		kt_info("messages: the daily pass failed; it runs again in an hour");
	else if (n)
		kt_info("messages: %d birthday greeting(s) planned", n);
}

int messages_daily_start(const char *db_path, kt_daily **out)
{
	return hourly_start(db_path, "kt-daily", daily_pass, out);
}

void messages_daily_stop(kt_daily *d)
{
	hourly_stop(d);
}

/* ---- reception's list: booked, nobody confirmed ---- */

void messages_tomorrow(kt_store *st, const char *location, int64_t now, char day[11])
{
	msg_place p;
	kt_local l;
	char org[KT_UUID_LEN + 1] = "";
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id FROM location WHERE id = ?1");
	if (q) {
		sqlite3_bind_text(q, 1, location, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			snprintf(org, sizeof org, "%s", (const char *)sqlite3_column_text(q, 0));
		store_finish(st, q);
	}
	if (msg_place_load(st, org, location, &p))
		snprintf(p.zone, sizeof p.zone, "UTC");
	/* noon tomorrow, so that a day of 23 or 25 hours still lands on it */
	if (kt_time_to_local(p.zone, now, &l) || kt_time_from_local(p.zone, l.year, l.month, l.day, 12, 0, &now) ||
	    kt_time_to_local(p.zone, now + DAY_MS, &l))
		kt_time_to_local("UTC", now + DAY_MS, &l);
	char buf[32];
	snprintf(buf, sizeof buf, "%04d-%02d-%02d", l.year, l.month, l.day);
	snprintf(day, 11, "%.10s", buf);
}

int messages_unconfirmed(kt_store *st, const char *location, const char *day, kt_unconfirmed_cb cb, void *user,
			 char *why, size_t cap)
{
	char zone[64] = "", state[16];
	int y, m, d, rc;
	int64_t from, to;
	sqlite3_stmt *q = store_prepare(st, "SELECT coalesce(time_zone, 'UTC') FROM location WHERE id = ?1");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, location, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(zone, sizeof zone, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	if (!zone[0])
		return snprintf(why, cap, "location: no such location"), KT_ENOT_FOUND;
	if (!valid_day(day) || sscanf(day, "%4d-%2d-%2d", &y, &m, &d) != 3 ||
	    kt_time_from_local(zone, y, m, d, 0, 0, &from) || kt_time_from_local(zone, y, m, d, 0, 0, &to))
		return snprintf(why, cap, "day: a local date YYYY-MM-DD"), KT_EINVALID;
	/* the next midnight: the day may have 23 or 25 hours */
	{
		kt_local l;
		if (kt_time_to_local(zone, from + 36 * 3600 * 1000LL, &l) ||
		    kt_time_from_local(zone, l.year, l.month, l.day, 0, 0, &to))
			to = from + DAY_MS;
	}
	if (!(q = store_prepare(st, "SELECT id, client_id, coalesce(specialist_name, ''), start_at FROM appointment "
				    "WHERE location_id = ?1 AND start_at >= ?2 AND start_at < ?3 AND status = 'booked' "
				    "ORDER BY start_at, id")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, location, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	/* rows first: opening cards uses the statement cache too */
	struct row {
		char id[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1], spec[256];
		int64_t start;
	} *rows = NULL;
	size_t n = 0, capr = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == capr) {
			void *g = realloc(rows, (capr = capr ? capr * 2 : 32) * sizeof *rows);
			if (!g) {
				rc = KT_ENOMEM;
				break;
			}
			rows = g;
		}
		snprintf(rows[n].id, sizeof rows[n].id, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(rows[n].client, sizeof rows[n].client, "%s", (const char *)sqlite3_column_text(q, 1));
		snprintf(rows[n].spec, sizeof rows[n].spec, "%s", (const char *)sqlite3_column_text(q, 2));
		rows[n].start = sqlite3_column_int64(q, 3);
		n++;
	}
	store_finish(st, q);
	rc = rc == SQLITE_DONE ? KT_OK : rc == KT_ENOMEM ? rc : KT_EIO;
	for (size_t i = 0; !rc && i < n; i++) {
		const kt_table *t = kt_table_find("client", 6);
		int cols[2] = {kt_col_index(t, "name"), kt_col_index(t, "phone")};
		kt_row r;
		bool loaded = store_row_load_some(st, t, rows[i].client, cols, 2, &r) == KT_OK;
		outbox_reminder_state(st, rows[i].id, state);
		kt_unconfirmed u = {rows[i].id,
				    rows[i].client,
				    loaded && !r.v[cols[0]].null ? r.v[cols[0]].s : "?",
				    loaded && !r.v[cols[1]].null ? r.v[cols[1]].s : "",
				    rows[i].spec,
				    state,
				    rows[i].start};
		rc = cb(user, &u);
		if (loaded)
			kt_row_free(&r);
	}
	free(rows);
	return rc;
}
