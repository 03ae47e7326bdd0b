/* consent.c - who may record which consent, and what a new state sets off.
 * Never changes or removes a consent row: history is append-only (a schema
 * trigger refuses UPDATE; only erasure deletes a client's rows). The rules
 * here are the row rules that policy.c's per-column write table cannot say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/consent.h"
#include "kt_limits.h"
#include "domain/outbox.h"
#include "domain/outbox_plan.h"
#include "domain/policy.h"

static const char *const purposes[] = {"marketing_email", "marketing_sms", "birthday_greetings",
				       "review_requests", "photo_use",     "health_data"};
static const char *const sources[] = {"in_salon", "portal", "email_link", "import", "link"};

/* 2000-01-01: anything earlier is a unit mistake (seconds for milliseconds) */
#define AT_MIN_MS 946684800000LL

static bool one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool consent_purpose_valid(const char *purpose)
{
	return one_of(purpose, purposes, sizeof purposes / sizeof purposes[0]);
}

bool consent_source_valid(const char *source)
{
	return one_of(source, sources, sizeof sources / sizeof sources[0]);
}

static int copy(char *dst, size_t cap, const char *src, const char *what, const char **why)
{
	if (strlen(src) >= cap) {
		*why = what;
		return KT_EINVALID;
	}
	memcpy(dst, src, strlen(src) + 1);
	return KT_OK;
}

int consent_from_fields(const kt_field *f, int n, kt_consent *c, const char **why)
{
	int rc = KT_OK;
	memset(c, 0, sizeof *c);
	c->granted = -1;
	for (int i = 0; i < n && !rc; i++) {
		const char *k = f[i].name, *v = f[i].text;
		if (!v)
			continue; /* nil: as if not given; consent_check says what is missing */
		if (!strcmp(k, "client_id"))
			rc = copy(c->client_id, sizeof c->client_id, v, "client_id is a client's id", why);
		else if (!strcmp(k, "purpose"))
			rc = copy(c->purpose, sizeof c->purpose, v, "purpose is one of " KT_CONSENT_PURPOSES, why);
		else if (!strcmp(k, "source"))
			rc = copy(c->source, sizeof c->source, v, "source is one of in_salon, portal, email_link, import, link", why);
		else if (!strcmp(k, "text_version")) {
			rc = copy(c->text_version, sizeof c->text_version, v,
				  "text_version is at most 64 bytes", why);
			c->text_version_given = true;
		} else if (!strcmp(k, "granted"))
			c->granted = !strcmp(v, "1") || !strcmp(v, "true");
		else if (!strcmp(k, "at"))
			c->at = atoll(v);
	}
	return rc;
}

/* Where may p record for this client (the scope of its consent action in
 * policy.c)? KT_OK, or why not. */
static int client_scope(kt_store *st, const kt_principal *p, kt_consent *c, char *why, size_t cap)
{
	const kt_table *ct = kt_table_find("client", 6);
	kt_row row;
	int rc;

	if (!kt_uuid_valid(c->client_id, strlen(c->client_id)))
		return snprintf(why, cap, "client_id is a client's id"), KT_EINVALID;
	/* the client's card is loaded through the store: its personal columns
	 * may be ciphertext; only org and routing are used here */
	rc = store_row_load(st, ct, c->client_id, &row);
	if (rc == KT_ENOT_FOUND || (!rc && p && strcmp(row.org, p->org) != 0)) {
		if (!rc)
			kt_row_free(&row);
		return snprintf(why, cap, "no such client"), KT_ENOT_FOUND;
	}
	if (rc)
		return rc;
	snprintf(c->org, sizeof c->org, "%s", row.org);
	kt_target whose = {c->client_id, KT_ROLE_CLIENT, row.locs};
	if (p && !policy_may_on(p, policy_consent_action(c->purpose), &whose))
		rc = KT_EDENIED, snprintf(why, cap, "this client is not known at your locations");
	kt_row_free(&row);
	return rc;
}

int consent_check(kt_store *st, const kt_principal *p, kt_consent *c, char *why, size_t cap)
{
	bool is_client = p && p->is_client;
	int64_t now = kt_now_ms();

	if (!c->purpose[0])
		return snprintf(why, cap, "a consent needs a purpose"), KT_EINVALID;
	if (!consent_purpose_valid(c->purpose))
		return snprintf(why, cap, "purpose is one of " KT_CONSENT_PURPOSES), KT_EINVALID;
	if (c->granted < 0)
		return snprintf(why, cap, "a consent needs granted: true (grant) or false (withdraw)"), KT_EINVALID;
	if (!c->source[0])
		snprintf(c->source, sizeof c->source, "%s", !p ? "in_salon" : is_client ? "portal" : "in_salon");
	if (!consent_source_valid(c->source))
		return snprintf(why, cap, "source is one of in_salon, portal, email_link, import, link"), KT_EINVALID;
	/* the source is part of the proof: a client's own device is the portal;
	 * staff record what was given in the salon; e-mail links are the
	 * server's (and the operator's) to record, and so are imported lists
	 * (source import, domain/import.c) and answers through a link in a
	 * message (source link, domain/link_actions.c) */
	if (is_client && strcmp(c->source, "portal") != 0)
		return snprintf(why, cap, "a client records consents with source portal"), KT_EDENIED;
	if (p && !is_client && strcmp(c->source, "in_salon") != 0)
		return snprintf(why, cap, "staff record consents with source in_salon (portal is the client's own)"),
		       KT_EDENIED;
	if (!p && !strcmp(c->source, "portal"))
		return snprintf(why, cap, "source portal is for the client's own portal"), KT_EDENIED;
	if (!c->text_version_given || !c->text_version[0])
		return snprintf(why, cap, "a consent needs the text_version of the consent text shown"), KT_EINVALID;
	for (const char *s = c->text_version; *s; s++)
		if ((unsigned char)*s < 0x20)
			return snprintf(why, cap, "text_version has control characters"), KT_EINVALID;
	if (!c->at)
		c->at = now;
	if (c->at < AT_MIN_MS)
		return snprintf(why, cap, "at is milliseconds since 1970 (after 2000)"), KT_EINVALID;
	if (c->at > now + KT_CONSENT_FUTURE_MS)
		return snprintf(why, cap, "at is in the future"), KT_EINVALID;
	if (is_client && strcmp(c->client_id, p->id) != 0)
		return snprintf(why, cap, "a client records consents only for themselves"), KT_EDENIED;
	if (p && !policy_may(p, policy_consent_action(c->purpose)))
		return snprintf(why, cap, "specialists record photo_use and health_data consents only"), KT_EDENIED;
	int rc = client_scope(st, p, c, why, cap);
	if (rc)
		return rc;
	snprintf(c->recorded_kind, sizeof c->recorded_kind, "%s", !p ? "operator" : is_client ? "client" : "staff");
	snprintf(c->recorded_by, sizeof c->recorded_by, "%s", p ? p->id : "");
	return KT_OK;
}

int consent_latest(kt_store *st, const char *client_id, const char *purpose, bool *granted,
		   char id[KT_UUID_LEN + 1])
{
	/* ties on `at`: a withdrawal wins (the safe reading), then the larger id */
	static const char sql[] = "SELECT id, granted FROM consent WHERE client_id = ?1 AND purpose = ?2 "
				  "ORDER BY at DESC, granted ASC, id DESC LIMIT 1";
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*granted = sqlite3_column_int(q, 1) != 0;
		if (id)
			snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	return rc;
}

bool consent_allows(kt_store *st, const char *client_id, const char *purpose)
{
	bool granted = false;
	if (!client_id || !consent_purpose_valid(purpose))
		return false;
	return consent_latest(st, client_id, purpose, &granted, NULL) == KT_OK && granted;
}

int consent_on_change(kt_store *st, const char *client_id, const char *purpose, bool granted)
{
	/* a withdrawal drops what is queued for this purpose, in this same
	 * transaction: messages a consent governs are queued under the
	 * consent's purpose name (setup links and appointment mails carry none
	 * and stay). A grant needs nothing. */
	int n = 0, rc;
	if (granted)
		return KT_OK;
	if ((rc = outbox_drop_client(st, client_id, purpose, &n)))
		return rc;
	/* planned messages (messages.c) name the consent they need apart from
	 * their kind: a campaign mail needs marketing_email */
	int m = 0;
	if ((rc = outbox_drop_consent(st, client_id, purpose, &m)))
		return rc;
	n += m;
	if (n)
		kt_info("consent withdrawn: %d queued message(s) dropped", n);
	return KT_OK;
}

int consent_record(kt_store *st, const char *id, const kt_consent *c, int64_t *version_out)
{
	char at[24], latest[KT_UUID_LEN + 1];
	bool now_granted;
	int rc;

	snprintf(at, sizeof at, "%lld", (long long)c->at);
	kt_field f[] = {
		{"client_id", c->client_id},
		{"purpose", c->purpose},
		{"granted", c->granted ? "1" : "0"},
		{"at", at},
		{"source", c->source},
		{"text_version", c->text_version},
		{"recorded_by", c->recorded_by[0] ? c->recorded_by : NULL},
		{"recorded_kind", c->recorded_kind},
	};
	if ((rc = store_insert(st, "consent", id, c->org, f, (int)(sizeof f / sizeof f[0]), version_out)))
		return rc;
	/* an entry that arrives late (made offline before the current state)
	 * is history, not the state: nothing to set off then */
	if ((rc = consent_latest(st, c->client_id, c->purpose, &now_granted, latest)))
		return rc == KT_ENOT_FOUND ? KT_EINTERNAL : KT_EIO;
	if (strcmp(latest, id) != 0)
		return KT_OK;
	rc = consent_on_change(st, c->client_id, c->purpose, now_granted);
	return rc == KT_OK || rc == KT_ENOMEM ? rc : KT_EIO; /* never a rejection: the row is written */
}

bool consent_unchanged(kt_store *st, const kt_consent *c, int64_t *version)
{
	char id[KT_UUID_LEN + 1];
	bool granted = false, same = false;
	kt_row row = {0};
	if (c->granted < 0 || consent_latest(st, c->client_id, c->purpose, &granted, id) != KT_OK ||
	    granted != (c->granted == 1))
		return false;
	/* through the store: text_version may be sealed at rest */
	if (store_row_load(st, kt_table_find("consent", 7), id, &row) == KT_OK) {
		int ti = kt_col_index(row.t, "text_version");
		same = ti >= 0 && !row.v[ti].null && row.v[ti].s && !strcmp(row.v[ti].s, c->text_version);
		*version = row.version;
		kt_row_free(&row);
	}
	return same;
}

int consent_client_budget(kt_store *st, const char *client_id, int64_t now, int64_t *retry_ms)
{
	/* the entries this client recorded itself within the window; the
	 * oldest of them frees its place when it leaves the window */
	sqlite3_stmt *q = store_prepare(st, "SELECT count(*), min(updated_at) FROM consent WHERE client_id = ?1 "
					    "AND recorded_kind = 'client' AND updated_at > ?2");
	int rc = KT_OK;
	*retry_ms = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now - KT_CLIENT_CONSENT_WINDOW_MS);
	if (sqlite3_step(q) != SQLITE_ROW)
		rc = KT_EIO;
	else if (sqlite3_column_int(q, 0) >= KT_CLIENT_CONSENTS) {
		*retry_ms = sqlite3_column_int64(q, 1) + KT_CLIENT_CONSENT_WINDOW_MS - now + 1;
		rc = KT_ERATE_LIMITED;
	}
	store_finish(st, q);
	return rc;
}
