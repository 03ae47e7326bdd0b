/* staff.c - see staff.h. The link's token is 32 random bytes that exist
 * only in the mail; setup_token keeps its keyed hash (portal.c owns that
 * table's SQL). Never logs tokens, passwords or addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "kt_mp.h"
#include "db/audit.h"
#include "domain/org.h"
#include "domain/outbox.h"
#include "domain/policy.h"
#include "domain/revoke.h"
#include "domain/staff.h"
#include "domain/resolve.h"
#include "kt_text.h"

static char *link_body(const char *base, kt_setup_kind kind, const char *name, const char *salon,
		       const char *role, const char *hex, const char *until)
{
	char *out = NULL;
	int n = kind == KT_SETUP_INVITE
			? asprintf(&out,
				   "Hello %s,\n\n%s has added you to Kartoteka as %s.\n\nChoose your password here:\n"
				   "%s/setup#token=%s\n\nThe link works once, until %s.\nIf you did not expect this e-mail, "
				   "you can ignore it.\n",
				   name, salon, role, base, hex, until)
			: asprintf(&out,
				   "Hello %s,\n\na new password was requested for your staff account at %s.\n\n"
				   "Choose it here:\n%s/setup#token=%s\n\nThe link works once, until %s. Your current "
				   "password works until then; once you choose a new one, every device signed in as "
				   "you is signed out.\n",
				   name, salon, base, hex, until);
	return n < 0 ? NULL : out;
}

/* In the caller's transaction: a new link for the staff member, older
 * ones replaced, the mail queued, audited. */
static int issue_in_tx(kt_store *st, const kt_portal_config *cfg, const uint8_t key[32], const char *org,
		       const char *id, const char *name, const char *email, const char *role, kt_setup_kind kind,
		       int64_t *expires)
{
	uint8_t tok[KT_SETUP_TOKEN_BYTES], th[32];
	char hex[2 * KT_SETUP_TOKEN_BYTES + 1], salon[256] = "your salon", after[64], *body;
	char base[sizeof cfg->portal_url];
	int64_t now = kt_now_ms(), exp = now + (int64_t)(cfg->setup_token_hours * 3600.0 * 1000.0);
	int rc = portal_base_url(st, cfg, base, sizeof base);
	if (rc)
		return rc;
	sqlite3_stmt *q = store_prepare(st, "SELECT name FROM organisation WHERE id = ?1");

	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(salon, sizeof salon, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	randombytes_buf(tok, sizeof tok);
	kt_hex(hex, tok, sizeof tok);
	crypto_generichash(th, sizeof th, tok, sizeof tok, key, 32);
	char until[80];
	resolve_time_text(st, org, exp, until, sizeof until);
	if (!(body = link_body(base, kind, name, salon, role, hex, until))) {
		rc = KT_ENOMEM;
		goto out;
	}
	if ((rc = portal_tokens_replace(st, id, KT_TOKEN_STAFF)) ||
	    (rc = portal_token_insert(st, th, id, org, now, exp, KT_TOKEN_STAFF)))
		goto out;
	/* staff mail is not sealed with a client's key (there is none); the
	 * body with the token is wiped once sent (outbox_mark_sent) */
	if ((rc = outbox_enqueue(st, org, NULL, kind == KT_SETUP_INVITE ? "staff_invite" : "staff_reset", email,
				 kind == KT_SETUP_INVITE ? "Kartoteka: choose your password"
							 : "Kartoteka: reset your password",
				 body, NULL)))
		goto out;
	snprintf(after, sizeof after, "{\"expires_at\":%lld}", (long long)exp);
	kt_audit_entry e = {org, kind == KT_SETUP_INVITE ? "staff_invite" : "staff_reset_link", "staff", id, NULL,
			    NULL, NULL, NULL, after};
	rc = audit_append(st, &e);
	if (!rc && expires)
		*expires = exp;
out:
	sodium_memzero(tok, sizeof tok);
	sodium_memzero(hex, sizeof hex);
	if (body) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
	return rc;
}

static bool role_valid(const char *r)
{
	return r && kt_role_from_name(r) >= 0 && kt_role_from_name(r) < KT_ROLE_CLIENT;
}

/* Each id of the comma list is a location of org, open unless keep (the
 * person's locations now, or NULL) has it already: keeping a closed one is
 * not adding it. *count (may be NULL) gets how many. */
static int check_locations(kt_store *st, const char *org, const char *list, const char *keep, int *count, char *err,
			   size_t errlen)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT closed_at IS NOT NULL FROM location WHERE id = ?1 AND org_id = ?2");
	int rc = KT_OK, n = 0;
	if (!q)
		return KT_EIO;
	for (const char *p = list; p && *p && !rc;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		char id[KT_UUID_LEN + 1];
		if (len != KT_UUID_LEN || !kt_uuid_valid(p, len)) {
			rc = kt_fail(err, errlen, KT_EINVALID, "locations: a list of location ids");
			break;
		}
		memcpy(id, p, len);
		id[len] = 0;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
		int s = sqlite3_step(q);
		if (s == SQLITE_DONE)
			rc = kt_fail(err, errlen, KT_ENOT_FOUND, "locations: no location %s in this organisation", id);
		else if (s != SQLITE_ROW)
			rc = KT_EIO;
		else if (sqlite3_column_int(q, 0) && !(keep && kt_locset_has(keep, id)))
			rc = kt_fail(err, errlen, KT_EINVALID, "locations: location %s is closed", id);
		n++;
		p = c ? c + 1 : NULL;
	}
	store_finish(st, q);
	if (count)
		*count = n;
	return rc;
}

int staff_invite(kt_store *st, const kt_principal *by, const kt_portal_config *cfg, const uint8_t token_key[32],
		 const char *org, const kt_invite_args *a, char id_out[KT_UUID_LEN + 1], int64_t *expires, char *err,
		 size_t errlen)
{
	char owner[KT_UUID_LEN + 1];
	bool is_staff = false;
	int nloc = 0, rc;

	if (err && errlen)
		err[0] = 0;
	if (by && !policy_may(by, KT_ACT_INVITE_STAFF))
		return kt_fail(err, errlen, KT_EDENIED, "only owners and managers invite staff");
	if (!a->name || !a->name[0] || strlen(a->name) > 200 ||
	    !kt_utf8_valid((const uint8_t *)a->name, strlen(a->name)) || strpbrk(a->name, "\r\n\t"))
		return kt_fail(err, errlen, KT_EINVALID, "name: 1 to 200 characters on one line");
	if ((rc = org_check_email(a->email, err, errlen)))
		return rc;
	if (!role_valid(a->role))
		return kt_fail(err, errlen, KT_EINVALID, "role: owner, manager, reception or specialist");
	if (a->phone && (strlen(a->phone) > 40 || strspn(a->phone, "+0123456789 ()/-.") != strlen(a->phone)))
		return kt_fail(err, errlen, KT_EINVALID, "phone: digits, spaces and + ( ) / - . only, at most 40");
	bool owner_role = !strcmp(a->role, "owner");
	if (!owner_role && (!a->locations || !a->locations[0]))
		return kt_fail(err, errlen, KT_EINVALID, "locations: where the person works (at least one location)");
	if (by && !policy_may_on(by, KT_ACT_INVITE_STAFF,
				 &(kt_target){NULL, kt_role_from_name(a->role), owner_role ? "*" : a->locations}))
		return kt_fail(err, errlen, KT_EDENIED,
			    "managers invite reception and specialists for their own locations only");
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the database is busy; try again");
	if ((rc = check_locations(st, org, owner_role ? NULL : a->locations, NULL, &nloc, err, errlen)))
		return store_end(st, rc == KT_EIO ? kt_fail(err, errlen, rc, "database error") : rc, NULL, 0);
	rc = store_portal_email_owner(st, a->email, &is_staff, owner);
	if (rc == KT_OK)
		return store_end(st, kt_fail(err, errlen, KT_ECONFLICT, "e-mail: %s signs in with this address already",
				       is_staff ? "a staff member" : "a portal client"), NULL, 0);
	if (rc != KT_ENOT_FOUND)
		return store_end(st, kt_fail(err, errlen, rc, "database error (%s)", kt_strerror(rc)), NULL, 0);
	/* a deactivated person keeps their row (history): their address stays taken */
	sqlite3_stmt *q = store_prepare(st, "SELECT 1 FROM staff WHERE email = ?1 COLLATE NOCASE");
	if (!q)
		return store_end(st, KT_EIO, NULL, 0);
	sqlite3_bind_text(q, 1, a->email, -1, SQLITE_STATIC);
	bool taken = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	if (taken)
		return store_end(st, kt_fail(err, errlen, KT_ECONFLICT,
				       "e-mail: a deactivated staff member has this address; use another"), NULL, 0);
	kt_uuid7(id_out);
	kt_field f[] = {{"display_name", a->name}, {"email", a->email}, {"role", a->role}, {"active", "1"},
			{"phone", a->phone}};
	rc = store_insert(st, "staff", id_out, org, f, 5, NULL);
	for (const char *p = owner_role ? NULL : a->locations; p && *p && !rc;) {
		char loc[KT_UUID_LEN + 1];
		memcpy(loc, p, KT_UUID_LEN);
		loc[KT_UUID_LEN] = 0;
		rc = store_link_staff_location(st, id_out, loc, true);
		p = p[KT_UUID_LEN] ? p + KT_UUID_LEN + 1 : NULL;
	}
	if (!rc)
		rc = issue_in_tx(st, cfg, token_key, org, id_out, a->name, a->email, a->role, KT_SETUP_INVITE, expires);
	if (rc == KT_ENOT_FOUND && (!err || !err[0]))
		kt_fail(err, errlen, rc, "%s; nothing was saved", KT_PORTAL_NO_URL);
	else if (rc && (!err || !err[0]))
		kt_fail(err, errlen, rc, "could not save (%s)", kt_strerror(rc));
	return store_end(st, rc, NULL, 0);
}

int staff_send_link(kt_store *st, const kt_principal *by, const kt_portal_config *cfg, const uint8_t token_key[32],
		    const char *staff_id, kt_setup_kind kind, int64_t *expires, char *err, size_t errlen)
{
	char org[KT_UUID_LEN + 1] = "", name[256] = "", email[256] = "", role[16] = "";
	bool active = false;
	int rc;

	if (by && !policy_may(by, KT_ACT_RESET_STAFF_PASSWORD))
		return kt_fail(err, errlen, KT_EDENIED, "only owners and managers send staff password links");
	if (!staff_id || !kt_uuid_valid(staff_id, strlen(staff_id)))
		return kt_fail(err, errlen, KT_EINVALID, "staff: a staff id");
	if ((rc = revoke_may_staff_on(st, by, KT_ACT_RESET_STAFF_PASSWORD, staff_id)))
		return kt_fail(err, errlen, rc,
			    rc == KT_EDENIED ? "managers send links to reception and specialists of their own locations only"
					     : "no such staff member");
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the database is busy; try again");
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id, display_name, email, role, active FROM staff WHERE id = ?1");
	if (!q)
		return store_end(st, KT_EIO, NULL, 0);
	sqlite3_bind_text(q, 1, staff_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(org, sizeof org, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(q, 1));
		snprintf(email, sizeof email, "%s", (const char *)sqlite3_column_text(q, 2));
		snprintf(role, sizeof role, "%s", (const char *)sqlite3_column_text(q, 3));
		active = sqlite3_column_int(q, 4) != 0;
	}
	store_finish(st, q);
	if (!org[0])
		return store_end(st, kt_fail(err, errlen, KT_ENOT_FOUND, "no such staff member"), NULL, 0);
	if (!active)
		return store_end(st, kt_fail(err, errlen, KT_EINVALID, "the staff member is deactivated; no link is sent"), NULL, 0);
	rc = issue_in_tx(st, cfg, token_key, org, staff_id, name, email, role, kind, expires);
	if (rc == KT_ENOT_FOUND)
		kt_fail(err, errlen, rc, "%s", KT_PORTAL_NO_URL);
	else if (rc)
		kt_fail(err, errlen, rc, "could not queue the link (%s)", kt_strerror(rc));
	return store_end(st, rc, NULL, 0);
}

/* In the caller's transaction: the new hash, every session ended, audited. */
static int set_hash_in_tx(kt_store *st, const char *org, const char *id, const char *pw_hash)
{
	kt_field f = {"password_hash", pw_hash};
	int rc = store_update(st, "staff", id, &f, 1, NULL);
	if (!rc)
		rc = revoke_principal_sessions(st, id, NULL, 0);
	if (!rc) {
		kt_audit_entry e = {org, "staff_password_set", "staff", id, NULL, NULL, NULL, NULL, NULL};
		rc = audit_append(st, &e);
	}
	return rc;
}

static int staff_state(kt_store *st, const char *id, char org[KT_UUID_LEN + 1], bool *active)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id, active FROM staff WHERE id = ?1");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(org, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
		*active = sqlite3_column_int(q, 1) != 0;
	}
	store_finish(st, q);
	return rc == SQLITE_ROW ? KT_OK : rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
}

int staff_apply_setup(kt_store *st, const uint8_t hash[32], const char *pw_hash, const char *device,
		      char staff[KT_UUID_LEN + 1])
{
	char org[KT_UUID_LEN + 1], org2[KT_UUID_LEN + 1];
	bool active = false;
	int rc = store_begin(st);
	if (rc)
		return rc;
	if ((rc = portal_token_check(st, hash, KT_TOKEN_STAFF, kt_now_ms(), staff, org)))
		return store_end(st, rc, NULL, 0);
	if ((rc = staff_state(st, staff, org2, &active)))
		return store_end(st, rc == KT_ENOT_FOUND ? KT_ETOKEN_INVALID : rc, NULL, 0);
	if (!active)
		return store_end(st, KT_EREVOKED, NULL, 0); /* a link never brings back someone deactivated */
	store_set_actor(st, "staff", staff, device, 0);
	rc = portal_token_use(st, hash);
	if (!rc)
		rc = set_hash_in_tx(st, org, staff, pw_hash);
	rc = store_end(st, rc, NULL, 0);
	store_set_actor(st, "system", NULL, NULL, 0);
	return rc;
}

int staff_set_password(kt_store *st, const char *staff_id, const char *pw_hash)
{
	char org[KT_UUID_LEN + 1];
	bool active = false;
	int rc = store_begin(st);
	if (rc)
		return rc;
	if (!(rc = staff_state(st, staff_id, org, &active)) && !active)
		rc = KT_EREVOKED;
	if (!rc)
		rc = portal_tokens_replace(st, staff_id, KT_TOKEN_STAFF);
	if (!rc)
		rc = set_hash_in_tx(st, org, staff_id, pw_hash);
	return store_end(st, rc, NULL, 0);
}


int staff_locations(kt_store *st, const char *staff_id, char *out, size_t cap)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT coalesce(group_concat(location_id), '') FROM (SELECT location_id "
					    "FROM staff_location WHERE staff_id = ?1 ORDER BY location_id)");
	int rc = KT_EIO;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, staff_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		rc = strlen(v ? v : "") < cap ? KT_OK : KT_ETOO_LARGE;
		if (!rc)
			snprintf(out, cap, "%s", v ? v : "");
	}
	store_finish(st, q);
	return rc;
}

/* The first checks of both changes: a staff id, the caller's scope on the
 * person as they are now, and that it is not themselves when refused so. */
static int may_change(kt_store *st, const kt_principal *by, kt_action a, const char *staff_id, bool not_self,
		      char *err, size_t errlen)
{
	int rc;
	if (err && errlen)
		err[0] = 0;
	if (by && !policy_may(by, a))
		return kt_fail(err, errlen, KT_EDENIED, "only owners and managers change staff %s",
			       a == KT_ACT_SET_STAFF_ROLE ? "roles" : "locations");
	if (!staff_id || !kt_uuid_valid(staff_id, strlen(staff_id)))
		return kt_fail(err, errlen, KT_EINVALID, "id: a staff id");
	if ((rc = revoke_may_staff_on(st, by, a, staff_id)))
		return kt_fail(err, errlen, rc,
			       rc == KT_EDENIED  ? "managers change only reception and specialists of their own locations"
			       : rc == KT_EIO    ? "database error"
						 : "id: no such staff member");
	if (by && not_self && !strcmp(by->id, staff_id))
		return kt_fail(err, errlen, KT_EINVALID, "id: you cannot change your own role");
	return KT_OK;
}

int staff_set_role(kt_store *st, const kt_principal *by, const char *staff_id, const char *role, char *err,
		   size_t errlen)
{
	char locs[4096];
	int rc;

	if ((rc = may_change(st, by, KT_ACT_SET_STAFF_ROLE, staff_id, true, err, errlen)))
		return rc;
	if (!role_valid(role))
		return kt_fail(err, errlen, KT_EINVALID, "role: owner, manager, reception or specialist");
	if ((rc = staff_locations(st, staff_id, locs, sizeof locs)))
		return kt_fail(err, errlen, rc, "database error");
	/* the person with the new role must still be in the caller's team:
	 * a manager never makes an owner or a manager */
	if (by && !policy_may_on(by, KT_ACT_SET_STAFF_ROLE, &(kt_target){staff_id, kt_role_from_name(role), locs}))
		return kt_fail(err, errlen, KT_EDENIED, "role: managers set reception or specialist only");
	kt_field f = {"role", role};
	rc = store_update(st, "staff", staff_id, &f, 1, NULL); /* audited, logged: devices re-read the rights */
	if (rc)
		return kt_fail(err, errlen, rc, "could not save (%s)", kt_strerror(rc));
	return KT_OK;
}

int staff_set_locations(kt_store *st, const kt_principal *by, const char *staff_id, const char *locations,
			char *err, size_t errlen)
{
	char now[4096], org[KT_UUID_LEN + 1];
	bool active = false;
	int rc;

	if ((rc = may_change(st, by, KT_ACT_SET_STAFF_LOCATIONS, staff_id, false, err, errlen)))
		return rc;
	if (!locations)
		return kt_fail(err, errlen, KT_EINVALID, "locations: the whole list of where the person works");
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the database is busy; try again");
	if ((rc = staff_state(st, staff_id, org, &active)) || (rc = staff_locations(st, staff_id, now, sizeof now)))
		return store_end(st, kt_fail(err, errlen, rc, "database error"), NULL, 0);
	if ((rc = check_locations(st, org, locations, now, NULL, err, errlen)))
		return store_end(st, rc == KT_EIO ? kt_fail(err, errlen, rc, "database error") : rc, NULL, 0);
	if (by) {
		int role = by->is_client ? KT_ROLE_CLIENT : -1;
		sqlite3_stmt *q = store_prepare(st, "SELECT role FROM staff WHERE id = ?1");
		if (!q)
			return store_end(st, KT_EIO, NULL, 0);
		sqlite3_bind_text(q, 1, staff_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			role = kt_role_from_name((const char *)sqlite3_column_text(q, 0));
		store_finish(st, q);
		if (!policy_may_on(by, KT_ACT_SET_STAFF_LOCATIONS, &(kt_target){staff_id, role, locations}))
			return store_end(st, kt_fail(err, errlen, KT_EDENIED,
						   "locations: managers give only their own locations (at least one)"),
					 NULL, 0);
	}
	/* the links that differ; each change is logged (devices gain or lose
	 * rows) and audited by store_link_staff_location */
	for (const char *p = now; *p && !rc;) {
		char id[KT_UUID_LEN + 1];
		snprintf(id, sizeof id, "%.*s", KT_UUID_LEN, p);
		if (!kt_locset_has(locations, id))
			rc = store_link_staff_location(st, staff_id, id, false);
		p = p[KT_UUID_LEN] ? p + KT_UUID_LEN + 1 : "";
	}
	for (const char *p = locations; *p && !rc;) {
		char id[KT_UUID_LEN + 1];
		snprintf(id, sizeof id, "%.*s", KT_UUID_LEN, p);
		if (!kt_locset_has(now, id))
			rc = store_link_staff_location(st, staff_id, id, true);
		p = p[KT_UUID_LEN] ? p + KT_UUID_LEN + 1 : "";
	}
	if (rc)
		kt_fail(err, errlen, rc, "could not save (%s)", kt_strerror(rc));
	return store_end(st, rc, NULL, 0);
}
