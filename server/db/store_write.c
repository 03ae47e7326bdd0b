/* store_write.c - row inserts, updates and deletes with their field
 * versions, change-log entry and audit entry, all in the caller's
 * transaction or one of their own. Never writes a row without its log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/audit.h"
#include "db/schema.h"
#include "db/store_internal.h"
#include "db/validate.h"

/* Installed by main before any thread starts; read-only afterwards. */
static kt_email_change_fn email_change_rule;

void store_on_email_change(kt_email_change_fn fn)
{
	email_change_rule = fn;
}

/* Installed by main before any thread starts; read-only afterwards. */
static kt_row_written_fn row_written_rule;

void store_on_row_written(kt_row_written_fn fn)
{
	row_written_rule = fn;
}

/* ---- writes ---- */

/* An appointment or visit keeps the names it was written with (schema.h):
 * set from staff and service whenever a write sets its specialist_id or its
 * services, and only then, so that a later rename does not rewrite history.
 * Same transaction as the write; the row's page was just written, so this
 * costs no further page. */
#define NAMES_SQL(T, SET) "UPDATE " T " SET " SET " WHERE id = ?"
#define SPEC_SET(T) "specialist_name = " KT_SQL_SPECIALIST_NAME(T)
#define SERV_SET(T) "service_names = " KT_SQL_SERVICE_NAMES(T)
static const char *const names_sql[2][3] = {
	{NAMES_SQL("appointment", SPEC_SET("appointment")), NAMES_SQL("appointment", SERV_SET("appointment")),
	 NAMES_SQL("appointment", SPEC_SET("appointment") ", " SERV_SET("appointment"))},
	{NAMES_SQL("visit", SPEC_SET("visit")), NAMES_SQL("visit", SERV_SET("visit")),
	 NAMES_SQL("visit", SPEC_SET("visit") ", " SERV_SET("visit"))},
};
#undef NAMES_SQL
#undef SPEC_SET
#undef SERV_SET

/* idx: the n columns the write set; NULL for a new row (both names). */
static int set_names(kt_store *st, const kt_table *t, const char *id, const int *idx, int n)
{
	int ti = !strcmp(t->name, "appointment") ? 0 : !strcmp(t->name, "visit") ? 1 : -1, want = idx ? 0 : 3;
	if (ti < 0)
		return KT_OK;
	for (int i = 0; idx && i < n; i++) {
		if (!strcmp(t->cols[idx[i]].name, "specialist_id"))
			want |= 1;
		else if (!strcmp(t->cols[idx[i]].name, "services"))
			want |= 2;
	}
	return want ? st_run(st, names_sql[ti][want - 1], "t", id) : KT_OK;
}

static int check_fields(const kt_table *t, const kt_field *f, int n, int *idx)
{
	char why[160];
	for (int i = 0; i < n; i++) {
		idx[i] = kt_col_index(t, f[i].name);
		if (idx[i] < 0 || st_managed_column(t, f[i].name))
			return KT_EINVALID;
		for (int k = 0; k < i; k++)
			if (idx[k] == idx[i])
				return KT_EINVALID;
	}
	/* the value rules hold for every writer, also one that forgot to ask */
	if (validate_fields(t, f, n, why, sizeof why)) {
		kt_info("store: %s refused: %s", t->name, why);
		return KT_EINVALID;
	}
	return KT_OK;
}

/* The given columns of a stored row as a JSON object (see st_vals_json; NULL
 * when the row does not exist). */
static char *row_json(kt_store *st, const kt_table *t, const char *id, const int *idx, int n)
{
	kt_row r;
	char *out;
	if (st_load_row(st, t, id, &r))
		return NULL;
	out = st_vals_json(t, idx, n, r.v, true);
	kt_row_free(&r);
	return out;
}

static char *field_list(const kt_table *t, const int *idx, int n)
{
	size_t cap = 1;
	for (int i = 0; i < n; i++)
		cap += strlen(t->cols[idx[i]].name) + 1;
	char *out = calloc(1, cap);
	for (int i = 0; out && i < n; i++) {
		if (!strcmp(t->cols[idx[i]].name, "password_hash"))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, t->cols[idx[i]].name);
	}
	return out;
}

/* The first location of a routing set, for the audit entry's scope. */
static void first_loc(const char *locs, char out[KT_UUID_LEN + 1])
{
	size_t n = locs ? strcspn(locs, ",") : 0;
	out[0] = 0;
	if (n == KT_UUID_LEN) {
		memcpy(out, locs, n);
		out[n] = 0;
	}
}

int st_audit_row(kt_store *st, const char *org, const char *action, const kt_table *t, const char *id,
		 const char *client, const char *locs, const char *fields, const char *before,
		 const char *after)
{
	char loc[KT_UUID_LEN + 1];
	first_loc(locs, loc);
	kt_audit_entry e = {org, action, t->name, id, client && *client ? client : NULL, loc[0] ? loc : NULL,
			    fields, before, after};
	return audit_append(st, &e);
}

/* service.location_id predates the list location_ids: the store keeps the
 * two saying the same, whichever path writes (a device that knows only
 * location_id, or one that writes the list): location_id is the only
 * location, or NULL (every location, or several). f as given, or buf with
 * the other column added; *n follows. */
static const kt_field *service_compat(const kt_table *t, const kt_field *f, int *n, kt_field buf[65],
				      char one[KT_UUID_LEN + 1])
{
	const kt_field *id = NULL, *ids = NULL;
	if (strcmp(t->name, "service") || *n >= 64)
		return f;
	for (int i = 0; i < *n; i++) {
		if (!strcmp(f[i].name, "location_id"))
			id = &f[i];
		else if (!strcmp(f[i].name, "location_ids"))
			ids = &f[i];
	}
	if ((id && ids) || (!id && !ids))
		return f;
	memcpy(buf, f, (size_t)*n * sizeof *f);
	if (id)
		buf[*n] = (kt_field){"location_ids", id->text && *id->text ? id->text : NULL};
	else {
		bool single = ids->text && strlen(ids->text) == KT_UUID_LEN && !strchr(ids->text, ',');
		if (single)
			kt_strcpy_cut(one, KT_UUID_LEN + 1, ids->text);
		buf[*n] = (kt_field){"location_id", single ? one : NULL};
	}
	(*n)++;
	return buf;
}

int store_insert(kt_store *st, const char *tbl, const char *id, const char *org_id,
		 const kt_field *f, int n, int64_t *version_out)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	int idx[64], rc, p = 1;
	bool own = false, is_org;
	char sql[2048], *locs = NULL, client[KT_UUID_LEN + 1];
	const char *owner = NULL;
	const kt_field *email = NULL;
	size_t len;
	sqlite3_stmt *s = NULL;
	kt_field compat[65];
	char one[KT_UUID_LEN + 1];

	if (!t || n > 64 || !id || !kt_uuid_valid(id, strlen(id)))
		return KT_EINVALID;
	f = service_compat(t, f, &n, compat, one);
	is_org = t->route == KT_ROUTE_ORG;
	if (!is_org && (!org_id || !kt_uuid_valid(org_id, strlen(org_id))))
		return KT_EINVALID;
	if ((rc = check_fields(t, f, n, idx)))
		return rc;
	/* whose key seals the personal columns, and the e-mail to index */
	for (int i = 0; i < n; i++) {
		if (t->owner_col && !strcmp(t->cols[idx[i]].name, t->owner_col))
			owner = f[i].text;
		if (t->owner_col && !strcmp(t->name, "client") && !strcmp(f[i].name, "email"))
			email = &f[i];
	}
	if (t->owner_col && !strcmp(t->owner_col, "id"))
		owner = id;
	len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(id%s, version, updated_at", t->name,
			       is_org ? "" : ", org_id");
	for (int i = 0; i < n && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s", t->cols[idx[i]].name);
	if (email && len < sizeof sql)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", email_hash");
	len += (size_t)snprintf(sql + len, sizeof sql - len, ") VALUES(?%s, 1, ?", is_org ? "" : ", ?");
	for (int i = 0; i < n + (email != NULL) && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", ?");
	if (len + 2 >= sizeof sql)
		return KT_EINVALID;
	strcat(sql, ")");

	if ((rc = st_in_tx_begin(st, &own)))
		return rc;
	if (!(s = st_prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(s, p++, id, -1, SQLITE_STATIC);
	if (!is_org)
		sqlite3_bind_text(s, p++, org_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, p++, kt_now_ms());
	for (int i = 0; i < n; i++)
		if ((rc = st_bind_value(st, s, p++, t, idx[i], f[i].text, id, owner)))
			goto out;
	if (email && (rc = st_bind_email_hash(st, s, p++, email->text)))
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		rc = st_sql_err(st, rc);
		goto out;
	}
	if ((rc = set_names(st, t, id, NULL, 0)) || (rc = store_row_routing(st, t, id, &locs, client)))
		goto out;
	rc = st_log_change(st, is_org ? id : org_id, t, id, false, "", NULL, locs, client);
	if (!rc) {
		char *after = row_json(st, t, id, idx, n), *fields = field_list(t, idx, n);
		rc = st_audit_row(st, is_org ? id : org_id, "create", t, id, client, locs, fields, NULL, after);
		free(after);
		free(fields);
	}
	if (!rc && row_written_rule)
		rc = row_written_rule(st, t, id, true, NULL);
	if (!rc && version_out)
		*version_out = 1;
out:
	st_finish(st, s);
	free(locs);
	return st_in_tx_end(st, own, rc);
}

/* Field versions live in the row's field_versions column (migration 10):
 * "field:version:writer" entries joined by ',', writer empty when unknown.
 * The writer is the person who made the change (the actor's id), or the
 * device when no person is known; older entries name the device. Names and
 * ids never hold ':' or ','. */

/* The entry for field in fv (NULL: none); *len gets the entry's length. */
static const char *fv_find(const char *fv, const char *field, size_t *len)
{
	size_t fl = strlen(field);
	for (const char *e = fv; e && *e;) {
		size_t n = strcspn(e, ",");
		if (n > fl && !strncmp(e, field, fl) && e[fl] == ':') {
			*len = n;
			return e;
		}
		e += n + (e[n] == ',');
	}
	return NULL;
}

/* fv with these fields set to version by the actor's device (malloc'd; NULL: no memory). */
static char *fv_with(const char *fv, const kt_table *t, const int *idx, int n, int64_t version,
		     const char *device)
{
	size_t cap = (fv ? strlen(fv) : 0) + 1, len = 0, dl;
	char ver[KT_I64_TEXT];
	size_t vl = kt_i64_text(ver, version);
	if (strpbrk(device, ",:"))
		device = ""; /* device ids are UUIDs; anything else is recorded as unknown */
	dl = strlen(device);
	for (int i = 0; i < n; i++)
		cap += strlen(t->cols[idx[i]].name) + dl + vl + 3;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *e = fv; e && *e;) { /* the other fields' entries stay */
		size_t k = strcspn(e, ","), name = strcspn(e, ":");
		bool changed = false;
		for (int i = 0; i < n && !changed; i++)
			changed = name < k && strlen(t->cols[idx[i]].name) == name &&
				  !strncmp(e, t->cols[idx[i]].name, name);
		if (!changed && k) {
			if (len)
				out[len++] = ',';
			memcpy(out + len, e, k);
			len += k;
		}
		e += k + (e[k] == ',');
	}
	for (int i = 0; i < n; i++) { /* "name:version:device" */
		const char *c = t->cols[idx[i]].name;
		size_t cl = strlen(c);
		if (len)
			out[len++] = ',';
		memcpy(out + len, c, cl);
		len += cl;
		out[len++] = ':';
		memcpy(out + len, ver, vl);
		len += vl;
		out[len++] = ':';
		memcpy(out + len, device, dl);
		len += dl;
	}
	out[len] = 0;
	return out;
}

static bool fv_writer_is(const char *w, size_t wl, const char *id)
{
	return id && *id && wl == strlen(id) && !strncmp(w, id, wl);
}

/* out[i]: the version at which names[i] last changed per fv (see store.h);
 * 0 when the writer was who or device (either may be NULL). */
static void fv_versions(const char *fv, const char *const *names, int n, const char *who, const char *device,
			int64_t *out)
{
	for (int i = 0; i < n; i++) {
		size_t len, nl = strlen(names[i]);
		const char *e = fv_find(fv, names[i], &len), *dev;
		out[i] = 1; /* unchanged since creation */
		if (!e)
			continue;
		out[i] = strtoll(e + nl + 1, NULL, 10);
		dev = memchr(e + nl + 1, ':', len - nl - 1);
		/* one's own earlier edit is not concurrent with this one */
		if (dev && (fv_writer_is(dev + 1, (size_t)(e + len - dev - 1), who) ||
			    fv_writer_is(dev + 1, (size_t)(e + len - dev - 1), device)))
			out[i] = 0;
	}
}

int store_field_versions(kt_store *st, const char *tbl, const char *id, const char *const *names, int n,
			 const char *device, int64_t *out)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char sql[128];
	sqlite3_stmt *s;
	if (!t)
		return KT_EINVALID;
	if (kt_col_index(t, "field_versions") < 0) {
		fv_versions(NULL, names, n, device, NULL, out);
		return KT_OK; /* never updated (consents) */
	}
	snprintf(sql, sizeof sql, "SELECT field_versions FROM %s WHERE id = ?", t->name);
	if (!(s = st_prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	fv_versions(sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL, names, n, device,
		    NULL, out);
	st_finish(st, s);
	return KT_OK;
}

void store_row_field_versions(const kt_row *r, const char *const *names, int n, const char *who, const char *device,
			      int64_t *out)
{
	int c = kt_col_index(r->t, "field_versions");
	fv_versions(c >= 0 && !r->v[c].null ? r->v[c].s : NULL, names, n, who, device, out);
}

/* Append a to the SQL text sql[cap] of length *len; past cap, *len says
 * so (>= cap) and the text stays cut. */
static void sql_add(char *sql, size_t cap, size_t *len, const char *a)
{
	size_t n = strlen(a);
	if (*len + n < cap) {
		memcpy(sql + *len, a, n + 1);
		*len += n;
	} else
		*len = cap;
}

/* ", a, b" for the given columns. */
static size_t col_list(char *out, size_t cap, const kt_table *t, const int *idx, int n)
{
	size_t len = 0;
	out[0] = 0;
	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, ", %s", t->cols[idx[i]].name);
	return len;
}

/* Routing columns a row carries itself (store_row_routing, without a query). */
static const char *inline_routing(const kt_table *t)
{
	switch (t->route) {
	case KT_ROUTE_LOC_COL: return "location_id, client_id";
	case KT_ROUTE_LOC_OPT: return "coalesce(nullif(location_ids, ''), location_id, '*'), NULL";
	case KT_ROUTE_LOC_ROW: return "location_id, NULL";
	default: return "NULL, NULL";
	}
}

/* Routing from inline columns c0, c1 of a result row; for the kinds that
 * live elsewhere (staff and client locations) a query. */
static int routing_from(kt_store *st, const kt_table *t, const char *id, sqlite3_stmt *s, int c0, char **locs,
			char client[KT_UUID_LEN + 1])
{
	client[0] = 0;
	if (t->route != KT_ROUTE_LOC_COL && t->route != KT_ROUTE_LOC_OPT && t->route != KT_ROUTE_LOC_ROW)
		return store_row_routing(st, t, id, locs, client);
	*locs = st_dup_text(sqlite3_column_text(s, c0));
	if (sqlite3_column_type(s, c0 + 1) != SQLITE_NULL)
		kt_strcpy_cut(client, KT_UUID_LEN + 1, (const char *)sqlite3_column_text(s, c0 + 1));
	return *locs ? KT_OK : KT_ENOMEM;
}

/* Could this change of these columns move the row to other locations or
 * another client? (Client locations change only through links.) */
static bool changes_routing(const kt_table *t, const int *idx, int n)
{
	for (int i = 0; i < n; i++) {
		const char *c = t->cols[idx[i]].name;
		if (((t->route == KT_ROUTE_LOC_COL || t->route == KT_ROUTE_LOC_ROW) &&
		     (!strcmp(c, "location_id") || !strcmp(c, "client_id"))) ||
		    (t->route == KT_ROUTE_LOC_OPT && (!strcmp(c, "location_ids") || !strcmp(c, "location_id"))) ||
		    (t->route == KT_ROUTE_VIA_STAFF && !strcmp(c, "staff_id")) ||
		    (t->route == KT_ROUTE_STAFF_LOCS && !strcmp(c, "role")) ||
		    (t->route == KT_ROUTE_VIA_CLIENT && !strcmp(c, "client_id")))
			return true;
	}
	return false;
}

/* Read the changed columns (from column c0 of s) and make them JSON. */
static char *changed_json(kt_store *st, sqlite3_stmt *s, int c0, const kt_table *t, const int *idx, int n,
			  const char *id)
{
	kt_val v[64];
	char *out = NULL;
	int k = 0;
	for (; k < n; k++)
		if (st_load_val(st, s, c0 + k, t, idx[k], id, &v[k]))
			goto out;
	out = st_vals_json(t, idx, n, v, false);
out:
	st_vals_free(v, k);
	return out;
}

/* The after image from the fields themselves (st_bind_field checked them):
 * what was just written need not be read back and decrypted. */
static char *fields_json(const kt_table *t, const int *idx, const kt_field *f, int n)
{
	kt_val v[64];
	for (int i = 0; i < n; i++) {
		kt_coltype type = t->cols[idx[i]].type;
		memset(&v[i], 0, sizeof v[i]);
		if (!f[i].text)
			v[i].null = true;
		else if (type == KT_COL_INT)
			v[i].i = strtoll(f[i].text, NULL, 10);
		else if (type == KT_COL_BOOL)
			v[i].i = !strcmp(f[i].text, "1") || !strcmp(f[i].text, "true");
		else {
			v[i].s = (char *)f[i].text; /* read only: st_vals_json copies */
			v[i].len = strlen(f[i].text);
		}
	}
	return st_vals_json(t, idx, n, v, false);
}

/* Three statements for the row itself: the before image with its org,
 * routing and field versions (none when the caller loaded the row,
 * store_update_loaded), the UPDATE (with the new field versions) returning
 * the new version and routing, the change log; then the audit entry (its
 * after image is built from the fields). */
static int update_row(kt_store *st, const kt_table *t, const kt_row *row, const char *id, const kt_field *f,
		      int n, int64_t *version_out);

int store_update(kt_store *st, const char *tbl, const char *id, const kt_field *f, int n,
		 int64_t *version_out)
{
	return update_row(st, kt_table_find(tbl, strlen(tbl)), NULL, id, f, n, version_out);
}

int store_update_loaded(kt_store *st, const kt_row *row, const char *id, const kt_field *f, int n,
			int64_t *version_out)
{
	return update_row(st, row->t, row, id, f, n, version_out);
}

/* The before image, org, routing, version and field versions come from
 * `row` when the caller loaded it in this transaction (and opened every
 * changed column), else from a read here. */
static int update_row(kt_store *st, const kt_table *t, const kt_row *row, const char *id, const kt_field *f,
		      int n, int64_t *version_out)
{
	int idx[64], rc, p = 1;
	bool own = false;
	char sql[4096], cols[2048], *loc_old = NULL, *loc_new = NULL, c_old[KT_UUID_LEN + 1], c_new[KT_UUID_LEN + 1];
	char org[KT_UUID_LEN + 1], *before = NULL, *after = NULL, *fields = NULL, *fv = NULL;
	const char *owner = NULL;
	const kt_field *email = NULL;
	kt_row old_mail = {0};
	bool have_old_mail = false;
	int64_t version = 0;
	size_t len;
	sqlite3_stmt *s = NULL;
	kt_field compat[65];
	char one[KT_UUID_LEN + 1];

	if (!t || n > 64 || n < 1 || !id)
		return KT_EINVALID;
	f = service_compat(t, f, &n, compat, one);
	if ((rc = check_fields(t, f, n, idx)))
		return rc;
	if ((rc = st_in_tx_begin(st, &own)))
		return rc;
	/* per person: a second tablet of the same receptionist does not conflict with her first */
	const char *writer = st->actor.id[0] ? st->actor.id : st->actor.device;

	/* before */
	for (int i = 0; row && i < n; i++)
		if (idx[i] < 64 && (row->unopened >> idx[i] & 1))
			row = NULL; /* a changed value the caller did not open */
	if (row) {
		int fvc = kt_col_index(t, "field_versions");
		kt_strcpy_cut(org, sizeof org, row->org);
		memcpy(c_old, row->client, sizeof c_old);
		/* the new version is the old one + 1: we hold the write lock */
		version = row->version + 1;
		if (!(loc_old = strdup(row->locs ? row->locs : "")) || !(before = st_vals_json(t, idx, n, row->v, true)) ||
		    !(fv = fv_with(fvc >= 0 && !row->v[fvc].null ? row->v[fvc].s : NULL, t, idx, n, version,
				   writer)))
			rc = KT_ENOMEM;
	} else {
		if (col_list(cols, sizeof cols, t, idx, n) >= sizeof cols) {
			rc = KT_EINVALID;
			goto out;
		}
		snprintf(sql, sizeof sql, "SELECT %s, %s, version, field_versions%s FROM %s WHERE id = ?",
			 t->route == KT_ROUTE_ORG ? "id" : "org_id", inline_routing(t), cols, t->name);
		if ((rc = st_query_row(st, &s, sql, "t", id)))
			goto out;
		kt_strcpy_cut(org, sizeof org, (const char *)sqlite3_column_text(s, 0));
		rc = routing_from(st, t, id, s, 1, &loc_old, c_old);
		if (!rc && !(before = changed_json(st, s, 5, t, idx, n, id)))
			rc = KT_ENOMEM;
		version = sqlite3_column_int64(s, 3) + 1;
		if (!rc &&
		    !(fv = fv_with((const char *)sqlite3_column_text(s, 4), t, idx, n, version, writer)))
			rc = KT_ENOMEM;
		st_finish(st, s);
		s = NULL;
	}
	if (rc)
		goto out;

	/* whose key seals the new values: the row's client after the change */
	if (t->owner_col) {
		owner = !strcmp(t->owner_col, "id") ? id : c_old;
		for (int i = 0; i < n; i++) {
			if (!strcmp(t->cols[idx[i]].name, t->owner_col))
				owner = f[i].text;
			if (!strcmp(t->name, "client") && !strcmp(f[i].name, "email"))
				email = &f[i];
		}
	}

	/* a client's e-mail is the portal sign-in: whoever changes it, the
	 * change goes through the installed rule below (the old address is
	 * read here, before it is overwritten); without a rule, no change */
	if (email && !email_change_rule) {
		rc = KT_EINTERNAL;
		kt_err_log("a client's e-mail changed with no e-mail rule installed (store_on_email_change)");
		goto out;
	}
	if (email) {
		int ec = kt_col_index(t, "email");
		if ((rc = store_row_load_some(st, t, id, &ec, 1, &old_mail)))
			goto out;
		have_old_mail = true;
	}

	/* the change; it returns the new routing only when it can move the row
	 * (RETURNING costs SQLite a temporary table per execution) */
	bool moves = changes_routing(t, idx, n);
	len = 0;
	sql_add(sql, sizeof sql, &len, "UPDATE ");
	sql_add(sql, sizeof sql, &len, t->name);
	sql_add(sql, sizeof sql, &len, " SET version = version + 1, updated_at = ?, field_versions = ?");
	for (int i = 0; i < n; i++) {
		sql_add(sql, sizeof sql, &len, ", ");
		sql_add(sql, sizeof sql, &len, t->cols[idx[i]].name);
		sql_add(sql, sizeof sql, &len, " = ?");
	}
	if (email)
		sql_add(sql, sizeof sql, &len, ", email_hash = ?");
	sql_add(sql, sizeof sql, &len, " WHERE id = ?");
	if (moves) {
		sql_add(sql, sizeof sql, &len, " RETURNING version, ");
		sql_add(sql, sizeof sql, &len, inline_routing(t));
	}
	if (len >= sizeof sql) {
		rc = KT_EINVALID;
		goto out;
	}
	if (!(s = st_prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_int64(s, p++, kt_now_ms());
	sqlite3_bind_text(s, p++, fv, -1, SQLITE_STATIC);
	for (int i = 0; i < n; i++)
		if ((rc = st_bind_value(st, s, p++, t, idx[i], f[i].text, id, owner)))
			goto out;
	if (email && (rc = st_bind_email_hash(st, s, p++, email->text)))
		goto out;
	sqlite3_bind_text(s, p, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = st_sql_err(st, rc);
		goto out;
	}
	if (moves ? rc != SQLITE_ROW : sqlite3_changes(st->db) != 1) {
		rc = KT_ENOT_FOUND;
		goto out;
	}
	if (moves && sqlite3_column_int64(s, 0) != version) {
		rc = KT_EIO; /* cannot happen: we read the version in this transaction */
		goto out;
	}
	if (!(after = fields_json(t, idx, f, n)))
		rc = KT_ENOMEM;
	else if (moves) {
		rc = routing_from(st, t, id, s, 1, &loc_new, c_new);
	} else {
		loc_new = loc_old ? strdup(loc_old) : NULL;
		memcpy(c_new, c_old, sizeof c_new);
		rc = loc_new ? KT_OK : KT_ENOMEM;
	}
	if (!rc && moves && (rc = sqlite3_step(s)) == SQLITE_DONE) /* run the statement to its end */
		rc = KT_OK;
	else if (!rc && moves)
		rc = st_sql_err(st, rc);
	st_finish(st, s);
	s = NULL;
	if (rc || (rc = set_names(st, t, id, idx, n)))
		goto out;

	rc = st_log_change(st, org, t, id, false, loc_old, c_old, loc_new, c_new);
	/* a staff member who becomes an owner (or stops being one) takes their time off along */
	if (!rc && t->route == KT_ROUTE_STAFF_LOCS && strcmp(loc_old ? loc_old : "", loc_new ? loc_new : ""))
		rc = st_relog_rows(st, org, KT_ROUTE_VIA_STAFF, id, loc_old, loc_new);
	if (!rc) {
		fields = field_list(t, idx, n);
		rc = st_audit_row(st, org, "update", t, id, c_new, loc_new, fields, before, after);
	}
	if (!rc && have_old_mail) {
		int ec = kt_col_index(t, "email");
		rc = email_change_rule(st, org, id, old_mail.v[ec].null ? NULL : old_mail.v[ec].s, email->text);
	}
	if (!rc && row_written_rule)
		rc = row_written_rule(st, t, id, false, before);
	if (!rc && version_out)
		*version_out = version;
out:
	kt_row_free(&old_mail);
	st_finish(st, s);
	free(loc_old);
	free(loc_new);
	free(before);
	free(after);
	free(fields);
	free(fv);
	return st_in_tx_end(st, own, rc);
}

/* A client's location links, removed when the client row is deleted (an
 * erasure): its routing was read before, so the devices of those
 * locations still get the delete. */
static int client_unlink_all(kt_store *st, const char *client_id)
{
	static const char sql[] = "DELETE FROM client_location WHERE client_id = ?";
	return st_run(st, sql, "t", client_id);
}

int store_delete(kt_store *st, const char *tbl, const char *id)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char sql[128], *loc_old = NULL, c_old[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], *before = NULL;
	bool own = false;
	int rc;

	if (!t || !id)
		return KT_EINVALID;
	if ((rc = st_in_tx_begin(st, &own)))
		return rc;
	if ((rc = st_row_org(st, t, id, org)) || (rc = store_row_routing(st, t, id, &loc_old, c_old)))
		goto out;
	before = row_json(st, t, id, NULL, 0);
	if (t->route == KT_ROUTE_CLIENT_LOCS && (rc = client_unlink_all(st, id)))
		goto out; /* the links go with the client; the log keeps its old routing (loc_old) */
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", t->name);
	rc = st_run(st, sql, "t", id);
	if (!rc)
		rc = st_log_change(st, org, t, id, true, loc_old, c_old, "", NULL);
	if (!rc)
		rc = st_audit_row(st, org, "delete", t, id, c_old, loc_old, NULL, before, NULL);
out:
	free(loc_old);
	free(before);
	return st_in_tx_end(st, own, rc);
}
