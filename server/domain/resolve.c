/* resolve.c - see resolve.h. Names are matched here, in C, after Unicode
 * case folding (kt_text_fold): SQLite's NOCASE folds ASCII only, and client
 * names are sealed, so no index could answer anyway. Every scan is bounded
 * (RESOLVE_MAX_ROWS); past that the caller is told to give the id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/resolve.h"
#include "kt_time.h"
#include "kt_text.h"

/* A salon chain has thousands of clients, not millions: past this many rows
 * a name search stops and asks for the id instead of decrypting on. */
#define RESOLVE_MAX_ROWS 200000
#define RESOLVE_SHOW 10 /* candidates listed when a name is ambiguous */
#define NAME_MAX_BYTES 512

typedef struct cand {
	char id[KT_UUID_LEN + 1];
	char *name, *extra;
} cand;

typedef struct cands {
	cand *v;
	int n, cap;
	int best; /* 2 exact name, 1 prefix, 0 none yet */
} cands;

static const char *const kind_table[] = {"location", "staff", "client", "service", "organisation"};
static const char *const kind_noun[] = {"location", "staff member", "client", "service", "organisation"};
static const char *const kind_nouns[] = {"locations", "staff members", "clients", "services", "organisations"};



static void cands_free(cands *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].extra);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* Keep only the best class of match seen so far. */
static int cands_add(cands *c, int match, const char *id, const char *name, const char *extra)
{
	if (match < c->best)
		return KT_OK;
	if (match > c->best) {
		int best = match;
		cands_free(c);
		c->best = best;
	}
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 8;
		cand *v = realloc(c->v, (size_t)cap * sizeof *v);
		if (!v)
			return KT_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	cand *x = &c->v[c->n];
	kt_strcpy_cut(x->id, sizeof x->id, id);
	x->name = kt_strndup(name, strlen(name));
	x->extra = kt_strndup(extra ? extra : "", extra ? strlen(extra) : 0);
	if (!x->name || !x->extra) {
		free(x->name);
		free(x->extra);
		return KT_ENOMEM;
	}
	c->n++;
	return KT_OK;
}

/* A client's name (and for candidates, masked contact data), decrypted
 * through the store's row load. Safe: this runs in the server's own process
 * for the operator, who may read every card (admin acts as the owner); the
 * plain names never leave this function except as the chosen id or as the
 * candidate lines the operator asked for, with contact data masked. */
static int client_fields(kt_store *st, const char *id, bool contact, char *name, size_t ncap, char *extra,
			 size_t ecap)
{
	const kt_table *t = kt_table_find("client", 6);
	int cols[3] = {kt_col_index(t, "name"), kt_col_index(t, "email"), kt_col_index(t, "phone")};
	kt_row row = {0};
	int rc = store_row_load_some(st, t, id, cols, contact ? 3 : 1, &row);
	if (rc)
		return rc;
	const kt_val *nv = &row.v[cols[0]];
	if (nv->null || !nv->s) {
		kt_row_free(&row);
		return KT_ENOT_FOUND; /* erased: the key is gone */
	}
	kt_strcpy_cut(name, ncap, nv->s);
	if (contact && extra) {
		char e[128], p[64];
		kt_text_mask_email(row.v[cols[1]].null ? NULL : row.v[cols[1]].s, e, sizeof e);
		kt_text_mask_phone(row.v[cols[2]].null ? NULL : row.v[cols[2]].s, p, sizeof p);
		snprintf(extra, ecap, "%s%s%s", e, *e && *p ? ", " : "", p);
	}
	kt_row_free(&row);
	return KT_OK;
}

/* Column 3 of every scan: the row's organisation, named on candidates when
 * the search spans several. */
#define ORG_NAME(t) "(SELECT o.name FROM organisation o WHERE o.id = " #t ".org_id)"

static const char *scan_sql(resolve_kind kind)
{
	switch (kind) {
	case RESOLVE_LOCATION:
		return "SELECT id, name, time_zone || coalesce(', ' || nullif(address, ''), ''), " ORG_NAME(location)
		       " FROM location WHERE (?1 IS NULL OR org_id = ?1) ORDER BY name, id LIMIT ?3";
	case RESOLVE_STAFF:
		return "SELECT s.id, s.display_name, s.role || CASE WHEN s.active THEN '' ELSE ' (inactive)' END || "
		       "coalesce(', ' || (SELECT group_concat(name, ', ') FROM (SELECT l.name FROM staff_location sl "
		       "JOIN location l ON l.id = sl.location_id WHERE sl.staff_id = s.id ORDER BY l.name)), '') "
		       ", " ORG_NAME(s) ", s.email FROM staff s WHERE (?1 IS NULL OR s.org_id = ?1) "
		       "ORDER BY s.display_name, s.id LIMIT ?3";
	case RESOLVE_CLIENT:
		return "SELECT c.id, NULL, coalesce((SELECT group_concat(name, ', ') FROM (SELECT l.name FROM "
		       "client_location cl JOIN location l ON l.id = cl.location_id WHERE cl.client_id = c.id "
		       "ORDER BY l.name)), ''), " ORG_NAME(c) " FROM client c WHERE (?1 IS NULL OR c.org_id = ?1) "
		       "ORDER BY c.id LIMIT ?3";
	case RESOLVE_SERVICE:
		return "SELECT s.id, s.name, coalesce(l.name, 'every location') || ', ' || s.duration_min || ' min' "
		       ", " ORG_NAME(s) " FROM service s LEFT JOIN location l ON l.id = s.location_id WHERE "
		       "(?1 IS NULL OR s.org_id = ?1) "
		       "AND (?2 IS NULL OR s.location_id IS NULL OR s.location_id = ?2) ORDER BY s.name, s.id LIMIT ?3";
	case RESOLVE_ORG:
		return "SELECT id, name, '', NULL FROM organisation WHERE (?1 IS NULL OR id = ?1) ORDER BY name, id "
		       "LIMIT ?3";
	}
	return NULL;
}

static bool id_exists(kt_store *st, resolve_kind kind, const resolve_scope *sc, const char *id)
{
	char sql[160];
	sqlite3_stmt *q;
	bool found = false;
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ?1 AND (?2 IS NULL OR %s = ?2)", kind_table[kind],
		 kind == RESOLVE_ORG ? "id" : "org_id");
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sc && sc->org)
		sqlite3_bind_text(q, 2, sc->org, -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

static int org_count(kt_store *st)
{
	sqlite3_stmt *q;
	int n = 0;
	if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM organisation", -1, &q, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

static int scan(kt_store *st, resolve_kind kind, const resolve_scope *sc, const char *typed, cands *c, bool *cut)
{
	sqlite3_stmt *q;
	int rc = KT_OK, step, rows = 0;
	bool orgs = kind != RESOLVE_ORG && !(sc && sc->org) && org_count(st) > 1;
	if (sqlite3_prepare_v2(store_db(st), scan_sql(kind), -1, &q, NULL) != SQLITE_OK)
		return KT_EIO;
	if (sc && sc->org)
		sqlite3_bind_text(q, 1, sc->org, -1, SQLITE_STATIC);
	if (sc && sc->location && kind == RESOLVE_SERVICE)
		sqlite3_bind_text(q, 2, sc->location, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, RESOLVE_MAX_ROWS + 1);
	while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		const char *extra = (const char *)sqlite3_column_text(q, 2);
		const char *org = (const char *)sqlite3_column_text(q, 3);
		char name[NAME_MAX_BYTES], more[NAME_MAX_BYTES * 2];
		if (++rows > RESOLVE_MAX_ROWS) {
			*cut = true;
			break;
		}
		if (kind == RESOLVE_CLIENT) {
			if (client_fields(st, id, false, name, sizeof name, NULL, 0) != KT_OK)
				continue; /* erased, or its key is not in this keyring */
		} else
			kt_strcpy_cut(name, sizeof name, (const char *)sqlite3_column_text(q, 1));
		int m = kt_text_row_match(id, name, kind == RESOLVE_STAFF ? (const char *)sqlite3_column_text(q, 4) : NULL,
					  typed);
		if (!m)
			continue;
		if (orgs) /* the same name may stand in two businesses: say whose */
			snprintf(more, sizeof more, "%s%sorganisation %s", extra ? extra : "", extra && *extra ? "; " : "",
				 org ? org : "?");
		rc = cands_add(c, m, id, name, orgs ? more : extra);
	}
	if (!rc && !*cut && step != SQLITE_DONE)
		rc = KT_EIO;
	sqlite3_finalize(q);
	return rc;
}

static void list_candidates(kt_store *st, resolve_kind kind, const cands *c, char *err, size_t errlen)
{
	size_t len = strlen(err);
	for (int i = 0; i < c->n && i < RESOLVE_SHOW && len + 1 < errlen; i++) {
		char contact[256] = "";
		const cand *x = &c->v[i];
		if (kind == RESOLVE_CLIENT) {
			char name[NAME_MAX_BYTES];
			(void)client_fields(st, x->id, true, name, sizeof name, contact, sizeof contact);
		}
		snprintf(err + len, errlen - len, "\n  %s  %s%s%s%s%s", x->name, x->id, *contact || *x->extra ? "  " : "",
			 contact, *contact && *x->extra ? "; " : "", x->extra);
		len = strlen(err);
	}
	if (c->n > RESOLVE_SHOW && len + 1 < errlen)
		snprintf(err + len, errlen - len, "\n  ... and %d more", c->n - RESOLVE_SHOW);
}

int resolve_id(kt_store *st, resolve_kind kind, const resolve_scope *scope, const char *opt, const char *text,
	       char id[KT_UUID_LEN + 1], char *err, size_t errlen)
{
	char typed[NAME_MAX_BYTES * 3];
	cands c = {0};
	bool cut = false;
	int rc;

	if (!text || !*text) {
		snprintf(err, errlen, "%s wants the %s's name or id", opt, kind_noun[kind]);
		return KT_ENOT_FOUND;
	}
	if (kt_uuid_valid(text, strlen(text))) {
		if (id_exists(st, kind, scope, text)) {
			kt_strcpy_cut(id, KT_UUID_LEN + 1, text);
			return KT_OK;
		}
		snprintf(err, errlen, "%s %s: no %s has this id%s", opt, text, kind_noun[kind],
			 scope && scope->org ? " in this organisation" : "");
		return KT_ENOT_FOUND;
	}
	if (strlen(text) >= NAME_MAX_BYTES || kt_text_fold(text, typed, sizeof typed) != KT_OK) {
		snprintf(err, errlen, "%s: '%.40s' is not a name (UTF-8 text, under %d bytes)", opt, text, NAME_MAX_BYTES);
		return KT_ENOT_FOUND;
	}
	if ((rc = scan(st, kind, scope, typed, &c, &cut))) {
		snprintf(err, errlen, "%s: cannot read the %s: %s", opt, kind_nouns[kind], kt_strerror(rc));
		cands_free(&c);
		return rc;
	}
	if (cut && c.n != 1) {
		snprintf(err, errlen, "%s '%.60s': more than %d %s to search by name; give the id", opt, text,
			 RESOLVE_MAX_ROWS, kind_nouns[kind]);
		rc = KT_ENOT_FOUND;
	} else if (c.n == 1) {
		kt_strcpy_cut(id, KT_UUID_LEN + 1, c.v[0].id);
		rc = KT_OK;
	} else if (c.n == 0) {
		snprintf(err, errlen, "%s '%.60s': no %s has this name or a name that starts so%s", opt, text,
			 kind_noun[kind], scope && scope->org ? " in this organisation" : "");
		rc = KT_ENOT_FOUND;
	} else {
		snprintf(err, errlen, "%s '%.60s': %d %s %s; give more of the name or the id:", opt, text, c.n,
			 kind_nouns[kind], c.best == 2 ? "have this name" : "have a name that starts so");
		list_candidates(st, kind, &c, err, errlen);
		rc = KT_ECONFLICT;
	}
	cands_free(&c);
	return rc;
}

static void one_text(kt_store *st, const char *sql, const char *id, char *buf, size_t cap)
{
	sqlite3_stmt *q;
	kt_strcpy_cut(buf, cap, "");
	if (!id || sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
		return;
	if (id)
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		kt_strcpy_cut(buf, cap, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

void resolve_name(kt_store *st, resolve_kind kind, const char *id, char *buf, size_t cap)
{
	static const char *const sql[] = {
		"SELECT name FROM location WHERE id = ?1",
		"SELECT display_name FROM staff WHERE id = ?1",
		NULL,
		"SELECT name FROM service WHERE id = ?1",
		"SELECT name FROM organisation WHERE id = ?1",
	};
	if (kind == RESOLVE_CLIENT) {
		if (!id || client_fields(st, id, false, buf, cap, NULL, 0) != KT_OK)
			kt_strcpy_cut(buf, cap, "?");
		return;
	}
	one_text(st, sql[kind], id, buf, cap);
	if (!*buf)
		kt_strcpy_cut(buf, cap, "?");
}

int resolve_org_of(kt_store *st, const char *table, const char *id, char org[KT_UUID_LEN + 1])
{
	char sql[96];
	const kt_table *t = kt_table_find(table, strlen(table));
	if (!t) /* only names from the model reach the SQL text */
		return KT_EINVALID;
	snprintf(sql, sizeof sql, "SELECT org_id FROM %s WHERE id = ?1", t->name);
	one_text(st, sql, id, org, KT_UUID_LEN + 1);
	return *org ? KT_OK : KT_ENOT_FOUND;
}

void resolve_location_zone(kt_store *st, const char *location_id, char zone[RESOLVE_ZONE])
{
	one_text(st, "SELECT time_zone FROM location WHERE id = ?1", location_id, zone, RESOLVE_ZONE);
}

void resolve_org_zone(kt_store *st, const char *org, char zone[RESOLVE_ZONE])
{
	sqlite3_stmt *q;
	kt_strcpy_cut(zone, RESOLVE_ZONE, "");
	/* ids are UUIDv7: the smallest is the location created first */
	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT time_zone FROM location WHERE org_id = coalesce(?1, (SELECT min(id) FROM "
			       "organisation)) ORDER BY id LIMIT 1",
			       -1, &q, NULL) != SQLITE_OK)
		return;
	if (org)
		sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		kt_strcpy_cut(zone, RESOLVE_ZONE, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

void resolve_time_text(kt_store *st, const char *org, int64_t ms, char *out, size_t cap)
{
	char zone[RESOLVE_ZONE];
	resolve_org_zone(st, org, zone);
	/* the mails are written in English: English dates, the salon's clock */
	if (!*zone || kt_time_format_locale(zone, "en_150", ms, out, cap))
		kt_time_format("UTC", ms, out, cap);
}

int resolve_org_arg(kt_store *st, const char *opt, const char *text, char org[KT_UUID_LEN + 1], char *err,
		    size_t errlen)
{
	sqlite3_stmt *q;
	cands c = {0};
	int n, rc = KT_OK;
	if (text)
		return resolve_id(st, RESOLVE_ORG, NULL, opt, text, org, err, errlen);
	if ((n = org_count(st)) == 0) {
		snprintf(err, errlen, "this database has no organisation yet: run kartoteka-server setup");
		return KT_ENOT_FOUND;
	}
	if (sqlite3_prepare_v2(store_db(st), "SELECT id, name FROM organisation ORDER BY name, id", -1, &q, NULL) !=
	    SQLITE_OK)
		return KT_EIO;
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = cands_add(&c, 1, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
			       NULL);
	sqlite3_finalize(q);
	if (!rc && c.n == 1)
		kt_strcpy_cut(org, KT_UUID_LEN + 1, c.v[0].id);
	else if (!rc) { /* several: listed as an ambiguous name is, to pick from */
		snprintf(err, errlen, "this database holds %d organisations; say which with %s NAME:", c.n, opt);
		list_candidates(st, RESOLVE_ORG, &c, err, errlen);
		rc = KT_ECONFLICT;
	}
	cands_free(&c);
	return rc;
}

int resolve_id_list(kt_store *st, resolve_kind kind, const resolve_scope *scope, const char *opt, const char *list,
		    char *out, size_t cap, char *err, size_t errlen)
{
	char *copy = kt_strndup(list, strlen(list)), *save = NULL;
	size_t len = 0;
	int rc = KT_OK;
	if (!copy)
		return KT_ENOMEM;
	out[0] = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		char id[KT_UUID_LEN + 1];
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if ((rc = resolve_id(st, kind, scope, opt, tok, id, err, errlen)))
			break;
		if (len + KT_UUID_LEN + 2 > cap) {
			snprintf(err, errlen, "%s: too many %s", opt, kind_nouns[kind]);
			rc = KT_EINVALID;
			break;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", id);
	}
	free(copy);
	return rc;
}

int resolve_location(kt_store *st, const resolve_scope *scope, const char *opt, const char *text,
		     resolve_place *out, char *err, size_t errlen)
{
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = resolve_id(st, RESOLVE_LOCATION, scope, opt, text, out->id, err, errlen)))
		return rc;
	if ((rc = resolve_org_of(st, "location", out->id, out->org))) {
		snprintf(err, errlen, "%s: cannot read the location", opt);
		return rc == KT_ENOT_FOUND ? KT_EIO : rc;
	}
	resolve_name(st, RESOLVE_LOCATION, out->id, out->name, sizeof out->name);
	resolve_location_zone(st, out->id, out->zone);
	if (!*out->zone)
		kt_strcpy_cut(out->zone, sizeof out->zone, "UTC");
	return KT_OK;
}
