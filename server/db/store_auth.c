/* store_auth.c - who is signing in: principals, sessions, devices and
 * their acknowledgements, credentials and portal e-mail lookups. Never
 * hands out a password hash but to the caller that checks it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/keyring.h"
#include "db/model.h"
#include "db/store_internal.h"

void kt_principal_free(kt_principal *p)
{
	if (!p)
		return;
	free(p->locs);
	p->locs = NULL;
}

int store_principal_load(kt_store *st, bool is_client, const char *id, kt_principal *out)
{
	static const char staff_sql[] = "SELECT org_id, role, display_name, active FROM staff WHERE id = ?";
	static const char client_sql[] = "SELECT org_id, 'client', name, portal_enabled FROM client WHERE id = ?";
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = st_query_row(st, &s, is_client ? client_sql : staff_sql, "t", id)))
		return rc;
	out->is_client = is_client;
	snprintf(out->id, sizeof out->id, "%s", id);
	snprintf(out->org, sizeof out->org, "%s", (const char *)sqlite3_column_text(s, 0));
	out->role = kt_role_from_name((const char *)sqlite3_column_text(s, 1));
	if (is_client) {
		const kt_table *ct = kt_table_find("client", 6);
		kt_val name;
		if (st_load_val(st, s, 2, ct, kt_col_index(ct, "name"), id, &name) == KT_OK && !name.null)
			snprintf(out->name, sizeof out->name, "%s", name.s);
		free(name.s);
	} else
		snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(s, 2));
	out->active = sqlite3_column_int(s, 3) != 0;
	st_finish(st, s);
	out->locs = st_query_locset(st, is_client ? st_q_client_locs : st_q_staff_locs, id);
	if (!out->locs || out->role < 0) {
		kt_principal_free(out);
		return out->role < 0 ? KT_EINVALID : KT_ENOMEM;
	}
	return KT_OK;
}

/* ---- sessions, devices, credentials ---- */

int store_session_create(kt_store *st, const uint8_t *token_hash, size_t hlen, bool is_client,
			 const char *principal_id, const char *device_id, int64_t expires_at)
{
	static const char sql[] =
		"INSERT INTO auth_session(token_hash, kind, principal_id, device_id, created_at, expires_at)"
		" VALUES(?, ?, ?, ?, ?, ?)";
	return st_run(st, sql, "btttii", token_hash, hlen, is_client ? "client" : "staff", principal_id, device_id,
		      kt_now_ms(), expires_at);
}

int store_session_find(kt_store *st, const uint8_t *token_hash, size_t hlen, const char *device_id,
		       bool *is_client, char principal_id[KT_UUID_LEN + 1], int64_t *expires_at)
{
	static const char sql[] =
		"SELECT kind, principal_id, expires_at, revoked FROM auth_session WHERE token_hash = ? AND "
		"device_id = ? AND expires_at > ?";
	sqlite3_stmt *s;
	int rc = st_query_row(st, &s, sql, "bti", token_hash, hlen, device_id, kt_now_ms());
	if (rc)
		return rc;
	if (sqlite3_column_int(s, 3)) {
		rc = KT_EREVOKED; /* only the holder of the token on its device learns this */
	} else {
		*is_client = strcmp((const char *)sqlite3_column_text(s, 0), "client") == 0;
		snprintf(principal_id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
		*expires_at = sqlite3_column_int64(s, 2);
	}
	st_finish(st, s);
	return rc;
}

/* A device that signs in again within this long of its last visit, as the
 * same person with the same app, is not written again: in a reconnect storm
 * every such write was a commit of its own (an fsync each) on the event
 * loop. Its acknowledgements keep last_seen current anyway. */
#define SEEN_REWRITE_MS (10 * 60 * 1000)

int store_device_seen(kt_store *st, const char *device_id, bool is_client, const char *principal_id,
		      const char *app)
{
	static const char known_sql[] =
		"SELECT 1 FROM device WHERE id = ?1 AND kind = ?2 AND principal_id = ?3 AND coalesce(app, '') = ?4 "
		"AND last_seen > ?5 AND released_at IS NULL";
	sqlite3_stmt *k = st_prep(st, known_sql);
	if (k) {
		bool fresh;
		sqlite3_bind_text(k, 1, device_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(k, 2, is_client ? "client" : "staff", -1, SQLITE_STATIC);
		sqlite3_bind_text(k, 3, principal_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(k, 4, app ? app : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(k, 5, kt_now_ms() - SEEN_REWRITE_MS);
		fresh = sqlite3_step(k) == SQLITE_ROW;
		st_finish(st, k);
		if (fresh)
			return KT_OK;
	}
	/* A device id stays with its person until it is released (signed
	 * out): the update only takes it over when it is free or already
	 * theirs, in the same statement, so two people racing for one id
	 * cannot both get it. */
	static const char sql[] =
		"INSERT INTO device(id, kind, principal_id, app, first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"
		" ON CONFLICT(id) DO UPDATE SET kind = ?2, principal_id = ?3, app = ?4, last_seen = ?5, released_at = NULL"
		" WHERE device.released_at IS NOT NULL OR (device.kind = ?2 AND device.principal_id = ?3)";
	int rc = st_run(st, sql, "tttti", device_id, is_client ? "client" : "staff", principal_id, app ? app : "",
			kt_now_ms());
	if (rc)
		return rc;
	return sqlite3_changes(st->db) ? KT_OK : KT_EDEVICE_TAKEN;
}

int store_device_ack(kt_store *st, const char *device_id, int64_t seq)
{
	static const char sql[] =
		"UPDATE device SET last_ack_seq = max(last_ack_seq, ?2), last_seen = ?3 WHERE id = ?1";
	static const char purged_sql[] =
		"UPDATE erasure_device SET purged_at = ?3 WHERE device_id = ?1 AND seq <= ?2 AND purged_at IS NULL";
	int rc = st_run(st, sql, "tii", device_id, seq, kt_now_ms());
	if (rc)
		return rc;
	/* erasure receipts: a cursor at or past an erasure's last change means
	 * the device has applied its deletes (the partial index holds only the
	 * open receipts, so this costs nothing when there are none) */
	return st_run(st, purged_sql, "tii", device_id, seq, kt_now_ms());
}

int store_credentials_find(kt_store *st, const char *email, bool *is_client, char id[KT_UUID_LEN + 1],
			   char **hash)
{
	static const char sql[] =
		"SELECT 0, id, password_hash FROM staff WHERE email = ?1 AND active = 1 AND password_hash IS NOT NULL "
		"UNION ALL SELECT 1, id, password_hash FROM client WHERE email_hash = ?2 AND portal_enabled = 1 "
		"AND password_hash IS NOT NULL "
		/* an account suspended by an e-mail change is still found by the
		 * address it signed in with, so that its owner learns why */
		"UNION ALL SELECT 1, c.id, c.password_hash FROM email_change e JOIN client c ON c.id = e.client_id "
		"WHERE e.old_email_hash = ?2 AND e.suspended = 1 AND c.password_hash IS NOT NULL LIMIT 1";
	sqlite3_stmt *s;
	char eh[65] = "";
	int rc;
	*hash = NULL;
	if (keyring_email_hash(st->kr, email, eh))
		eh[0] = 0; /* no keyring (read-only): staff only */
	if ((rc = st_query_row(st, &s, sql, "tt", email, eh)))
		return rc;
	*is_client = sqlite3_column_int(s, 0) != 0;
	snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
	*hash = strdup((const char *)sqlite3_column_text(s, 2));
	st_finish(st, s);
	return *hash ? KT_OK : KT_ENOMEM;
}

/* ---- portal accounts ---- */

int store_email_hash(kt_store *st, const char *email, char out[65])
{
	out[0] = 0;
	return keyring_email_hash(st->kr, email, out) ? KT_EIO : KT_OK;
}

int store_portal_email_owner(kt_store *st, const char *email, bool *is_staff, char id[KT_UUID_LEN + 1])
{
	/* client e-mails are sealed: they are found by their keyed hash */
	static const char sql[] = "SELECT 1, id FROM staff WHERE email = ?1 AND active = 1 "
				  "UNION ALL SELECT 0, id FROM client WHERE email_hash = ?2 AND portal_enabled = 1 LIMIT 1";
	sqlite3_stmt *s;
	char eh[65] = "";
	int rc;
	if (keyring_email_hash(st->kr, email, eh))
		eh[0] = 0;
	if ((rc = st_query_row(st, &s, sql, "tt", email, eh)))
		return rc;
	*is_staff = sqlite3_column_int(s, 0) != 0;
	snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
	st_finish(st, s);
	return KT_OK;
}

int store_clients_by_email(kt_store *st, const char *email, char (*ids)[KT_UUID_LEN + 1], int max, int *n)
{
	sqlite3_stmt *s = st_prep(st, "SELECT id FROM client WHERE email_hash = ?1 ORDER BY id LIMIT ?2");
	char eh[65];
	int rc;
	*n = 0;
	if (!s)
		return KT_EIO;
	if (keyring_email_hash(st->kr, email, eh)) {
		st_finish(st, s);
		return KT_EIO;
	}
	sqlite3_bind_text(s, 1, eh, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		snprintf(ids[(*n)++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	st_finish(st, s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? KT_OK : st_sql_err(st, rc);
}

int64_t store_rights_gen(kt_store *st)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT gen FROM rights_gen WHERE id = 1");
	int64_t g = -1;
	if (!q)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		g = sqlite3_column_int64(q, 0);
	store_finish(st, q);
	return g;
}
