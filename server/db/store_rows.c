/* store_rows.c - one row in and out of SQLite: its routing (locations and
 * client), binding a value (sealing personal columns) and reading one back
 * (opening them), and loading a row by id. Reads only: never writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/keyring.h"
#include "db/store_internal.h"

/* ---- routing ---- */

char *st_dup_text(const unsigned char *t)
{
	return strdup(t ? (const char *)t : "");
}

char *st_query_locset(kt_store *st, const char *sql, const char *id)
{
	sqlite3_stmt *s;
	char *out = NULL;
	/* "no locations" only when the query said so: a failed copy or step
	 * must not route a row nowhere (devices would be told to evict it) */
	int rc = st_query_row(st, &s, sql, "t", id);
	if (rc == KT_OK) {
		out = st_dup_text(sqlite3_column_text(s, 0));
		st_finish(st, s);
	} else if (rc == KT_ENOT_FOUND)
		out = strdup("");
	return out;
}

const char st_q_staff_locs[] =
	"SELECT CASE (SELECT role FROM staff WHERE id = ?1) WHEN 'owner' THEN '*' ELSE "
	"(SELECT group_concat(location_id) FROM (SELECT location_id FROM staff_location "
	"WHERE staff_id = ?1 ORDER BY location_id)) END";
const char st_q_client_locs[] =
	"SELECT group_concat(location_id) FROM (SELECT location_id FROM client_location "
	"WHERE client_id = ?1 ORDER BY location_id)";

/* Routing of one row: *locs (owned) and client. KT_ENOT_FOUND when absent. */
int store_row_routing(kt_store *st, const kt_table *t, const char *id, char **locs,
		      char client[KT_UUID_LEN + 1])
{
	char sql[160];
	sqlite3_stmt *s;
	int rc;

	*locs = NULL;
	client[0] = 0;
	/* existence check + the columns routing needs */
	switch (t->route) {
	case KT_ROUTE_LOC_COL:
		snprintf(sql, sizeof sql, "SELECT location_id, client_id FROM %s WHERE id = ?", t->name);
		break;
	case KT_ROUTE_LOC_OPT:
		snprintf(sql, sizeof sql, "SELECT coalesce(nullif(location_ids, ''), location_id, '*'), NULL FROM %s WHERE id = ?",
			 t->name);
		break;
	case KT_ROUTE_LOC_ROW:
		snprintf(sql, sizeof sql, "SELECT location_id, NULL FROM %s WHERE id = ?", t->name);
		break;
	case KT_ROUTE_VIA_STAFF:
		snprintf(sql, sizeof sql, "SELECT staff_id, NULL FROM %s WHERE id = ?", t->name);
		break;
	case KT_ROUTE_VIA_CLIENT:
		snprintf(sql, sizeof sql, "SELECT client_id, client_id FROM %s WHERE id = ?", t->name);
		break;
	default:
		snprintf(sql, sizeof sql, "SELECT id, id FROM %s WHERE id = ?", t->name);
		break;
	}
	if ((rc = st_query_row(st, &s, sql, "t", id)))
		return rc;
	switch (t->route) {
	case KT_ROUTE_ORG:
		*locs = strdup("*");
		break;
	case KT_ROUTE_SELF_LOC:
		*locs = strdup(id);
		break;
	case KT_ROUTE_LOC_COL:
		*locs = st_dup_text(sqlite3_column_text(s, 0));
		snprintf(client, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
		break;
	case KT_ROUTE_LOC_OPT:
	case KT_ROUTE_LOC_ROW:
		*locs = st_dup_text(sqlite3_column_text(s, 0));
		break;
	case KT_ROUTE_VIA_STAFF: {
		char staff[KT_UUID_LEN + 1];
		kt_strcpy_cut(staff, sizeof staff, (const char *)sqlite3_column_text(s, 0));
		*locs = st_query_locset(st, st_q_staff_locs, staff);
		break;
	}
	case KT_ROUTE_STAFF_LOCS:
		*locs = st_query_locset(st, st_q_staff_locs, id);
		break;
	case KT_ROUTE_CLIENT_LOCS:
		*locs = st_query_locset(st, st_q_client_locs, id);
		snprintf(client, KT_UUID_LEN + 1, "%s", id);
		break;
	case KT_ROUTE_VIA_CLIENT:
		snprintf(client, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
		*locs = st_query_locset(st, st_q_client_locs, client);
		break;
	}
	st_finish(st, s);
	return *locs ? KT_OK : KT_ENOMEM;
}

int st_row_org(kt_store *st, const kt_table *t, const char *id, char org[KT_UUID_LEN + 1])
{
	char sql[128];
	sqlite3_stmt *s;
	int rc;
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?",
		 t->route == KT_ROUTE_ORG ? "id" : "org_id", t->name);
	if ((rc = st_query_row(st, &s, sql, "t", id)))
		return rc;
	snprintf(org, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	st_finish(st, s);
	return KT_OK;
}

/* Bind a field value; a sealed column is sealed under owner (a client id)
 * first, with the table, column and row id as associated data. */
int st_bind_value(kt_store *st, sqlite3_stmt *s, int idx, const kt_table *t, int ci, const char *text,
		  const char *row_id, const char *owner)
{
	const kt_col *c = &t->cols[ci];
	uint8_t *b;
	size_t n;
	int rc;
	if (!text || !c->sealed)
		return st_bind_field(s, idx, c, text);
	if (!owner || !*owner)
		return KT_EINVALID;
	if ((rc = keyring_seal(st->kr, owner, t->name, c->name, row_id, text, strlen(text), &b, &n)))
		return rc;
	sqlite3_bind_blob(s, idx, b, (int)n, free);
	return KT_OK;
}

/* The keyed hash of a client's e-mail address (login lookups), or NULL. */
int st_bind_email_hash(kt_store *st, sqlite3_stmt *s, int idx, const char *email)
{
	char h[65];
	int rc;
	if (!email)
		return sqlite3_bind_null(s, idx) == SQLITE_OK ? KT_OK : KT_EIO;
	if ((rc = keyring_email_hash(st->kr, email, h)))
		return rc;
	sqlite3_bind_text(s, idx, h, -1, SQLITE_TRANSIENT);
	return KT_OK;
}

/* One value of a result column: a sealed one is opened with its owner's
 * key. The key of an erased client is gone: its values read as NULL. */
int st_load_val(kt_store *st, sqlite3_stmt *s, int col, const kt_table *t, int ci, const char *row_id,
		kt_val *v)
{
	memset(v, 0, sizeof *v);
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		v->null = true;
		return KT_OK;
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(s, col);
		return KT_OK;
	case SQLITE_BLOB:
		if (t->cols[ci].sealed) {
			const void *b = sqlite3_column_blob(s, col);
			size_t n = (size_t)sqlite3_column_bytes(s, col);
			int rc = keyring_unseal(st->kr, t->name, t->cols[ci].name, row_id, b, n, &v->s, &v->len);
			if (rc == KT_ENOMEM)
				return rc;
			if (rc == KT_EINVALID)
				kt_warn("%s.%s of %s does not decrypt (altered?): read as empty", t->name,
					t->cols[ci].name, row_id);
			v->null = rc != KT_OK;
			return KT_OK;
		}
		/* fall through */
	default: {
		const unsigned char *txt = sqlite3_column_text(s, col);
		v->len = (size_t)sqlite3_column_bytes(s, col);
		return (v->s = kt_strndup(txt ? (const char *)txt : "", v->len)) ? KT_OK : KT_ENOMEM;
	}
	}
}

void st_vals_free(kt_val *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].s);
}

/* The given columns as a JSON object for the audit log (owned by the
 * caller). by_col: v is a whole row (v[idx[i]]), else v[i] goes with idx[i].
 * idx NULL: every column a person could care about. Never includes ids,
 * versions or secrets. */

int st_bind_field(sqlite3_stmt *s, int idx, const kt_col *c, const char *text)
{
	char *end;
	long long v;

	if (!text)
		return sqlite3_bind_null(s, idx) == SQLITE_OK ? KT_OK : KT_EINVALID;
	switch (c->type) {
	case KT_COL_INT:
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || *end)
			return KT_EINVALID;
		sqlite3_bind_int64(s, idx, v);
		return KT_OK;
	case KT_COL_BOOL:
		if (!strcmp(text, "1") || !strcmp(text, "true"))
			sqlite3_bind_int(s, idx, 1);
		else if (!strcmp(text, "0") || !strcmp(text, "false"))
			sqlite3_bind_int(s, idx, 0);
		else
			return KT_EINVALID;
		return KT_OK;
	case KT_COL_TEXT:
	case KT_COL_LIST:
	case KT_COL_NAMES:
		sqlite3_bind_text(s, idx, text, -1, SQLITE_TRANSIENT);
		return KT_OK;
	}
	return KT_EINVALID;
}

/* ---- reads ---- */

sqlite3_stmt *st_page_prep(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			   const char *org, const char *after_id, int limit, int *rc)
{
	const char *base = st_row_select_sql(st, t);
	size_t cap = base ? strlen(base) + strlen(where) + 96 : 0;
	char *sql = base ? malloc(cap) : NULL;
	sqlite3_stmt *s;
	*rc = KT_ENOMEM;
	if (!sql)
		return NULL;
	/* the row loader's column list, its WHERE swapped */
	snprintf(sql, cap, "%.*s WHERE (%s) AND id > ?3 ORDER BY id LIMIT ?4",
		 (int)(strstr(base, " WHERE id = ?") - base), base, where);
	s = st_prep(st, sql);
	free(sql);
	*rc = s ? KT_OK : KT_EIO;
	if (s) {
		sqlite3_bind_text(s, 1, principal_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, after_id ? after_id : "", -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, limit);
	}
	return s;
}

const char *st_row_select_sql(kt_store *st, const kt_table *t)
{
	int ti = (int)(t - kt_tables);
	size_t cap = 64, len;
	char *sql;

	if (st->row_sql[ti])
		return st->row_sql[ti];
	for (int i = 0; i < t->ncols; i++)
		cap += strlen(t->cols[i].name) + 2;
	cap += strlen(t->name) + 64;
	if (!(sql = malloc(cap)))
		return NULL;
	len = (size_t)snprintf(sql, cap, "SELECT ");
	for (int i = 0; i < t->ncols; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s%s", i ? ", " : "", t->cols[i].name);
	snprintf(sql + len, cap - len, " FROM %s WHERE id = ?", t->name);
	st->row_sql[ti] = sql;
	return sql;
}

static const char *val_text(const kt_row *r, const char *col)
{
	int i = kt_col_index(r->t, col);
	return i >= 0 && !r->v[i].null && r->v[i].s ? r->v[i].s : NULL;
}

/* Routing of a loaded row: from its own columns where they hold it (no
 * second query on the send path), from the link tables otherwise. */
static int routing_from_row(kt_store *st, kt_row *r, const char *id)
{
	const char *loc, *client;
	switch (r->t->route) {
	case KT_ROUTE_ORG:
		r->locs = strdup("*");
		break;
	case KT_ROUTE_SELF_LOC:
		r->locs = strdup(id);
		break;
	case KT_ROUTE_LOC_COL:
		loc = val_text(r, "location_id");
		client = val_text(r, "client_id");
		r->locs = strdup(loc ? loc : "");
		kt_strcpy_cut(r->client, sizeof r->client, client);
		break;
	case KT_ROUTE_LOC_OPT:
		loc = val_text(r, "location_ids"); /* else (a row from before the list) its one location */
		if (!loc || !*loc)
			loc = val_text(r, "location_id");
		r->locs = strdup(loc && *loc ? loc : "*");
		break;
	case KT_ROUTE_LOC_ROW:
		loc = val_text(r, "location_id");
		r->locs = strdup(loc ? loc : "");
		break;
	case KT_ROUTE_VIA_CLIENT:
		client = val_text(r, "client_id");
		kt_strcpy_cut(r->client, sizeof r->client, client);
		r->locs = st_query_locset(st, st_q_client_locs, r->client);
		break;
	default:
		return store_row_routing(st, r->t, id, &r->locs, r->client);
	}
	return r->locs ? KT_OK : KT_ENOMEM;
}

/* A row without its routing. */
static int load_row_some(kt_store *st, const kt_table *t, const char *id, uint64_t open, kt_row *out)
{
	const char *sql = st_row_select_sql(st, t);
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	out->t = t;
	if (!sql)
		return KT_EIO;
	if ((rc = st_query_row(st, &s, sql, "t", id)))
		return rc;
	rc = st_read_row_some(st, s, t, open, out);
	st_finish(st, s);
	return rc;
}

int st_load_row(kt_store *st, const kt_table *t, const char *id, kt_row *out)
{
	return load_row_some(st, t, id, ~0ull, out);
}

static int row_load(kt_store *st, const kt_table *t, const char *id, uint64_t open, kt_row *out)
{
	int rc = load_row_some(st, t, id, open, out);
	if (!rc)
		rc = routing_from_row(st, out, id);
	if (rc)
		kt_row_free(out);
	return rc;
}

int store_row_load(kt_store *st, const kt_table *t, const char *id, kt_row *out)
{
	return row_load(st, t, id, ~0ull, out);
}

int store_row_load_some(kt_store *st, const kt_table *t, const char *id, const int *cols, int n, kt_row *out)
{
	uint64_t open = 0;
	for (int i = 0; i < n; i++)
		if (cols[i] >= 0 && cols[i] < 64)
			open |= 1ull << cols[i];
	return row_load(st, t, id, open, out);
}

/* A result row of st_row_select_sql; sealed columns outside `open` (bit i =
 * column i) are left closed: NULL, marked in out->unopened. */
int st_read_row_some(kt_store *st, sqlite3_stmt *s, const kt_table *t, uint64_t open, kt_row *out)
{
	int vi = kt_col_index(t, "version"), oi = kt_col_index(t, "org_id");
	const char *id;
	memset(out, 0, sizeof *out);
	out->t = t;
	if (!(out->v = calloc((size_t)t->ncols, sizeof *out->v)))
		return KT_ENOMEM;
	id = (const char *)sqlite3_column_text(s, 0);
	id = id ? id : "";
	for (int i = 0; i < t->ncols; i++) {
		if (t->cols[i].sealed && i < 64 && !(open >> i & 1)) {
			out->v[i].null = true;
			out->unopened |= 1ull << i;
			continue;
		}
		if (st_load_val(st, s, i, t, i, id, &out->v[i])) {
			kt_row_free(out);
			return KT_ENOMEM;
		}
	}
	out->version = vi >= 0 ? out->v[vi].i : 0;
	kt_strcpy_cut(out->org, sizeof out->org, oi >= 0 && out->v[oi].s ? out->v[oi].s : out->v[0].s);
	return KT_OK;
}

/* ---- snapshot pages ----
 * The row of a snapshot page lives only while egress packs it, so its
 * values are not copied: text points into SQLite's result row (valid until
 * the next step) and only opened sealed values are allocated. Columns
 * outside `need` (bit i = column i; those the principal is not sent) are
 * not read at all, so a sealed one is never opened; the id, version and
 * organisation are always read. */
int store_snapshot_page_some(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			     const char *org, const char *after_id, int limit, uint64_t need, kt_row_cb cb,
			     void *user, char last_id[KT_UUID_LEN + 1], int *n)
{
	int vi = kt_col_index(t, "version"), oi = kt_col_index(t, "org_id");
	kt_val stack[64], *vals = stack;
	bool own_stack[64] = {false}, *own = own_stack; /* own[i]: vals[i].s was allocated (an opened sealed value) */
	sqlite3_stmt *s = NULL;
	int rc = KT_OK;

	*n = 0;
	last_id[0] = 0;
	need |= 1ull; /* the id */
	if (vi >= 0)
		need |= 1ull << vi;
	if (oi >= 0)
		need |= 1ull << oi;
	/* (a table wider than 64 columns, which none is: every column past 64 is read) */
	if (t->ncols > 64 && (!(vals = calloc((size_t)t->ncols, sizeof *vals)) ||
			      !(own = calloc((size_t)t->ncols, sizeof *own)))) {
		if (vals != stack)
			free(vals);
		return KT_ENOMEM;
	}
	/* the snapshot's WHERE over the row loader's columns (as store_snapshot_page) */
	if (!(s = st_page_prep(st, t, where, principal_id, org, after_id, limit, &rc)))
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kt_row row = {.t = t, .v = vals};
		bool owned = false;
		const char *id = (const char *)sqlite3_column_text(s, 0);
		id = id ? id : "";
		rc = KT_OK;
		for (int i = 0; i < t->ncols && !rc; i++) {
			kt_val *v = &vals[i];
			memset(v, 0, sizeof *v);
			if (i < 64 && !(need >> i & 1)) {
				v->null = true;
				if (t->cols[i].sealed)
					row.unopened |= 1ull << i;
				continue;
			}
			switch (sqlite3_column_type(s, i)) {
			case SQLITE_NULL:
				v->null = true;
				break;
			case SQLITE_INTEGER:
				v->i = sqlite3_column_int64(s, i);
				break;
			case SQLITE_BLOB:
				if (t->cols[i].sealed) {
					rc = st_load_val(st, s, i, t, i, id, v); /* opens it: allocated */
					if (!rc && v->s)
						owned = own[i] = true;
					break;
				}
				/* fall through */
			default: {
				const unsigned char *txt = sqlite3_column_text(s, i);
				v->len = (size_t)sqlite3_column_bytes(s, i);
				v->s = (char *)(txt ? (const char *)txt : "");
				break;
			}
			}
		}
		if (!rc) {
			row.version = vi >= 0 ? vals[vi].i : 0;
			kt_strcpy_cut(row.org, sizeof row.org, oi >= 0 && vals[oi].s ? vals[oi].s : vals[0].s);
			kt_strcpy_cut(last_id, KT_UUID_LEN + 1, vals[0].s); /* (snprintf: 3 % of a page's read) */
			rc = cb(user, &row);
			(*n)++;
		}
		for (int i = 0; owned && i < t->ncols; i++)
			if (own[i]) {
				free(vals[i].s);
				own[i] = false; /* a row that fails half-way must not free it again */
			}
		if (rc)
			goto out;
	}
	rc = rc == SQLITE_DONE ? KT_OK : st_sql_err(st, rc);
out:
	st_finish(st, s);
	if (vals != stack) {
		free(vals);
		free(own);
	}
	return rc;
}
