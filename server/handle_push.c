/* handle_push.c - a device's batch of offline edits. Each mutation is
 * checked in a fixed order (duplicate, shape, write policy, row scope, base
 * version, field merge, booking rules), applied through the store (row +
 * change log + audit in the batch's one transaction) or rejected with a
 * reason, and its answer is recorded with it: a replay gets the first answer
 * and changes nothing. The answer is sent only after the commit. A rejection
 * never stops the mutations behind it. Device clocks decide nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sodium.h>
#include "audit.h"
#include "consent.h"
#include "egress.h"
#include "egress_check.h"
#include "keyring.h"
#include "ops.h"
#include "push.h"
#include "validate.h"

#define MAX_FIELDS 32

typedef struct push_ctx {
	kt_store *st;             /* the writer's connection, in its transaction */
	const kt_principal *p;
	const char *device;
	kt_mpw *body;             /* results */
	uint32_t n;
	int rc;                   /* a database failure aborts the whole batch */
	bool any_mid;             /* the device has recorded mutations... */
	int64_t max_mid;          /* ...none above this one (none recorded: any_mid false) */
} push_ctx;

/* A mutation's fields, converted to the store's text form. */
typedef struct mut_fields {
	int n;
	const char *name[MAX_FIELDS];
	int col[MAX_FIELDS];
	char *text[MAX_FIELDS]; /* owned; NULL = SQL NULL */
	kt_field f[MAX_FIELDS];
} mut_fields;

static void fields_free(mut_fields *mf)
{
	for (int i = 0; i < mf->n; i++)
		free(mf->text[i]);
	mf->n = 0;
}

/* Decode and type-check the f map against the table. why (cap bytes) gets
 * a reason that names the field. */
static int fields_read(const kt_table *t, const kt_mut *m, mut_fields *mf, char *why, size_t cap)
{
	kt_mp r;
	uint32_t n;
	memset(mf, 0, sizeof *mf);
	if (!m->fields)
		return KT_OK;
	kt_mp_init(&r, m->fields, m->fields_len);
	if (kt_mp_read_map(&r, &n))
		return snprintf(why, cap, "f must be a map"), KT_EMALFORMED;
	if (n > MAX_FIELDS)
		return snprintf(why, cap, "at most %d fields per mutation", MAX_FIELDS), KT_ETOO_LARGE;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		char name[64];
		if (kt_mp_read_str(&r, &k, &kl, 63))
			return snprintf(why, cap, "field names are strings of at most 63 bytes"), KT_EMALFORMED;
		memcpy(name, k, kl);
		name[kl] = 0;
		int c = kt_col_index(t, name);
		if (c < 0 || !strcmp(name, "id") || !strcmp(name, "org_id") || !strcmp(name, "version") ||
		    !strcmp(name, "updated_at"))
			return snprintf(why, cap, "%s is not a field of %s that a device may write", name, t->name), KT_EINVALID;
		for (int k2 = 0; k2 < mf->n; k2++)
			if (mf->col[k2] == c)
				return snprintf(why, cap, "%s appears twice", name), KT_EMALFORMED;
		int j = mf->n++;
		mf->col[j] = c;
		mf->name[j] = t->cols[c].name;
		char buf[32];
		const char *str;
		size_t len;
		int64_t iv;
		bool b;
		uint32_t an;
		if (kt_mp_peek(&r) == KT_MP_NIL) {
			if (kt_mp_read_nil(&r))
				return KT_EMALFORMED;
			mf->text[j] = NULL;
		} else
			switch (t->cols[c].type) {
			case KT_COL_INT:
				if (kt_mp_read_int(&r, &iv))
					return snprintf(why, cap, "%s must be a whole number", name), KT_EINVALID;
				snprintf(buf, sizeof buf, "%lld", (long long)iv);
				mf->text[j] = strdup(buf);
				break;
			case KT_COL_BOOL:
				if (kt_mp_read_bool(&r, &b))
					return snprintf(why, cap, "%s must be true or false", name), KT_EINVALID;
				mf->text[j] = strdup(b ? "1" : "0");
				break;
			case KT_COL_TEXT:
				if (kt_mp_read_str(&r, &str, &len, KT_MAX_STR))
					return snprintf(why, cap, "%s must be a string", name), KT_EINVALID;
				mf->text[j] = kt_strndup(str, len);
				break;
			case KT_COL_LIST: {
				if (kt_mp_read_array(&r, &an) || an > 64)
					return snprintf(why, cap, "%s must be an array of at most 64 strings", name), KT_EINVALID;
				char *out = calloc(1, (size_t)an * 65 + 1);
				for (uint32_t e = 0; out && e < an; e++) {
					if (kt_mp_read_str(&r, &str, &len, 64) || memchr(str, ',', len) || len == 0) {
						free(out);
						return snprintf(why, cap, "%s elements are non-empty strings without commas", name), KT_EINVALID;
					}
					if (e)
						strcat(out, ",");
					strncat(out, str, len);
				}
				mf->text[j] = out;
				break;
			}
			}
		mf->f[j] = (kt_field){mf->name[j], mf->text[j]};
	}
	return KT_OK;
}

/* ---- results ---- */

static void result_begin(push_ctx *c, const kt_mut *m, const char *status, uint32_t extra)
{
	kt_mpw_map(c->body, 2 + extra);
	kt_mpw_str(c->body, "mid");
	kt_mpw_int(c->body, m->mid);
	kt_mpw_str(c->body, "status");
	kt_mpw_str(c->body, status);
	c->n++;
}

/* Remember the answer just packed (from body offset start) for replays.
 * An answer about a client's row may carry its current values: it is
 * sealed with the client's key (erasing the client makes it unreadable;
 * a replay then gets not_found). */
static int record(push_ctx *c, const kt_mut *m, size_t start, const kt_row *row)
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

/* ---- the row as the mutation would leave it ---- */

static const char *val(const kt_row *row, const mut_fields *mf, const char *col)
{
	for (int i = 0; i < mf->n; i++)
		if (!strcmp(mf->name[i], col))
			return mf->text[i];
	if (!row)
		return NULL;
	int c = kt_col_index(row->t, col);
	return c >= 0 && !row->v[c].null ? row->v[c].s : NULL;
}

static int64_t val_int(const kt_row *row, const mut_fields *mf, const char *col)
{
	for (int i = 0; i < mf->n; i++)
		if (!strcmp(mf->name[i], col))
			return mf->text[i] ? atoll(mf->text[i]) : 0;
	int c = row ? kt_col_index(row->t, col) : -1;
	return c >= 0 ? row->v[c].i : 0;
}

/* True when column col of the loaded row already holds text (the store's
 * text form of a pushed value): writing it would change nothing. */
static bool same_value(const kt_row *row, int col, const char *text)
{
	const kt_val *v = &row->v[col];
	char buf[24];
	if (col < 64 && (row->unopened >> col & 1))
		return false;
	if (!text || v->null)
		return !text && v->null;
	if (row->t->cols[col].type == KT_COL_INT || row->t->cols[col].type == KT_COL_BOOL) {
		snprintf(buf, sizeof buf, "%lld", (long long)v->i);
		return !strcmp(buf, text);
	}
	return v->s && strlen(text) == v->len && !memcmp(v->s, text, v->len);
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
	cid = mf ? val(NULL, mf, "client_id") : NULL;
	lid = mf ? val(NULL, mf, "location_id") : NULL;
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
static int reject(push_ctx *c, const kt_mut *m, size_t start, int code, const char *msg, const kt_row *route,
		  bool current, const mut_fields *mf)
{
	char tbl[64], id[64], client[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1];
	const kt_row *cur = current && egress_row_visible(c->p, route) ? route : NULL;
	snprintf(tbl, sizeof tbl, "%.*s", (int)m->tbl.len, m->tbl.s);
	snprintf(id, sizeof id, "%.*s", (int)m->id.len, m->id.s);
	if (!msg || !*msg) {
		kt_warn("push: %s of %s %s refused without a reason", kt_err_name(code), tbl, id);
		msg = "refused by a server check that gave no reason (a server bug; please report it)";
	}
	result_begin(c, m, "rejected", cur ? 3 : 2);
	kt_mpw_str(c->body, "code");
	kt_mpw_str(c->body, kt_err_name(code));
	kt_mpw_str(c->body, "msg");
	kt_mpw_str(c->body, msg);
	if (cur) {
		kt_mpw_str(c->body, "current");
		egress_fields(c->body, c->p, cur, mf->col, mf->n, NULL);
	}
	/* rejected attempts are part of the record too (who tried what, about whom) */
	char action[48];
	snprintf(action, sizeof action, "rejected:%s", kt_err_name(code));
	audit_scope(c, route, mf, client, loc);
	kt_audit_entry e = {c->p->org, action, tbl, id, client[0] ? client : NULL, loc[0] ? loc : NULL,
			    NULL, NULL, NULL};
	int rc = audit_append(c->st, &e);
	return rc ? rc : record(c, m, start, cur);
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

/* May p see row id of table tbl (as it is in this transaction)? */
static bool may_see(kt_store *st, const kt_principal *p, const char *tbl, const char *id)
{
	kt_row r;
	bool yes;
	if (store_row_load_some(st, kt_table_find(tbl, strlen(tbl)), id, NULL, 0, &r) != KT_OK)
		return false;
	yes = egress_row_visible(p, &r);
	kt_row_free(&r);
	return yes;
}

/* ---- the rules ---- */

/* What a create must carry, and the value a left-out field gets (NULL:
 * none, the create is refused naming the field). PROTOCOL.md lists it. */
static const struct {
	const char *tbl, *col, *dflt;
} create_fields[] = {
	{"client", "name", NULL},
	{"appointment", "location_id", NULL},
	{"appointment", "client_id", NULL},
	{"appointment", "specialist_id", NULL},
	{"appointment", "start_at", NULL},
	{"appointment", "duration_min", NULL},
	{"appointment", "services", ""},
	{"appointment", "status", "booked"},
	{"visit", "location_id", NULL},
	{"visit", "client_id", NULL},
	{"visit", "specialist_id", NULL},
	{"visit", "visit_date", NULL},
	{"visit", "services", ""},
	{"service", "name", NULL},
	{"service", "duration_min", NULL},
	{"service", "price_cents", NULL},
	{"location", "name", NULL},
	{"location", "time_zone", NULL},
	{"staff", "display_name", NULL},
	{"staff", "email", NULL},
	{"staff", "role", NULL},
};

/* Fill in the defaults of a create; the first required field it lacks
 * (also one given as nil), or NULL. */
static const char *create_complete(const kt_table *t, mut_fields *mf)
{
	for (size_t k = 0; k < sizeof create_fields / sizeof create_fields[0]; k++) {
		int c, i;
		if (strcmp(create_fields[k].tbl, t->name) || (c = kt_col_index(t, create_fields[k].col)) < 0)
			continue;
		for (i = 0; i < mf->n && mf->col[i] != c; i++)
			;
		if (i < mf->n && mf->text[i])
			continue;
		if (!create_fields[k].dflt || mf->n == MAX_FIELDS)
			return create_fields[k].col;
		if (i == mf->n) {
			mf->n++;
			mf->col[i] = c;
			mf->name[i] = t->cols[c].name;
		}
		if (!(mf->text[i] = strdup(create_fields[k].dflt)))
			return create_fields[k].col;
		mf->f[i] = (kt_field){mf->name[i], mf->text[i]};
	}
	return NULL;
}

/* The override a mutation carries, checked: NULL and *code 0 when it has
 * none; NULL and *code set with why when it is refused; else the reason
 * (owned by the caller). Only the booking overlap can be overridden, and
 * only by the roles that book (owner, manager, reception). */
static char *override_reason(const kt_principal *p, const kt_table *t, const kt_mut *m, int *code, char *why,
			     size_t cap)
{
	*code = 0;
	if (!m->ovr_rule.s && !m->ovr_bad)
		return NULL;
	*code = KT_EINVALID;
	if (m->ovr_bad)
		snprintf(why, cap, "override must be {rule: \"overlap\", reason: text}");
	else if (strcmp(t->name, "appointment"))
		snprintf(why, cap, "override: only appointments have a booking rule to override");
	else if (!kt_mp_str_eq(m->ovr_rule.s, m->ovr_rule.len, "overlap"))
		snprintf(why, cap, "override.rule must be \"overlap\": the only booking rule that can be overridden");
	else if (!ops_reason_valid(m->ovr_reason.s, m->ovr_reason.len))
		snprintf(why, cap, "override.reason must say why, in 1..%d bytes of text", OPS_MAX_REASON);
	else if (!policy_may(p, KT_ACT_OVERRIDE_BOOKING))
		*code = KT_EDENIED, snprintf(why, cap, "%s may not override the booking rules", kt_role_name(p->role));
	else {
		char *r = kt_strndup(m->ovr_reason.s, m->ovr_reason.len);
		*code = r ? 0 : KT_ENOMEM;
		return r;
	}
	return NULL;
}

/* ---- where a write may land ---- */

/* The row as it is (row, NULL for a create) and as the write leaves it
 * (only location_id can move a row: staff and client links change through
 * the admin command and bookings) is inside p's write scope. */
static bool in_scope(const kt_principal *p, const kt_table *t, const kt_row *row, const char *id, const char *loc)
{
	const char *after = row ? row->locs : NULL;
	if (row && !policy_write_scope(p, t, row->locs))
		return false;
	if (t->route == KT_ROUTE_LOC_COL)
		after = loc ? loc : "";
	else if (t->route == KT_ROUTE_LOC_OPT)
		after = loc ? loc : "*"; /* nil: the whole menu, every branch */
	else if (t->route == KT_ROUTE_SELF_LOC)
		after = id;
	/* a new client card is linked to the writer's branch when it is made */
	return !after || policy_write_scope(p, t, after);
}

static const char *scope_why(const kt_principal *p, const kt_table *t)
{
	(void)p;
	switch (t->route) {
	case KT_ROUTE_LOC_OPT:
		return "location_id: a manager changes only the services of their own locations, not those of "
		       "another branch nor of every location (location_id nil: the owner's)";
	case KT_ROUTE_SELF_LOC:
		return "a manager edits only their own locations";
	case KT_ROUTE_STAFF_LOCS:
		return "a manager edits only staff who work at their locations alone; the owner and staff of other "
		       "branches are the owner's";
	case KT_ROUTE_CLIENT_LOCS:
		return "this client is not known at your locations";
	default:
		return "location_id: the location is not one of yours";
	}
}

/* A visit's appointment is one of the same client (asked when either
 * changes; both are rows the writer may see by then). */
static int visit_appointment(push_ctx *c, const kt_table *t, const kt_row *row, const mut_fields *mf, char *msg,
			     size_t cap)
{
	const char *appt = val(row, mf, "appointment_id"), *client = val(row, mf, "client_id");
	bool changed = false;
	char *locs = NULL, owner[KT_UUID_LEN + 1];
	int rc;
	if (strcmp(t->name, "visit") || !appt)
		return KT_OK;
	for (int i = 0; i < mf->n; i++)
		changed |= (!strcmp(mf->name[i], "appointment_id") || !strcmp(mf->name[i], "client_id")) &&
			   (!row || !same_value(row, mf->col[i], mf->text[i]));
	if (!changed)
		return KT_OK;
	rc = store_row_routing(c->st, kt_table_find("appointment", 11), appt, &locs, owner);
	free(locs);
	if (rc && rc != KT_ENOT_FOUND)
		return rc;
	if (rc || !client || strcmp(owner, client)) {
		snprintf(msg, cap, "appointment_id names an appointment of another client (a visit's appointment is "
			 "one of the same client)");
		return KT_EINVALID;
	}
	return KT_OK;
}

/* Every row the mutation names (client_id, specialist_id, appointment_id,
 * services, location_id) is one p may see, in p's organisation. A row that
 * does not exist, one at another branch and one of another organisation get
 * the same answer, KT_ENOT_FOUND naming the field, so that a writer learns
 * nothing about rows outside their sight. Unchanged values of an update are
 * not asked again. KT_OK, a refusal (msg set) or a database error. */
static int check_refs(push_ctx *c, const kt_table *t, const kt_row *row, const mut_fields *mf, char *msg, size_t cap)
{
	const kt_principal *p = c->p;
	if (p->is_client)
		return KT_OK; /* a client writes only their own consents: consent.c refuses any other id alike */
	for (int i = 0; i < mf->n; i++) {
		const kt_table *rt = policy_ref_target(t, mf->col[i]);
		if (!rt || !mf->text[i] || !mf->text[i][0] || (row && same_value(row, mf->col[i], mf->text[i])))
			continue;
		for (const char *e = mf->text[i]; e;) {
			const char *comma = strchr(e, ','); /* a list column: one row per element */
			size_t n = comma ? (size_t)(comma - e) : strlen(e);
			char rid[KT_UUID_LEN + 1];
			kt_row r;
			bool visible = false;
			int rc = KT_ENOT_FOUND;
			if (kt_uuid_valid(e, n)) {
				memcpy(rid, e, n);
				rid[n] = 0;
				rc = store_row_load_some(c->st, rt, rid, NULL, 0, &r); /* its routing is enough */
			}
			if (rc && rc != KT_ENOT_FOUND)
				return rc;
			if (!rc) {
				visible = policy_row_visible(p, rt, r.locs, r.client, &r);
				kt_row_free(&r);
			}
			if (!visible) {
				snprintf(msg, cap, "%s: no such %s %s", mf->name[i],
					 !strcmp(rt->name, "staff") ? "staff member" : rt->name,
					 p->role == KT_ROLE_OWNER || !strcmp(rt->name, "service") ? "in your organisation"
					 : !strcmp(rt->name, "client")
						 ? "known at your locations (a client new to your branch gets a card made there)"
						 : "at your locations");
				return KT_ENOT_FOUND;
			}
			e = comma ? comma + 1 : NULL;
		}
	}
	return visit_appointment(c, t, row, mf, msg, cap);
}

static int apply_one(void *user, const kt_mut *m)
{
	push_ctx *c = user;
	kt_store *st = c->st;
	const kt_principal *p = c->p;
	const kt_table *t;
	mut_fields mf = {0};
	kt_row row = {0};
	const kt_row *route = NULL, *seen = NULL;
	bool have_row = false, create;
	const char *why = NULL, *missing;
	char msg[256] = "", id[KT_UUID_LEN + 1], other[KT_UUID_LEN + 1] = "", *reason = NULL;
	size_t start = c->body->sb.size;
	int rc, frc, ocode;

	if (c->rc)
		return c->rc;
	/* 1. the same mutation again: the first answer, nothing changes (a mid
	 * above the device's highest recorded one cannot be a replay) */
	if (!c->any_mid || m->mid <= c->max_mid) {
		/* the answers are the person's: a borrowed device id reads none */
		sqlite3_stmt *q = store_prepare(st, "SELECT result FROM mutation WHERE principal_id = ? AND "
						    "device_id = ? AND mid = ?");
		if (!q)
			return c->rc = KT_EIO;
		sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, c->device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, m->mid);
		if (sqlite3_step(q) == SQLITE_ROW) {
			const void *b = sqlite3_column_blob(q, 0);
			size_t n = (size_t)sqlite3_column_bytes(q, 0), plen;
			char *plain = NULL, rid[KT_UUID_LEN + 24];
			result_begin(c, m, "duplicate", 1);
			kt_mpw_str(c->body, "first");
			snprintf(rid, sizeof rid, "%s:%lld", c->device, (long long)m->mid);
			bool shown = false;
			if (!keyring_is_sealed(b, n))
				shown = replay_answer(c, m, b, n);
			else if (keyring_unseal(store_keyring(st), "mutation", "result", rid, b, n, &plain, &plen) == KT_OK)
				shown = replay_answer(c, m, (const uint8_t *)plain, plen);
			if (!shown) { /* the row's client was erased since: so is what the answer said */
				kt_mpw_map(c->body, 4);
				kt_mpw_str(c->body, "mid");
				kt_mpw_int(c->body, m->mid);
				kt_mpw_str(c->body, "status");
				kt_mpw_str(c->body, "rejected");
				kt_mpw_str(c->body, "code");
				kt_mpw_str(c->body, kt_err_name(KT_ENOT_FOUND));
				kt_mpw_str(c->body, "msg");
				kt_mpw_str(c->body, "the row and this answer were erased");
			}
			free(plain);
			store_finish(st, q);
			return KT_OK;
		}
		store_finish(st, q);
		/* a lower mid never answered is applied like any other: a push
		 * refused with io_error may come again after a later one applied */
	}
	/* 2. shape */
	t = kt_table_find(m->tbl.s, m->tbl.len);
	create = kt_mp_str_eq(m->op.s, m->op.len, "create");
	if (!t || !strcmp(t->name, "organisation"))
		return c->rc = reject(c, m, start, KT_EINVALID, "unknown table", NULL, false, &mf);
	if (!kt_uuid_valid(m->id.s, m->id.len))
		return c->rc = reject(c, m, start, KT_EINVALID, "ids are UUIDs in canonical lower-case form", NULL, false,
				      &mf);
	memcpy(id, m->id.s, KT_UUID_LEN);
	id[KT_UUID_LEN] = 0;
	/* the shape of f, then the values themselves (validate.c, the rules of
	 * every write path) */
	if ((frc = fields_read(t, m, &mf, msg, sizeof msg)) == KT_OK)
		frc = validate_fields(t, mf.f, mf.n, msg, sizeof msg);
	if (frc) {
		fields_free(&mf);
		why = msg;
	}
	/* the row and its scope (of its sealed fields only the ones this
	 * mutation names are opened: for the before image and the current
	 * values of an answer); every answer about it, refused or not, is
	 * audited with its client and location */
	rc = store_row_load_some(st, t, id, mf.col, mf.n, &row);
	have_row = rc == KT_OK;
	if (rc && rc != KT_ENOT_FOUND) {
		c->rc = rc;
		goto done;
	}
	route = have_row ? &row : NULL;
	seen = egress_row_visible(p, route) ? &row : NULL; /* of another branch or organisation: not */
	if (!create && !kt_mp_str_eq(m->op.s, m->op.len, "update"))
		c->rc = reject(c, m, start, KT_EINVALID, "op is create or update", route, false, &mf);
	else if (!create && t->immutable)
		c->rc = reject(c, m, start, KT_EAPPEND_ONLY,
			       "consents are append-only: record a new grant or withdrawal instead", route, false, &mf);
	else if (frc)
		c->rc = reject(c, m, start, frc, why, route, false, &mf);
	else
		goto shaped;
	goto done;
shaped:
	/* 3. write policy, field by field */
	for (int i = 0; i < mf.n; i++)
		if (!policy_write(p->role, t, mf.col[i])) {
			snprintf(msg, sizeof msg, "%s may not change %s.%s", kt_role_name(p->role), t->name, mf.name[i]);
			c->rc = reject(c, m, start, KT_EDENIED, msg, route, true, &mf);
			goto done;
		}
	if (create && !policy_create(p->role, t)) {
		snprintf(msg, sizeof msg, "%s may not create %s rows%s", kt_role_name(p->role), t->name,
			 !strcmp(t->name, "location") ? ": a new branch is the owner's"
			 : !strcmp(t->name, "staff") ? ": staff are added with the admin command" : "");
		c->rc = reject(c, m, start, KT_EDENIED, msg, route, true, &mf);
		goto done;
	}
	reason = override_reason(p, t, m, &ocode, msg, sizeof msg);
	if (ocode == KT_ENOMEM) {
		c->rc = ocode;
		goto done;
	}
	if (ocode) {
		c->rc = reject(c, m, start, ocode, msg, route, true, &mf);
		goto done;
	}
	/* 4. the row exists (or not, for a create) and is the writer's */
	if (create && have_row) /* values only for a row the writer may see */
		c->rc = reject(c, m, start, KT_ECONFLICT, "a row with this id exists", route, true, &mf);
	else if (!create && !have_row)
		c->rc = reject(c, m, start, KT_ENOT_FOUND, "no such row (deleted, or never synced)", NULL, false, &mf);
	else if (!create && !seen)
		c->rc = reject(c, m, start, KT_EDENIED, "this row is not at your locations", route, false, &mf);
	else if (!create && m->base > row.version)
		c->rc = reject(c, m, start, KT_EINVALID, "base version from the future", route, true, &mf);
	else if (!create && m->base < 1) /* rows start at version 1: base 0 saw nothing to update */
		c->rc = reject(c, m, start, KT_EINVALID,
			       "base must be the row version you saw (a create is version 1); 0 is only for create", route,
			       true, &mf);
	else if (!create && mf.n == 0)
		c->rc = reject(c, m, start, KT_EINVALID, "an update needs fields", route, true, &mf);
	else if (create && (missing = create_complete(t, &mf))) {
		snprintf(msg, sizeof msg, "a new %s needs %s", t->name, missing);
		c->rc = reject(c, m, start, KT_EINVALID, msg, NULL, false, &mf);
	} else
		goto checked;
	goto done;
checked:;
	/* the row as it is and as it would be stays in the writer's scope, and
	 * every row it names is one the writer may see */
	const char *loc = val(have_row ? &row : NULL, &mf, "location_id");
	if (t->route != KT_ROUTE_VIA_CLIENT && !in_scope(p, t, have_row ? &row : NULL, id, loc)) {
		c->rc = reject(c, m, start, KT_EDENIED, scope_why(p, t), route, true, &mf);
		goto done;
	}
	if ((rc = check_refs(c, t, have_row ? &row : NULL, &mf, msg, sizeof msg))) {
		c->rc = rc == KT_EIO || rc == KT_ENOMEM ? rc : reject(c, m, start, rc, msg, route, true, &mf);
		goto done;
	}
	/* consents: whose, which purpose, which source (consent.c), then recorded
	 * with the server's own recorded_by/recorded_kind */
	if (!strcmp(t->name, "consent")) {
		kt_consent cs;
		int64_t v = 0;
		const char *why2 = msg;
		int64_t retry = 0;
		bool same = false;
		if ((rc = consent_from_fields(mf.f, mf.n, &cs, &why)))
			why2 = why;
		else if ((rc = consent_check(st, p, &cs, msg, sizeof msg)))
			;
		/* the state it already is: permanent history gains nothing */
		else if ((same = consent_unchanged(st, &cs, &v)))
			;
		else if (p->is_client && (rc = consent_client_budget(st, p->id, kt_now_ms(), &retry))) {
			if (rc == KT_ERATE_LIMITED)
				snprintf(msg, sizeof msg,
					 "a portal client records at most %d consent entries per hour; retry in %lld s",
					 KT_CLIENT_CONSENTS, (long long)(retry + 999) / 1000);
		} else if ((rc = consent_record(st, id, &cs, &v)) == KT_EINVALID)
			why2 = "the values were refused by the database"; /* nothing was written */
		if (rc == KT_EINVALID || rc == KT_EDENIED || rc == KT_ENOT_FOUND || rc == KT_ECONFLICT ||
		    rc == KT_ERATE_LIMITED)
			c->rc = reject(c, m, start, rc, why2, NULL, false, &mf);
		else if (rc)
			c->rc = rc; /* a database failure: the batch is rolled back */
		else {
			result_begin(c, m, "applied", 1);
			kt_mpw_str(c->body, "v");
			kt_mpw_int(c->body, v);
			c->rc = record(c, m, start, NULL);
		}
		goto done;
	}
	/* 5. field-level merge: a field already holding the value changes
	 * nothing (and conflicts with nobody); fields changed by someone else
	 * since base are not ours to overwrite; one's own earlier edits, from
	 * any of one's devices, are not someone else's */
	bool keep[MAX_FIELDS];
	int nkeep = mf.n, nconf = 0, nsame = 0;
	for (int i = 0; i < mf.n; i++)
		keep[i] = true;
	if (!create) {
		int64_t fv[MAX_FIELDS];
		store_row_field_versions(&row, mf.name, mf.n, p->id, c->device, fv); /* loaded in step 4 */
		for (int i = 0; i < mf.n; i++)
			if (same_value(&row, mf.col[i], mf.text[i]) || fv[i] > m->base) {
				keep[i] = false;
				nkeep--;
				if (same_value(&row, mf.col[i], mf.text[i]))
					nsame++;
				else
					nconf++;
			}
	}
	mut_fields apply = mf; /* the fields that still apply (borrowed texts) */
	apply.n = 0;
	for (int i = 0; i < mf.n; i++)
		if (keep[i]) {
			apply.name[apply.n] = mf.name[i];
			apply.col[apply.n] = mf.col[i];
			apply.text[apply.n] = mf.text[i];
			apply.f[apply.n++] = mf.f[i];
		}
	if (nkeep == 0 && nsame == 0) {
		c->rc = reject(c, m, start, KT_ECONFLICT, "every field was changed by someone else since your version",
			       route, true, &mf);
		goto done;
	}
	/* 6. booking rules (ops.c: the same for every path that writes appointments) */
	bool booking = create;
	for (int i = 0; i < apply.n; i++)
		booking |= !strcmp(apply.name[i], "location_id") || !strcmp(apply.name[i], "specialist_id") ||
			   !strcmp(apply.name[i], "client_id") || !strcmp(apply.name[i], "start_at") ||
			   !strcmp(apply.name[i], "duration_min") || !strcmp(apply.name[i], "status") ||
			   !strcmp(apply.name[i], "services");
	if (!strcmp(t->name, "appointment") && booking && nkeep) {
		const kt_row *r = have_row ? &row : NULL;
		kt_booking b = {p->org,
				val(r, &apply, "location_id"),
				val(r, &apply, "client_id"),
				val(r, &apply, "specialist_id"),
				val(r, &apply, "services"),
				val_int(r, &apply, "start_at"),
				val_int(r, &apply, "duration_min"),
				val(r, &apply, "status")};
		if ((rc = ops_booking_check(st, id, &b, reason != NULL, other, msg, sizeof msg))) {
			if (rc == KT_ECONFLICT && other[0] && !may_see(st, p, "appointment", other))
				/* the rule, without the id of an appointment the writer may not see */
				snprintf(msg, sizeof msg, "the specialist is already booked then (an appointment at a "
							  "location you do not see)");
			c->rc = rc == KT_EIO ? rc : reject(c, m, start, rc, msg, route, true, &mf);
			goto done;
		}
	}
	/* 7. apply: row + change log + audit, as this person on this device
	 * (push_job_step set the actor: rejections are theirs too). Nothing to
	 * change: applied at the current version, and nothing is written */
	int64_t v = have_row ? row.version : 0;
	rc = KT_OK;
	if (create) {
		rc = store_insert(st, t->name, id, p->org, apply.f, apply.n, &v);
		if (!rc && (t->route == KT_ROUTE_LOC_COL) && val(NULL, &apply, "client_id"))
			rc = store_link_client_location(st, val(NULL, &apply, "client_id"), loc);
		if (!rc && t->route == KT_ROUTE_CLIENT_LOCS && p->role != KT_ROLE_OWNER) {
			/* a new card is known at the branch that made it */
			char first[KT_UUID_LEN + 1] = "";
			snprintf(first, sizeof first, "%.*s", (int)strcspn(p->locs, ","), p->locs);
			rc = store_link_client_location(st, id, first);
		}
	} else if (nkeep)
		rc = store_update_loaded(st, &row, id, apply.f, apply.n, &v); /* row: read in step 4 */
	if (rc == KT_EINVALID || rc == KT_ECONFLICT || rc == KT_ENOT_FOUND) {
		c->rc = reject(c, m, start, rc, "the values were refused by the database", route, true, &mf);
		goto done;
	}
	if (!rc && other[0]) /* a double booking on purpose, and why */
		rc = ops_booking_override_record(st, p->org, id, val(have_row ? &row : NULL, &apply, "client_id"), loc,
						 other, reason);
	if (rc) {
		c->rc = rc;
		goto done;
	}
	result_begin(c, m, "applied", nconf ? 2 : 1);
	kt_mpw_str(c->body, "v");
	kt_mpw_int(c->body, v);
	if (nconf) {
		bool conf[MAX_FIELDS];
		for (int i = 0; i < mf.n; i++)
			conf[i] = !keep[i] && !same_value(&row, mf.col[i], mf.text[i]);
		kt_mpw_str(c->body, "conflicts");
		egress_fields(c->body, p, &row, mf.col, mf.n, conf);
	}
	c->rc = record(c, m, start, have_row && nconf ? &row : NULL); /* only conflicts carry values */
done:
	free(reason);
	fields_free(&mf);
	if (have_row)
		kt_row_free(&row);
	return c->rc;
}

/* Views recorded lately, so that opening the same card again and again
 * writes one audit entry per KT_VIEWED_DEDUP_MS, not one per tap (entries
 * are permanent and hash-chained). In memory, per process: a restart or an
 * evicted slot costs one more entry, never a missing first one. */
#define VIEW_SLOTS 16384
#define VIEW_PROBE 8
static struct view_slot {
	uint8_t key[16];
	int64_t at;
} views[VIEW_SLOTS];
static pthread_mutex_t views_mu = PTHREAD_MUTEX_INITIALIZER;

static bool view_is_new(const char *person, const char *tbl, const char *id)
{
	uint8_t k[16];
	crypto_generichash_state gs;
	int64_t now = kt_now_ms();
	struct view_slot *old = NULL;
	bool fresh = true;
	crypto_generichash_init(&gs, NULL, 0, sizeof k);
	crypto_generichash_update(&gs, (const uint8_t *)person, strlen(person) + 1);
	crypto_generichash_update(&gs, (const uint8_t *)tbl, strlen(tbl) + 1);
	crypto_generichash_update(&gs, (const uint8_t *)id, strlen(id));
	crypto_generichash_final(&gs, k, sizeof k);
	uint32_t start = ((uint32_t)k[0] << 16 | (uint32_t)k[1] << 8 | k[2]) % VIEW_SLOTS;
	pthread_mutex_lock(&views_mu);
	for (int i = 0; i < VIEW_PROBE; i++) {
		struct view_slot *v = &views[(start + (uint32_t)i) % VIEW_SLOTS];
		if (!memcmp(v->key, k, sizeof k)) {
			fresh = now - v->at >= KT_VIEWED_DEDUP_MS;
			old = v;
			break;
		}
		if (!old || v->at < old->at)
			old = v;
	}
	if (fresh) {
		memcpy(old->key, k, sizeof k);
		old->at = now;
	}
	pthread_mutex_unlock(&views_mu);
	return fresh;
}

/* "I opened this card": an audit entry, if the row is one this person may
 * see (anything else is dropped: it reveals nothing and changes nothing),
 * and not one already recorded for this person and row within
 * KT_VIEWED_DEDUP_MS. */
static int record_event(void *user, const kt_event *e)
{
	push_ctx *c = user;
	const kt_principal *p = c->p;
	const kt_table *t = kt_table_find(e->tbl.s, e->tbl.len);
	char id[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1] = "";
	kt_row row;
	int rc = KT_OK;

	if (!t || !kt_mp_str_eq(e->kind.s, e->kind.len, "viewed") || !kt_uuid_valid(e->id.s, e->id.len))
		return KT_OK;
	memcpy(id, e->id.s, KT_UUID_LEN);
	id[KT_UUID_LEN] = 0;
	if (store_row_load_some(c->st, t, id, NULL, 0, &row) != KT_OK) /* its routing is enough */
		return KT_OK;
	if (policy_row_visible(p, t, row.locs, row.client, &row) && view_is_new(p->id, t->name, id)) {
		snprintf(loc, sizeof loc, "%.*s", (int)strcspn(row.locs, ","), row.locs);
		kt_audit_entry a = {p->org, "viewed", t->name, id, row.client[0] ? row.client : NULL,
				    strlen(loc) == KT_UUID_LEN ? loc : NULL, NULL, NULL, NULL};
		store_set_actor(c->st, p->is_client ? "client" : "staff", p->id, c->device, e->at);
		rc = audit_append(c->st, &a);
		store_set_actor(c->st, "system", NULL, NULL, 0);
	}
	kt_row_free(&row);
	return rc;
}

/* ---- the job: made on the loop, applied on the writer thread ---- */

typedef struct collect {
	kt_mut *muts;
	uint32_t n, cap;
} collect;

static int collect_mut(void *user, const kt_mut *m)
{
	collect *c = user;
	if (c->n == c->cap) { /* the decoder checked the count against KT_PUSH_MAX */
		uint32_t cap = c->cap ? c->cap * 2 : 32;
		kt_mut *more = realloc(c->muts, cap * sizeof *more);
		if (!more)
			return KT_ENOMEM;
		c->muts = more;
		c->cap = cap;
	}
	c->muts[c->n++] = *m;
	return KT_OK;
}

static int count_event(void *user, const kt_event *e)
{
	(void)e;
	(*(uint32_t *)user)++;
	return KT_OK;
}

kt_push_job *push_job_new(const kt_session *s, const unsigned char *buf, size_t len, int *rc)
{
	kt_push_job *j = calloc(1, sizeof *j);
	*rc = KT_ENOMEM;
	if (!j)
		return NULL;
	j->session_id = s->id;
	memcpy(j->device, s->device, sizeof j->device);
	j->principal = s->principal;
	j->principal.locs = s->principal.locs ? strdup(s->principal.locs) : NULL;
	j->rights_gen = s->rights_gen;
	j->buf = malloc(len ? len : 1);
	kt_mpw_init(&j->body);
	if (!j->buf || (s->principal.locs && !j->principal.locs)) {
		push_job_free(j);
		return NULL;
	}
	memcpy(j->buf, buf, len);
	j->len = len;
	/* decoded from our copy: the kt_str and field pointers point into it */
	collect c = {NULL, 0, 0};
	uint32_t count = 0, nevents = 0;
	*rc = proto_push_decode(j->buf, len, collect_mut, &c, &count);
	j->muts = c.muts;
	if (!*rc && c.n != count)
		*rc = KT_EMALFORMED;
	if (!*rc)
		*rc = proto_push_events_decode(j->buf, len, count_event, &nevents);
	if (*rc) {
		push_job_free(j);
		return NULL;
	}
	j->nmuts = c.n;
	/* a push without events costs the writer no second walk of the frame */
	j->nevents = nevents;
	j->events_done = nevents == 0;
	return j;
}

void push_job_free(kt_push_job *j)
{
	if (!j)
		return;
	kt_principal_free(&j->principal);
	kt_mpw_free(&j->body);
	free(j->muts);
	free(j->buf);
	free(j);
}

bool push_job_finished(const kt_push_job *j)
{
	return j->rc || (j->next_mut == j->nmuts && j->events_done);
}

/* The highest mutation id this person recorded from this device, read in this transaction. */
static int highest_mid(push_ctx *c)
{
	sqlite3_stmt *q = store_prepare(c->st, "SELECT max(mid) FROM mutation WHERE principal_id = ? AND "
					       "device_id = ?");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, c->p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->device, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q) == SQLITE_ROW ? KT_OK : KT_EIO;
	c->any_mid = !rc && sqlite3_column_type(q, 0) != SQLITE_NULL;
	c->max_mid = c->any_mid ? sqlite3_column_int64(q, 0) : 0;
	store_finish(c->st, q);
	return rc;
}

/* The pusher's rights as this transaction sees them: nothing can change
 * them between this read and the commit (the writer holds the write lock),
 * so a demotion committed by anyone before counts for every mutation. A
 * person deactivated or gone: KT_EREVOKED in j->rc, nothing applied. */
static int rights_now(kt_store *st, kt_push_job *j)
{
	int64_t g = rights_gen_read(st);
	kt_principal np;
	int rc;
	if (g < 0)
		return KT_EIO;
	if (g == j->rights_gen)
		return KT_OK;
	rc = store_principal_load(st, j->principal.is_client, j->principal.id, &np);
	if (rc == KT_ENOT_FOUND || (rc == KT_OK && !np.active)) {
		kt_principal_free(&np);
		j->rc = KT_EREVOKED;
		return KT_OK;
	}
	if (rc)
		return rc;
	kt_principal_free(&j->principal);
	j->principal = np;
	j->rights_gen = g;
	return KT_OK;
}

int push_job_step(kt_store *st, kt_push_job *j, uint32_t max)
{
	push_ctx c = {st, &j->principal, j->device, &j->body, j->nres, KT_OK, false, 0};
	const char *kind = j->principal.is_client ? "client" : "staff";
	if ((c.rc = rights_now(st, j)) || j->rc)
		return c.rc;
	if (j->next_mut < j->nmuts && (c.rc = highest_mid(&c)))
		return c.rc;
	for (uint32_t k = 0; k < max && j->next_mut < j->nmuts && !c.rc; k++) {
		const kt_mut *m = &j->muts[j->next_mut++];
		/* who, from which device, at which device time: for the change and
		 * for a refused attempt alike */
		store_set_actor(st, kind, j->principal.id, j->device, m->at);
#ifdef KT_EGRESS_CHECK
		size_t before = j->body.sb.size;
		apply_one(&c, m);
		if (!c.rc) /* judged in the transaction that decided it */
			egress_check_answer(st, j->session_id, &j->principal, m,
					    (const uint8_t *)j->body.sb.data + before, j->body.sb.size - before);
#else
		apply_one(&c, m);
#endif
	}
	store_set_actor(st, "system", NULL, NULL, 0);
	j->nres = c.n;
	if (!c.rc && j->next_mut == j->nmuts && !j->events_done) {
		c.rc = proto_push_events_decode(j->buf, j->len, record_event, &c);
		j->events_done = true;
	}
	return c.rc;
}

/* Portal clients' pushes per person (loop thread only): a fixed window of
 * KT_CLIENT_PUSH_WINDOW_MS counting mutations and events. A push is
 * refused while the window's count has reached KT_CLIENT_PUSH_ITEMS; a
 * push that is let in counts whole, so a window holds at most that plus
 * one push. Keyed by person, so more connections buy nothing. */
#define PUSH_SLOTS 4096
#define PUSH_PROBE 16
static struct push_slot {
	char person[KT_UUID_LEN + 1];
	int64_t start;
	uint32_t count;
} push_slots[PUSH_SLOTS];

static struct push_slot *push_slot(const char *person, int64_t now)
{
	uint32_t h = 2166136261u;
	struct push_slot *old = NULL;
	for (const char *c = person; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	for (int i = 0; i < PUSH_PROBE; i++) {
		struct push_slot *p = &push_slots[(h + (uint32_t)i) % PUSH_SLOTS];
		if (!strcmp(p->person, person)) {
			if (now - p->start >= KT_CLIENT_PUSH_WINDOW_MS) {
				p->start = now;
				p->count = 0;
			}
			return p;
		}
		if (!old || p->start < old->start)
			old = p;
	}
	snprintf(old->person, sizeof old->person, "%s", person);
	old->start = now;
	old->count = 0;
	return old;
}

/* Loop side: check the frame, hand it to the writer thread. The answer
 * comes back through writer_deliver once everything is committed. */
int handle_push(kt_session *s, const unsigned char *buf, size_t len)
{
	int rc;
	struct push_slot *ps = NULL;
	int64_t now = kt_now_ms();
	if (s->principal.is_client) {
		ps = push_slot(s->principal.id, now);
		if (ps->count >= KT_CLIENT_PUSH_ITEMS) {
			char why[160];
			int64_t retry = ps->start + KT_CLIENT_PUSH_WINDOW_MS - now;
			snprintf(why, sizeof why,
				 "muts and events: a portal client pushes at most %d per minute; retry in %lld s",
				 KT_CLIENT_PUSH_ITEMS, (long long)(retry + 999) / 1000);
			session_error_retry(s, KT_ERATE_LIMITED, why, "push", false, retry > 0 ? retry : 1);
			return 0;
		}
	}
	kt_push_job *j = push_job_new(s, buf, len, &rc);
	if (!j) {
		const char *why = rc == KT_ENOMEM ? "out of memory; push again later"
				  : rc == KT_ETOO_LARGE ? "at most 500 mutations or events per push"
							: "push needs muts: [{mid, tbl, id, op, base, f, at}]";
		session_error(s, rc, why, "push", false);
		return 0;
	}
	if (ps)
		ps->count += j->nmuts + j->nevents;
	writer_submit(s, j);
	return 0;
}
