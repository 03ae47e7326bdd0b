/* revoke.c - see revoke.h. */
#include <stdlib.h>
#include <string.h>
#include "db/audit.h"
#include "db/keyring.h"
#include "domain/revoke.h"

/* The staff member's organisation, role and locations, for the scope
 * rule of the manage actions (policy.c). */
static const char q_staff_scope[] =
	"SELECT s.org_id, s.role, "
	" (SELECT group_concat(sl.location_id) FROM staff_location sl WHERE sl.staff_id = s.id) "
	"FROM staff s WHERE s.id = ?1";

static int may_staff(kt_store *st, const kt_principal *by, kt_action a, const char *staff_id)
{
	sqlite3_stmt *q = store_prepare(st, q_staff_scope);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, staff_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		rc = KT_ENOT_FOUND;
	else if (!by)
		rc = KT_OK;
	else if (by->is_client || strcmp((const char *)sqlite3_column_text(q, 0), by->org))
		rc = by->is_client ? KT_EDENIED : KT_ENOT_FOUND;
	else {
		kt_target t = {staff_id, kt_role_from_name((const char *)sqlite3_column_text(q, 1)),
			       (const char *)sqlite3_column_text(q, 2)};
		rc = policy_may_on(by, a, &t) ? KT_OK : KT_EDENIED;
	}
	store_finish(st, q);
	return rc;
}

int revoke_may_staff(kt_store *st, const kt_principal *by, const char *staff_id)
{
	return may_staff(st, by, KT_ACT_DEACTIVATE_STAFF, staff_id);
}

int revoke_may_staff_on(kt_store *st, const kt_principal *by, kt_action a, const char *staff_id)
{
	return may_staff(st, by, a, staff_id);
}

int revoke_may_device(kt_store *st, const kt_principal *by, kt_action a, const char *device_id)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT d.kind, d.principal_id, coalesce(s.org_id, c.org_id) FROM device d "
					    "LEFT JOIN staff s ON d.kind = 'staff' AND s.id = d.principal_id "
					    "LEFT JOIN client c ON d.kind = 'client' AND c.id = d.principal_id WHERE d.id = ?");
	char kind[16] = "", principal[KT_UUID_LEN + 1] = "", org[KT_UUID_LEN + 1] = "";
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	if (found) {
		snprintf(kind, sizeof kind, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(principal, sizeof principal, "%s", (const char *)sqlite3_column_text(q, 1));
		if (sqlite3_column_type(q, 2) != SQLITE_NULL)
			snprintf(org, sizeof org, "%s", (const char *)sqlite3_column_text(q, 2));
	}
	store_finish(st, q);
	if (!found)
		return KT_ENOT_FOUND;
	if (!by)
		return KT_OK;
	if (by->is_client || strcmp(org, by->org))
		return by->is_client ? KT_EDENIED : KT_ENOT_FOUND;
	if (!strcmp(principal, by->id))
		return KT_OK; /* one's own devices */
	if (!strcmp(kind, "client")) {
		kt_target t = {principal, KT_ROLE_CLIENT, NULL};
		return policy_may_on(by, a, &t) ? KT_OK : KT_EDENIED;
	}
	return may_staff(st, by, a, principal);
}

static bool device_shown(kt_store *st, const kt_principal *viewer, const char *device_id)
{
	sqlite3_stmt *q;
	bool own = false;
	if (!viewer)
		return true;
	if (!viewer->is_client)
		return revoke_may_device(st, viewer, KT_ACT_LIST_DEVICES, device_id) == KT_OK;
	if (!(q = store_prepare(st, "SELECT 1 FROM device WHERE id = ?1 AND kind = 'client' AND principal_id = ?2")))
		return false;
	sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, viewer->id, -1, SQLITE_STATIC);
	own = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return own;
}

bool revoke_device_shown(kt_store *st, kt_device_view *v, const char *device_id)
{
	if (!device_id || !v->viewer)
		return true;
	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->id[i], device_id))
			return v->shown[i];
	bool shown = device_shown(st, v->viewer, device_id);
	int slot = v->n < 16 ? v->n++ : 15; /* full: the last slot is reused */
	snprintf(v->id[slot], sizeof v->id[slot], "%s", device_id);
	v->shown[slot] = shown;
	return shown;
}

static int exec1(kt_store *st, const char *sql, const char *arg)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

static int note_kind(kt_store *st, const char *kind, const char *target)
{
	sqlite3_stmt *q = store_prepare(st, "INSERT INTO revocation(kind, target, at) VALUES(?1, ?2, ?3)");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, kt_now_ms());
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* The audit entry of a device action, in the organisation of its owner. */
static int audit_device(kt_store *st, const char *action, const char *device_id)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT coalesce((SELECT org_id FROM staff WHERE id = d.principal_id), "
					    "(SELECT org_id FROM client WHERE id = d.principal_id)), d.principal_id, d.kind "
					    "FROM device d WHERE d.id = ?");
	char org[KT_UUID_LEN + 1] = "", principal[KT_UUID_LEN + 1] = "", after[128];
	bool client = false;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		snprintf(org, sizeof org, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(principal, sizeof principal, "%s", (const char *)sqlite3_column_text(q, 1));
		client = !strcmp((const char *)sqlite3_column_text(q, 2), "client");
	}
	store_finish(st, q);
	if (!org[0])
		return KT_ENOT_FOUND;
	snprintf(after, sizeof after, "{\"principal\":\"%s\"}", principal);
	kt_audit_entry e = {org, action, "device", device_id, client ? principal : NULL, NULL, NULL, NULL, after};
	return audit_append(st, &e);
}

static int finish_tx(kt_store *st, int rc)
{
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

/* Signed out: the device id is free for the next person (store_device_seen). */
static const char q_release[] = "UPDATE device SET released_at = ?2 WHERE id = ?1 AND released_at IS NULL";

static int release_device(kt_store *st, const char *device_id)
{
	sqlite3_stmt *q = store_prepare(st, q_release);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, kt_now_ms());
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

int revoke_sign_out_device(kt_store *st, const char *device_id)
{
	int rc = store_begin(st);
	if (rc)
		return rc;
	rc = exec1(st, "UPDATE auth_session SET revoked = 1 WHERE device_id = ?1 AND revoked = 0", device_id);
	if (!rc)
		rc = release_device(st, device_id);
	if (!rc)
		rc = note_kind(st, "session", device_id);
	if (!rc)
		rc = audit_device(st, "sign_out", device_id);
	return finish_tx(st, rc);
}

/* The rest of taking a device away, in the caller's transaction: its
 * sessions end, connections are told, and the audit says why (action). */
static int end_device(kt_store *st, const char *device_id, const char *action)
{
	int rc = exec1(st, "UPDATE auth_session SET revoked = 1 WHERE device_id = ?1 AND revoked = 0", device_id);
	if (!rc)
		rc = note_kind(st, "device", device_id);
	if (!rc)
		rc = audit_device(st, action, device_id);
	return rc;
}

int revoke_device(kt_store *st, const char *device_id)
{
	int rc = store_begin(st);
	if (rc)
		return rc;
	rc = exec1(st, "UPDATE device SET revoked = 1 WHERE id = ?1", device_id);
	return finish_tx(st, rc ? rc : end_device(st, device_id, "revoke_device"));
}

int revoke_mark_lost(kt_store *st, const char *device_id)
{
	int rc = store_begin(st);
	if (rc)
		return rc;
	const kt_actor *a = store_actor(st);
	char by[96];
	snprintf(by, sizeof by, "%s%s%s", a->kind, a->id[0] ? ":" : "", a->id);
	sqlite3_stmt *q = store_prepare(st, "UPDATE device SET revoked = 1, lost_at = ?2, lost_by = ?3 WHERE id = ?1");
	if (!q) {
		store_rollback(st);
		return KT_EIO;
	}
	sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, kt_now_ms());
	sqlite3_bind_text(q, 3, by, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return finish_tx(st, rc ? rc : end_device(st, device_id, "device_lost"));
}

int revoke_deactivate_staff(kt_store *st, const char *staff_id)
{
	kt_field f = {"active", "0"};
	int rc = store_begin(st);
	if (rc)
		return rc;
	rc = store_update(st, "staff", staff_id, &f, 1, NULL); /* change log + audit entry */
	if (!rc)
		rc = exec1(st, "UPDATE auth_session SET revoked = 1 WHERE principal_id = ?1 AND revoked = 0",
			   staff_id);
	if (!rc) /* their tablets are free for whoever works on them next */
		rc = exec1(st, "UPDATE device SET released_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 "
			   "WHERE principal_id = ?1 AND kind = 'staff' AND released_at IS NULL", staff_id);
	if (!rc)
		rc = note_kind(st, "principal", staff_id);
	return finish_tx(st, rc);
}

int revoke_client_in_tx(kt_store *st, const char *client_id)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id FROM device WHERE kind = 'client' AND principal_id = ?1 AND revoked = 0");
	char (*ids)[KT_UUID_LEN + 1] = NULL;
	int n = 0, rc = KT_OK;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		void *p = realloc(ids, (size_t)(n + 1) * sizeof *ids);
		if (!p) {
			rc = KT_ENOMEM;
			break;
		}
		ids = p;
		snprintf(ids[n++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	}
	store_finish(st, q);
	for (int i = 0; !rc && i < n; i++) {
		rc = exec1(st, "UPDATE device SET revoked = 1 WHERE id = ?1", ids[i]);
		if (!rc)
			rc = note_kind(st, "device", ids[i]);
	}
	free(ids);
	if (!rc)
		rc = exec1(st, "UPDATE auth_session SET revoked = 1 WHERE principal_id = ?1 AND revoked = 0", client_id);
	if (!rc)
		rc = note_kind(st, "principal", client_id);
	return rc;
}

int revoke_session_token(kt_store *st, const uint8_t *token_hash, size_t len, const char *device_id)
{
	sqlite3_stmt *q;
	int rc = store_begin(st);
	if (rc)
		return rc;
	if (!(q = store_prepare(st, "UPDATE auth_session SET revoked = 1 WHERE token_hash = ?")))
		return finish_tx(st, KT_EIO);
	sqlite3_bind_blob(q, 1, token_hash, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	/* signing out on a device releases it, if it is this token's person's */
	if (!rc && !(q = store_prepare(st, "UPDATE device SET released_at = ?3 WHERE id = ?1 AND released_at IS NULL "
					   "AND principal_id = (SELECT principal_id FROM auth_session WHERE token_hash = ?2)")))
		rc = KT_EIO;
	if (!rc) {
		sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(q, 2, token_hash, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, kt_now_ms());
		rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
		store_finish(st, q);
	}
	if (!rc && (rc = audit_device(st, "logout", device_id)) == KT_ENOT_FOUND)
		rc = KT_OK; /* a device never registered: the session still ends */
	return finish_tx(st, rc);
}

bool revoke_device_is_revoked(kt_store *st, const char *device_id)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT revoked FROM device WHERE id = ?");
	bool r = false;
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, device_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		r = sqlite3_column_int(q, 0) != 0;
	store_finish(st, q);
	return r;
}

int64_t revoke_last_seq(kt_store *st)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT coalesce(max(seq), 0) FROM revocation");
	int64_t v = 0;
	if (q && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	if (q)
		store_finish(st, q);
	return v;
}

int revoke_read(kt_store *st, int64_t after, kt_revocation *out, int max, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT seq, kind, target FROM revocation WHERE seq > ? ORDER BY seq LIMIT ?");
	int rc;
	*n = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int(q, 2, max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		kt_revocation *r = &out[(*n)++];
		const char *k = (const char *)sqlite3_column_text(q, 1);
		r->seq = sqlite3_column_int64(q, 0);
		r->kind = !strcmp(k, "device") ? KT_REVOKE_DEVICE : !strcmp(k, "principal") ? KT_REVOKE_PRINCIPAL
											 : KT_REVOKE_SESSION;
		snprintf(r->target, sizeof r->target, "%s", (const char *)sqlite3_column_text(q, 2));
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

int revoke_list_devices(kt_store *st, const kt_principal *by, kt_device_cb cb, void *user)
{
	/* the scope of KT_ACT_LIST_DEVICES (policy.c) in SQL: all, or one's own
	 * and the team's devices */
	static const char sql[] =
		"SELECT d.id, d.kind, d.principal_id, coalesce(s.display_name, c.name, ''), "
		" CASE d.kind WHEN 'client' THEN 'client' ELSE coalesce(s.role, '') END, coalesce(d.app, ''), "
		" d.first_seen, d.last_seen, d.last_ack_seq, d.revoked, "
		" EXISTS(SELECT 1 FROM auth_session a WHERE a.device_id = d.id AND a.revoked = 0 AND a.expires_at > ?4) "
		"FROM device d "
		"LEFT JOIN staff s ON d.kind = 'staff' AND s.id = d.principal_id "
		"LEFT JOIN client c ON d.kind = 'client' AND c.id = d.principal_id "
		"WHERE ?1 = 0 OR (coalesce(s.org_id, c.org_id) = ?2 AND (?5 = 1 OR d.principal_id = ?6 OR "
		" (d.kind = 'staff' AND s.role IN ('reception', 'specialist') AND "
		"  EXISTS(SELECT 1 FROM staff_location sl WHERE sl.staff_id = s.id) AND "
		"  NOT EXISTS(SELECT 1 FROM staff_location sl WHERE sl.staff_id = s.id AND "
		"   instr(',' || ?3 || ',', ',' || sl.location_id || ',') = 0)))) "
		"ORDER BY d.last_seen DESC, d.id";
	sqlite3_stmt *q;
	int rc;

	if (by && !policy_may(by, KT_ACT_LIST_DEVICES))
		return KT_EDENIED;
	if (!(q = store_prepare(st, sql)))
		return KT_EIO;
	sqlite3_bind_int(q, 1, by != NULL);
	sqlite3_bind_text(q, 2, by ? by->org : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, by && by->locs ? by->locs : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, kt_now_ms());
	sqlite3_bind_int(q, 5, by && policy_scope(by, KT_ACT_LIST_DEVICES) == KT_SCOPE_ORG);
	sqlite3_bind_text(q, 6, by ? by->id : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		kt_device_info d = {
			(const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
			(const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3),
			(const char *)sqlite3_column_text(q, 4), (const char *)sqlite3_column_text(q, 5),
			sqlite3_column_int64(q, 6), sqlite3_column_int64(q, 7), sqlite3_column_int64(q, 8),
			sqlite3_column_int(q, 9) != 0, sqlite3_column_int(q, 10) != 0,
		};
		/* a client's name is sealed under their key (keyring.h): open it
		 * for the register; a key that is gone leaves no name */
		char *name = NULL;
		size_t nlen;
		const void *b = sqlite3_column_blob(q, 3);
		int blen = sqlite3_column_bytes(q, 3);
		if (!strcmp(d.kind, "client") && keyring_is_sealed(b, (size_t)blen)) {
			if (keyring_unseal(store_keyring(st), "client", "name", d.principal_id, b, (size_t)blen, &name,
					   &nlen) != KT_OK) {
				free(name);
				name = NULL;
			}
			d.name = name ? name : "";
		}
		int crc = cb(user, &d);
		free(name);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

/* ---- portal accounts ---- */

int revoke_principal_sessions(kt_store *st, const char *principal_id, const uint8_t *keep_hash, size_t keep_len)
{
	sqlite3_stmt *q;
	int rc;

	if (!keep_hash) {
		rc = exec1(st, "UPDATE auth_session SET revoked = 1 WHERE principal_id = ?1 AND revoked = 0",
			   principal_id);
		return rc ? rc : note_kind(st, "principal", principal_id);
	}
	/* the devices first, while their sessions still count as live */
	q = store_prepare(st, "INSERT INTO revocation(kind, target, at) SELECT DISTINCT 'session', device_id, ?3 "
			      "FROM auth_session WHERE principal_id = ?1 AND revoked = 0 AND token_hash != ?2 "
			      "AND device_id NOT IN (SELECT device_id FROM auth_session WHERE token_hash = ?2)");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, keep_hash, (int)keep_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, kt_now_ms());
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	if (rc)
		return rc;
	q = store_prepare(st, "UPDATE auth_session SET revoked = 1 WHERE principal_id = ?1 AND revoked = 0 "
			      "AND token_hash != ?2");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, keep_hash, (int)keep_len, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}
