/* push_answer.c - the answers of a push, one per mutation: packed through
 * proto/ (the result maps) and egress.c (every row value they carry, for
 * the pusher's rights), audited when refused, and recorded with the
 * mutation so that a replay gets the first answer again. Writer thread,
 * inside the push's transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kt_metrics.h"
#include "db/audit.h"
#include "sync/egress.h"
#include "db/keyring.h"
#include "write/push_internal.h"

void push_applied(push_ctx *c, const kt_mut *m, int64_t v, bool with_conflicts)
{
	proto_push_applied_encode(c->body, m->mid, v, with_conflicts);
	c->n++;
	kt_metric_inc(KT_M_MUT_APPLIED, 0);
}

/* Remember the answer just packed (from body offset start) for replays.
 * An answer about a client's row may carry its current values: it is
 * sealed with the client's key (erasing the client makes it unreadable;
 * a replay then gets not_found). */
int push_record(push_ctx *c, const kt_mut *m, size_t start, const kt_row *row)
{
	sqlite3_stmt *q;
	uint8_t *sealed = NULL;
	size_t n = c->body->sb.size - start;
	int rc;
	if (row && row->client[0]) {
		char rid[KT_UUID_LEN + 24];
		snprintf(rid, sizeof rid, "%s:%lld", c->device, (long long)m->mid);
		if ((rc = keyring_seal(store_keyring(c->st), row->client, "mutation", "result", rid,
				       c->body->sb.data + start, n, &sealed, &n)))
			return rc;
	}
	if (!(q = store_prepare(c->st, "INSERT INTO mutation(device_id, mid, result, at, principal_id) "
				       "VALUES(?, ?, ?, ?, ?)"))) {
		free(sealed);
		return KT_EIO;
	}
	sqlite3_bind_text(q, 5, c->p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 1, c->device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, m->mid);
	if (sealed)
		sqlite3_bind_blob(q, 3, sealed, (int)n, free);
	else
		sqlite3_bind_blob(q, 3, c->body->sb.data + start, (int)n, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, kt_now_ms());
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(c->st, q);
	if (!rc && (!c->any_mid || m->mid > c->max_mid)) {
		c->any_mid = true;
		c->max_mid = m->mid;
	}
	return rc;
}

/* Is id a row of table tbl ("client" or "location") in org? */
static bool in_org(kt_store *st, const char *tbl, const char *id, const char *org)
{
	sqlite3_stmt *q;
	bool yes;
	if (!id || !kt_uuid_valid(id, strlen(id)))
		return false;
	q = store_prepare(st, !strcmp(tbl, "client") ? "SELECT 1 FROM client WHERE id = ? AND org_id = ?"
						      : "SELECT 1 FROM location WHERE id = ? AND org_id = ?");
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	yes = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return yes;
}

/* Which client and location an audit entry about this mutation is about:
 * the row's own when it exists in the writer's organisation, else the
 * client_id / location_id the mutation names when they are of that
 * organisation (a refused create is about the client it was meant for).
 * Nothing of another organisation is ever recorded. */
static void audit_scope(push_ctx *c, const kt_row *row, const mut_fields *mf, char client[KT_UUID_LEN + 1],
			char loc[KT_UUID_LEN + 1])
{
	const char *cid, *lid;
	client[0] = loc[0] = 0;
	if (row && !strcmp(row->org, c->p->org)) {
		size_t n = row->locs ? strcspn(row->locs, ",") : 0;
		snprintf(client, KT_UUID_LEN + 1, "%s", row->client);
		if (n == KT_UUID_LEN) {
			memcpy(loc, row->locs, n);
			loc[n] = 0;
		}
		return;
	}
	cid = mf ? push_val(NULL, mf, "client_id") : NULL;
	lid = mf ? push_val(NULL, mf, "location_id") : NULL;
	if (cid && in_org(c->st, "client", cid, c->p->org))
		snprintf(client, KT_UUID_LEN + 1, "%s", cid);
	if (lid && in_org(c->st, "location", lid, c->p->org))
		snprintf(loc, KT_UUID_LEN + 1, "%s", lid);
}

/* A rejection. route: the row as loaded (may be one the writer cannot
 * see), for the audit entry's client and location. With current, the
 * answer carries the current values of the mutation's fields that the
 * writer may read, when egress says the writer may see the row at all.
 * msg must say what was refused and why: a check that refuses without a
 * reason is a bug, and the answer then says so instead of sending whatever
 * the buffer held. */
int push_reject(push_ctx *c, const kt_mut *m, size_t start, int code, const char *msg, const kt_row *route,
		bool current, const mut_fields *mf)
{
	char tbl[64], id[64], client[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1];
	const kt_row *cur = current && egress_row_visible(c->p, route) ? route : NULL;
	snprintf(tbl, sizeof tbl, "%.*s", (int)m->tbl.len, m->tbl.s);
	snprintf(id, sizeof id, "%.*s", (int)m->id.len, m->id.s);
	if (!msg || !*msg) {
		kt_log_code(KT_LOG_WARN, code, "push: %s of %s %s refused without a reason", kt_err_name(code), tbl, id);
		msg = "refused by a server check that gave no reason (a server bug; please report it)";
	}
	proto_push_rejected_encode(c->body, m->mid, kt_err_name(code), msg, cur != NULL);
	c->n++;
	kt_metric_inc(KT_M_MUT_REJECTED, code);
	if (cur)
		egress_fields(c->body, c->p, cur, mf->col, mf->n, NULL);
	/* rejected attempts are part of the record too (who tried what, about whom) */
	char action[48];
	snprintf(action, sizeof action, "rejected:%s", kt_err_name(code));
	audit_scope(c, route, mf, client, loc);
	kt_audit_entry e = {c->p->org, action, tbl, id, client[0] ? client : NULL, loc[0] ? loc : NULL,
			    NULL, NULL, NULL};
	int rc = audit_append(c->st, &e);
	return rc ? rc : push_record(c, m, start, cur);
}

/* Pack a stored answer again for a replay. The values it carried (current,
 * conflicts) were the row's under the rights of then: they go out again
 * only as the row is now, through egress, for the rights of now; the rest
 * of the answer is copied as it was. Returns false on an answer that does
 * not parse (nothing appended). */
static bool replay_answer(push_ctx *c, const kt_mut *m, const uint8_t *b, size_t n)
{
	const kt_table *t = kt_table_find(m->tbl.s, m->tbl.len);
	kt_mp r;
	kt_mpw rest;
	uint32_t nk, out = 0;
	bool ok = false;
	char id[KT_UUID_LEN + 1] = "";

	if (t && m->id.len == KT_UUID_LEN)
		snprintf(id, sizeof id, "%.*s", (int)m->id.len, m->id.s);
	kt_mpw_init(&rest);
	kt_mp_init(&r, b, n);
	if (kt_mp_read_map(&r, &nk))
		goto done;
	for (uint32_t i = 0; i < nk; i++) {
		size_t at = r.pos;
		const char *k;
		size_t kl;
		uint32_t nf;
		if (kt_mp_read_str(&r, &k, &kl, 64))
			goto done;
		if (!kt_mp_str_eq(k, kl, "current") && !kt_mp_str_eq(k, kl, "conflicts")) {
			if (kt_mp_skip(&r, 8))
				goto done;
			kt_mpw_raw(&rest, b + at, r.pos - at);
			out++;
			continue;
		}
		int cols[MAX_FIELDS], nc = 0;
		if (kt_mp_read_map(&r, &nf))
			goto done;
		for (uint32_t j = 0; j < nf; j++) {
			const char *f;
			size_t fl;
			char name[64];
			if (kt_mp_read_str(&r, &f, &fl, 63) || kt_mp_skip(&r, 8))
				goto done;
			snprintf(name, sizeof name, "%.*s", (int)fl, f);
			int col = t ? kt_col_index(t, name) : -1;
			if (col >= 0 && nc < MAX_FIELDS)
				cols[nc++] = col;
		}
		kt_row row;
		if (!id[0] || store_row_load_some(c->st, t, id, cols, nc, &row) != KT_OK)
			continue; /* gone since, or never a row: nothing to show */
		if (egress_row_visible(c->p, &row)) {
			kt_mpw_strn(&rest, k, kl);
			egress_fields(&rest, c->p, &row, cols, nc, NULL);
			out++;
		}
		kt_row_free(&row);
	}
	kt_mpw_map(c->body, out);
	kt_mpw_raw(c->body, rest.sb.data, rest.sb.size);
	ok = true;
done:
	kt_mpw_free(&rest);
	return ok;
}

int push_replay(push_ctx *c, const kt_mut *m, bool *answered)
{
	/* the answers are the person's: a borrowed device id reads none */
	sqlite3_stmt *q = store_prepare(c->st, "SELECT result FROM mutation WHERE principal_id = ? AND "
					       "device_id = ? AND mid = ?");
	*answered = false;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, c->p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, m->mid);
	if (sqlite3_step(q) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(q, 0);
		size_t n = (size_t)sqlite3_column_bytes(q, 0), plen;
		char *plain = NULL, rid[KT_UUID_LEN + 24];
		bool shown = false;
		proto_push_duplicate_encode(c->body, m->mid);
		c->n++;
		kt_metric_inc(KT_M_MUT_DUPLICATE, 0);
		snprintf(rid, sizeof rid, "%s:%lld", c->device, (long long)m->mid);
		if (!keyring_is_sealed(b, n))
			shown = replay_answer(c, m, b, n);
		else if (keyring_unseal(store_keyring(c->st), "mutation", "result", rid, b, n, &plain, &plen) == KT_OK)
			shown = replay_answer(c, m, (const uint8_t *)plain, plen);
		if (!shown) /* the row's client was erased since: so is what the answer said */
			proto_push_rejected_encode(c->body, m->mid, kt_err_name(KT_ENOT_FOUND),
						   "the row and this answer were erased", false);
		free(plain);
		*answered = true;
	}
	store_finish(c->st, q);
	return KT_OK;
}
