/* kc_cache.c - the device's local copy: rows(tbl, id, v, gen, data JSON) and
 * meta(key, value). JSON is built by SQLite's own JSON functions from bound
 * values (we never format JSON by hand); one prepared INSERT per row shape
 * keeps a snapshot fast. Every server message is applied in one transaction
 * together with its cursor, so a crash at any point resumes consistently. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kc_internal.h"

static const char schema[] =
	"PRAGMA page_size=16384;"      /* fewer, larger writes: a snapshot is mostly appends */
	"PRAGMA journal_mode=WAL;"
	"PRAGMA cache_size=-16384;"    /* 16 MiB page cache */
	"PRAGMA wal_autocheckpoint=4000;"
	"PRAGMA synchronous=NORMAL;" /* a device may lose its last commit on power loss: it re-syncs */
	"CREATE TABLE IF NOT EXISTS rows(tbl TEXT NOT NULL, id TEXT NOT NULL, v INTEGER NOT NULL,"
	" gen INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY(tbl, id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	/* offline edits waiting for the server, in order; before = the row's data
	 * before the edit (NULL for a create), for rolling back a rejection */
	"CREATE TABLE IF NOT EXISTS queue(mid INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL,"
	" op TEXT NOT NULL, base INTEGER NOT NULL, fields TEXT NOT NULL, before TEXT, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS queue_row ON queue(tbl, id);"
	"CREATE TABLE IF NOT EXISTS events(n INTEGER PRIMARY KEY, kind TEXT NOT NULL, tbl TEXT NOT NULL,"
	" id TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS rejections(mid INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL,"
	" op TEXT NOT NULL, fields TEXT NOT NULL, code TEXT NOT NULL, msg TEXT NOT NULL, current TEXT,"
	" at INTEGER NOT NULL);";

int kc_tx(kc_client *c, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		kc_set_err(c, "cache: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return KT_EIO;
	}
	return KT_OK;
}

int kc_meta_set(kc_client *c, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1, &s, NULL))
		return KT_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	sqlite3_finalize(s);
	return rc;
}

int kc_meta_del(kc_client *c, const char *key)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(c->db, "DELETE FROM meta WHERE key = ?", -1, &s, NULL))
		return KT_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	sqlite3_finalize(s);
	return rc;
}

int kc_meta(kc_client *c, const char *key, char *out, size_t cap)
{
	sqlite3_stmt *s;
	int rc = KT_ENOT_FOUND;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = ?", -1, &s, NULL))
		return KT_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = KT_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

int kc_cache_open(kc_client *c)
{
	char path[1100], gen[32];
	mkdir(c->dir, 0700);
	snprintf(path, sizeof path, "%s/cache.db", c->dir);
	mode_t old = umask(077);
	int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		kc_set_err(c, "cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "?");
		return KT_EIO;
	}
	sqlite3_busy_timeout(c->db, 5000);
	if (kc_tx(c, schema))
		return KT_EIO;
	if (kc_meta(c, "device_id", gen, sizeof gen) != KT_OK) {
		char id[KT_UUID_LEN + 1];
		kt_uuid7(id);
		if (kc_meta_set(c, "device_id", id))
			return KT_EIO;
	}
	c->gen = kc_meta(c, "gen", gen, sizeof gen) == KT_OK ? atoll(gen) : 0;
	return kc_queue_open(c);
}

void kc_cache_close(kc_client *c)
{
	for (int i = 0; i < c->nshapes; i++) {
		sqlite3_finalize(c->shapes[i].stmt);
		free(c->shapes[i].shape);
	}
	c->nshapes = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

/* The shape of a row: one letter per field ('s'calar, 'b'ool) or 'l<n>' for
 * a list of n strings. Rows of one shape share one INSERT statement. */
static int row_shape(const uint8_t *map, size_t maplen, char *shape, size_t cap, uint32_t *nfields)
{
	kt_mp r;
	uint32_t n;
	size_t o = 0;
	kt_mp_init(&r, map, maplen);
	if (kt_mp_read_map(&r, &n))
		return KT_EMALFORMED;
	*nfields = n;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		uint32_t an;
		if (kt_mp_read_str(&r, &k, &kl, 256))
			return KT_EMALFORMED;
		switch (kt_mp_peek(&r)) {
		case KT_MP_BOOL:
			o += (size_t)snprintf(shape + o, cap - o, "b");
			break;
		case KT_MP_ARRAY:
			if (kt_mp_read_array(&r, &an))
				return KT_EMALFORMED;
			o += (size_t)snprintf(shape + o, cap - o, "l%u,", an);
			for (uint32_t k2 = 0; k2 < an; k2++)
				if (kt_mp_peek(&r) != KT_MP_STR || kt_mp_skip(&r, 1))
					return KT_EMALFORMED;
			continue;
		case KT_MP_NIL:
		case KT_MP_INT:
		case KT_MP_STR:
		case KT_MP_FLOAT:
			o += (size_t)snprintf(shape + o, cap - o, "s");
			break;
		default:
			return KT_EMALFORMED; /* maps and binaries are not field values in v1 */
		}
		if (kt_mp_skip(&r, 1))
			return KT_EMALFORMED;
		if (o >= cap - 16)
			return KT_ETOO_LARGE;
	}
	return KT_OK;
}

/* shape starts with 'I' (insert a row) or 'J' (just the JSON object). */
static sqlite3_stmt *shape_stmt(kc_client *c, const char *shape, uint32_t nfields)
{
	char *sql;
	size_t cap = 256 + strlen(shape) * 32 + nfields * 32, o;
	sqlite3_stmt *s = NULL;
	for (int i = 0; i < c->nshapes; i++)
		if (strcmp(c->shapes[i].shape, shape) == 0)
			return c->shapes[i].stmt;
	if (!(sql = malloc(cap)))
		return NULL;
	o = (size_t)snprintf(sql, cap, "%s",
			     shape[0] == 'I' ? "INSERT OR REPLACE INTO rows(tbl, id, v, gen, data) VALUES(?, ?, ?, ?, json_object("
					     : "SELECT json_object(");
	for (const char *p = shape + 1; *p; p++) {
		o += (size_t)snprintf(sql + o, cap - o, "%s?, ", p == shape + 1 ? "" : ", ");
		if (*p == 's')
			o += (size_t)snprintf(sql + o, cap - o, "?");
		else if (*p == 'b')
			o += (size_t)snprintf(sql + o, cap - o, "json(iif(?, 'true', 'false'))");
		else if (*p == 'l') {
			unsigned n = (unsigned)strtoul(p + 1, (char **)&p, 10);
			o += (size_t)snprintf(sql + o, cap - o, "json_array(");
			for (unsigned k = 0; k < n; k++)
				o += (size_t)snprintf(sql + o, cap - o, "%s?", k ? ", " : "");
			o += (size_t)snprintf(sql + o, cap - o, ")");
		}
	}
	snprintf(sql + o, cap - o, "%s", shape[0] == 'I' ? "))" : ")");
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		free(sql);
		return NULL;
	}
	free(sql);
	if (c->nshapes == KC_SHAPES) { /* full: drop the oldest */
		sqlite3_finalize(c->shapes[0].stmt);
		free(c->shapes[0].shape);
		memmove(&c->shapes[0], &c->shapes[1], sizeof c->shapes[0] * (KC_SHAPES - 1));
		c->nshapes--;
	}
	c->shapes[c->nshapes].shape = strdup(shape);
	c->shapes[c->nshapes++].stmt = s;
	return s;
}

static int bind_fields(sqlite3_stmt *s, const uint8_t *map, size_t maplen, int p)
{
	kt_mp r;
	uint32_t n;
	kt_mp_init(&r, map, maplen);
	if (kt_mp_read_map(&r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *str;
		size_t len;
		int64_t iv;
		uint64_t uv;
		double d;
		bool b;
		uint32_t an;
		if (kt_mp_read_str(&r, &str, &len, 256))
			return KT_EMALFORMED;
		sqlite3_bind_text(s, p++, str, (int)len, SQLITE_STATIC);
		switch (kt_mp_peek(&r)) {
		case KT_MP_NIL:
			if (kt_mp_read_nil(&r))
				return KT_EMALFORMED;
			sqlite3_bind_null(s, p++);
			break;
		case KT_MP_BOOL:
			if (kt_mp_read_bool(&r, &b))
				return KT_EMALFORMED;
			sqlite3_bind_int(s, p++, b);
			break;
		case KT_MP_INT:
			if (kt_mp_read_int(&r, &iv) == KT_OK)
				sqlite3_bind_int64(s, p++, iv);
			else if (kt_mp_read_uint(&r, &uv) == KT_OK)
				sqlite3_bind_double(s, p++, (double)uv);
			else
				return KT_EMALFORMED;
			break;
		case KT_MP_FLOAT:
			if (kt_mp_read_float(&r, &d))
				return KT_EMALFORMED;
			sqlite3_bind_double(s, p++, d);
			break;
		case KT_MP_STR:
			if (kt_mp_read_str(&r, &str, &len, KT_MAX_STR))
				return KT_EMALFORMED;
			sqlite3_bind_text(s, p++, str, (int)len, SQLITE_STATIC);
			break;
		case KT_MP_ARRAY:
			if (kt_mp_read_array(&r, &an))
				return KT_EMALFORMED;
			for (uint32_t k = 0; k < an; k++) {
				if (kt_mp_read_str(&r, &str, &len, KT_MAX_STR))
					return KT_EMALFORMED;
				sqlite3_bind_text(s, p++, str, (int)len, SQLITE_STATIC);
			}
			break;
		default:
			return KT_EMALFORMED;
		}
	}
	return KT_OK;
}

int kc_cache_apply(kc_client *c, const kt_op *op)
{
	sqlite3_stmt *s;
	int rc;
	if (op->op != KT_OP_PUT) {
		if (sqlite3_prepare_v2(c->db, "DELETE FROM rows WHERE tbl = ? AND id = ?", -1, &s, NULL))
			return KT_EIO;
		sqlite3_bind_text(s, 1, op->tbl.s, (int)op->tbl.len, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, op->id.s, (int)op->id.len, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
		sqlite3_finalize(s);
		return rc;
	}
	char shape[4096];
	uint32_t nfields;
	shape[0] = 'I';
	if ((rc = row_shape(op->fields, op->fields_len, shape + 1, sizeof shape - 1, &nfields)))
		return rc;
	if (!(s = shape_stmt(c, shape, nfields)))
		return KT_EIO;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_text(s, 1, op->tbl.s, (int)op->tbl.len, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, op->id.s, (int)op->id.len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, op->v);
	sqlite3_bind_int64(s, 4, c->gen);
	if ((rc = bind_fields(s, op->fields, op->fields_len, 5)))
		return rc;
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (rc)
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
	sqlite3_reset(s);
	if (!rc && c->queue_len > 0) /* keep my offline edits visible on top */
		rc = kc_queue_rebase(c, op->tbl.s, op->tbl.len, op->id.s, op->id.len);
	return rc;
}

char *kc_map_json(kc_client *c, const uint8_t *map, size_t len)
{
	char shape[4096];
	uint32_t n;
	sqlite3_stmt *s;
	char *out = NULL;
	shape[0] = 'J';
	if (row_shape(map, len, shape + 1, sizeof shape - 1, &n) || !(s = shape_stmt(c, shape, n)))
		return NULL;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (bind_fields(s, map, len, 1) == KT_OK && sqlite3_step(s) == SQLITE_ROW)
		out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return out;
}

int kc_cache_snapshot_begin(kc_client *c)
{
	char gen[32];
	int rc;
	/* a new generation, persisted at once: rows of an interrupted snapshot
	 * never survive the next one */
	c->gen++;
	snprintf(gen, sizeof gen, "%lld", (long long)c->gen);
	if ((rc = kc_tx(c, "BEGIN IMMEDIATE")))
		return rc;
	if (kc_meta_set(c, "gen", gen) || kc_meta_del(c, "cursor")) {
		kc_tx(c, "ROLLBACK");
		return KT_EIO;
	}
	return kc_tx(c, "COMMIT");
}

int kc_cache_set_cursor(kc_client *c, const kt_str *cursor)
{
	char hex[2 * KT_MAX_CURSOR + 1];
	if (cursor->len > KT_MAX_CURSOR)
		return KT_ETOO_LARGE;
	kt_hex(hex, (const uint8_t *)cursor->s, cursor->len);
	return kc_meta_set(c, "cursor", hex);
}

int kc_cache_snapshot_end(kc_client *c, const kt_str *cursor)
{
	sqlite3_stmt *s;
	int rc;
	if ((rc = kc_tx(c, "BEGIN IMMEDIATE")))
		return rc;
	if (sqlite3_prepare_v2(c->db, "DELETE FROM rows WHERE gen < ?", -1, &s, NULL)) {
		kc_tx(c, "ROLLBACK");
		return KT_EIO;
	}
	sqlite3_bind_int64(s, 1, c->gen);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	sqlite3_finalize(s);
	if (rc || (rc = kc_cache_set_cursor(c, cursor))) {
		kc_tx(c, "ROLLBACK");
		return rc;
	}
	return kc_tx(c, "COMMIT");
}

int kc_cache_cursor(kc_client *c, uint8_t *buf, size_t cap, size_t *len)
{
	char hex[2 * KT_MAX_CURSOR + 2];
	*len = 0;
	if (kc_meta(c, "cursor", hex, sizeof hex) != KT_OK)
		return KT_OK;
	size_t hl = strlen(hex);
	if (hl % 2 || hl / 2 > cap || !kt_unhex(buf, hl / 2, hex, hl))
		return KT_OK; /* unreadable: behave as if none (a snapshot follows) */
	*len = hl / 2;
	return KT_OK;
}

int kc_query(kc_client *c, const char *tbl, kc_row_cb cb, void *user)
{
	sqlite3_stmt *s;
	int rc = KT_OK;
	if (sqlite3_prepare_v2(c->db, "SELECT id, v, data FROM rows WHERE tbl = ? ORDER BY id", -1, &s, NULL))
		return KT_EIO;
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW)
		if ((rc = cb(user, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			     (const char *)sqlite3_column_text(s, 2))))
			break;
	sqlite3_finalize(s);
	return rc;
}

int kc_get(kc_client *c, const char *tbl, const char *id, char **json)
{
	sqlite3_stmt *s;
	int rc = KT_ENOT_FOUND;
	*json = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT data FROM rows WHERE tbl = ? AND id = ?", -1, &s, NULL))
		return KT_EIO;
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*json = strdup((const char *)sqlite3_column_text(s, 0));
		rc = *json ? KT_OK : KT_ENOMEM;
	}
	sqlite3_finalize(s);
	return rc;
}

int64_t kc_count(kc_client *c, const char *tbl)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	if (sqlite3_prepare_v2(c->db, tbl ? "SELECT count(*) FROM rows WHERE tbl = ?" : "SELECT count(*) FROM rows",
			       -1, &s, NULL))
		return -1;
	if (tbl)
		sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

struct sqlite3 *kc_db(kc_client *c)
{
	return c->db;
}
