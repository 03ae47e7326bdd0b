/* kc_cache.c - the device's local copy: rows(tbl, id, v, gen, data JSON) and
 * meta(key, value), a contract that tests and apps read with plain SQL, plus
 * the offline queue's tables (kc_queue.c). A row's JSON is written straight
 * from its MessagePack by kc_json.c (the text SQLite's json_object() gives,
 * checked against it by a test); kc_map_json still has SQLite build it. It
 * must never commit rows without the cursor that covers them, or a cursor
 * without its rows. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kc_internal.h"

static const char schema[] =
	"PRAGMA page_size=16384;"   /* fewer, larger writes: a snapshot is mostly appends */
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;" /* survives kill -9; a power cut may lose the last commit: it re-syncs */
	"PRAGMA secure_delete=ON;"  /* evicted and logged-out data is overwritten, not left in free pages */
	"PRAGMA cache_size=-16384;" /* 16 MiB page cache */
	"PRAGMA temp_store=MEMORY;" /* statement journals too: see kc_cache_put_page */
	"PRAGMA wal_autocheckpoint=4000;"
	"CREATE TABLE IF NOT EXISTS rows(tbl TEXT NOT NULL, id TEXT NOT NULL, v INTEGER NOT NULL,"
	" gen INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY(tbl, id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	/* offline edits waiting for the server, in order; before = the row's data
	 * before the edit (NULL for a create), for rolling back a rejection;
	 * overlap_reason: a double booking made on purpose, and why */
	"CREATE TABLE IF NOT EXISTS queue(mid INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL,"
	" op TEXT NOT NULL, base INTEGER NOT NULL, fields TEXT NOT NULL, before TEXT, at INTEGER NOT NULL,"
	" overlap_reason TEXT);"
	"CREATE INDEX IF NOT EXISTS queue_row ON queue(tbl, id);"
	"CREATE TABLE IF NOT EXISTS events(n INTEGER PRIMARY KEY, kind TEXT NOT NULL, tbl TEXT NOT NULL,"
	" id TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS rejections(mid INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL,"
	" op TEXT NOT NULL, fields TEXT NOT NULL, code TEXT NOT NULL, msg TEXT NOT NULL, current TEXT,"
	" at INTEGER NOT NULL);"
	"PRAGMA user_version=1;";

/* Create dir and its missing parents, mode 0700 (existing ones are kept). */
static int make_dir(kc_client *c, const char *dir)
{
	char path[sizeof c->dir];
	struct stat st;
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof path) {
		kc_set_err(c, "directory name is empty or too long");
		return KT_EINVALID;
	}
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			kc_set_err(c, "cannot create %s: %s", path, strerror(errno));
			return KT_EIO;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		kc_set_err(c, "cannot create %s: %s", path, strerror(errno));
		return KT_EIO;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		kc_set_err(c, "%s is not a directory", path);
		return KT_EIO;
	}
	return KT_OK;
}

/* Create the file 0600 ourselves (SQLite would use the umask) and tighten an
 * existing one: the cache holds personal and health data. SQLite gives its
 * -wal and -shm files the database file's mode. */
static int make_private_file(kc_client *c, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		kc_set_err(c, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || ((st.st_mode & 077) && fchmod(fd, 0600) != 0)) {
		kc_set_err(c, "%s: not a private regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int prepare(kc_client *c, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		return KT_EIO;
	}
	return KT_OK;
}

int kc_tx(kc_client *c, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		kc_set_err(c, "cache: %s", msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		return KT_EIO;
	}
	return KT_OK;
}

void kc_rollback(kc_client *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Step a statement that returns no rows, then reset it. */
static int step_done(kc_client *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (rc)
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int kc_meta_get(kc_client *c, const char *key, char *out, size_t cap)
{
	sqlite3_stmt *s = c->st_meta_get;
	int rc = KT_ENOT_FOUND, step;
	if (cap)
		out[0] = 0;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = KT_OK;
	} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		rc = KT_EIO;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int kc_meta_set(kc_client *c, const char *key, const char *value, size_t len)
{
	sqlite3_bind_text(c->st_meta_set, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(c->st_meta_set, 2, value, (int)len, SQLITE_STATIC);
	return step_done(c, c->st_meta_set);
}

int kc_meta_del(kc_client *c, const char *key)
{
	sqlite3_bind_text(c->st_meta_del, 1, key, -1, SQLITE_STATIC);
	return step_done(c, c->st_meta_del);
}

int kc_cache_open(kc_client *c)
{
	char path[sizeof c->dir + 16], buf[64];
	int fd, rc;

	if ((rc = make_dir(c, c->dir)))
		return rc;
	snprintf(path, sizeof path, "%s/cache.db", c->dir);
	if ((fd = make_private_file(c, path)) < 0)
		return KT_EIO;
	close(fd);
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		kc_set_err(c, "cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return KT_EIO;
	}
	sqlite3_busy_timeout(c->db, 5000); /* readers such as `ls` never block us long in WAL mode */
	if (kc_tx(c, schema))
		return KT_EIO;
	/* a cache made before the queue had overlap_reason gets the column */
	if (kc_scalar(c, "SELECT count(*) FROM pragma_table_info('queue') WHERE name = 'overlap_reason'") == 0 &&
	    kc_tx(c, "ALTER TABLE queue ADD COLUMN overlap_reason TEXT"))
		return KT_EIO;
	if (prepare(c, "DELETE FROM rows WHERE tbl = ? AND id = ?", &c->st_delete) ||
	    prepare(c, "SELECT value FROM meta WHERE key = ?", &c->st_meta_get) ||
	    prepare(c, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &c->st_meta_set) ||
	    prepare(c, "DELETE FROM meta WHERE key = ?", &c->st_meta_del) ||
	    prepare(c, "INSERT OR REPLACE INTO rows(tbl, id, v, gen, data) VALUES(?, ?, ?, ?, ?)", &c->st_put))
		return KT_EIO;
	for (int b = 0; b < KC_PUT_TIERS; b++) {
		/* kc_put_batch[b] rows a statement: a snapshot page's rows (kc_cache_put_page) */
		char sql[64 + KC_PUT_BATCH_MAX * 14];
		size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO rows(tbl, id, v, gen, data) VALUES");
		for (int i = 0; i < kc_put_batch[b]; i++)
			n += (size_t)snprintf(sql + n, sizeof sql - n, "%s(?,?,?,?,?)", i ? "," : "");
		if (n >= sizeof sql || prepare(c, sql, &c->st_put_batch[b]))
			return KT_EIO;
	}
	if ((rc = kc_meta_get(c, "device_id", buf, sizeof buf)) == KT_ENOT_FOUND) {
		char id[KT_UUID_LEN + 1];
		kt_uuid7(id);
		rc = kc_meta_set(c, "device_id", id, KT_UUID_LEN);
	}
	if (rc)
		return KT_EIO;
	c->gen = kc_meta_get(c, "gen", buf, sizeof buf) == KT_OK ? strtoll(buf, NULL, 10) : 0;
	kc_cache_load_cursor(c);
	snprintf(path, sizeof path, "%s/lock", c->dir);
	if ((c->lock_fd = make_private_file(c, path)) < 0)
		return KT_EIO;
	return kc_queue_open(c);
}

void kc_cache_close(kc_client *c)
{
	for (int i = 0; i < c->nshapes; i++) {
		sqlite3_finalize(c->shapes[i].stmt);
		free(c->shapes[i].shape);
	}
	c->nshapes = 0;
	sqlite3_finalize(c->st_delete);
	sqlite3_finalize(c->st_meta_get);
	sqlite3_finalize(c->st_meta_set);
	sqlite3_finalize(c->st_meta_del);
	sqlite3_finalize(c->st_put);
	for (int b = 0; b < KC_PUT_TIERS; b++) {
		sqlite3_finalize(c->st_put_batch[b]);
		c->st_put_batch[b] = NULL;
	}
	c->st_delete = c->st_meta_get = c->st_meta_set = c->st_meta_del = c->st_put = NULL;
	kc_jbuf_free(&c->json);
	sqlite3_close(c->db);
	c->db = NULL;
}

/* The shape of a row: one letter per field, 's' (nil, number, string) or
 * 'b' (bool), or "l<n>," for a list of n strings. Rows of one shape share one
 * prepared statement, which keeps a snapshot fast. Also checks that every
 * value is one v1 allows (PROTOCOL.md "page"): maps, binaries, extensions and
 * lists of anything but strings are refused. */
static int row_shape(const uint8_t *map, size_t maplen, char *shape, size_t cap)
{
	kt_mp r;
	uint32_t n;
	size_t o = 0;
	kt_mp_init(&r, map, maplen);
	if (kt_mp_read_map(&r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		uint32_t an;
		if (o + 16 >= cap)
			return KT_ETOO_LARGE;
		if (kt_mp_read_str(&r, &k, &kl, 256))
			return KT_EMALFORMED;
		switch (kt_mp_peek(&r)) {
		case KT_MP_BOOL:
			shape[o++] = 'b';
			break;
		case KT_MP_NIL:
		case KT_MP_INT:
		case KT_MP_FLOAT:
		case KT_MP_STR:
			shape[o++] = 's';
			break;
		case KT_MP_ARRAY:
			if (kt_mp_read_array(&r, &an))
				return KT_EMALFORMED;
			o += (size_t)snprintf(shape + o, cap - o, "l%u,", an);
			for (uint32_t e = 0; e < an; e++)
				if (kt_mp_peek(&r) != KT_MP_STR || kt_mp_skip(&r, 1))
					return KT_EMALFORMED;
			continue;
		default:
			return KT_EMALFORMED;
		}
		if (kt_mp_skip(&r, 1))
			return KT_EMALFORMED;
	}
	if (!kt_mp_at_end(&r))
		return KT_EMALFORMED;
	shape[o] = 0;
	return KT_OK;
}

/* A growing SQL text; s is NULL after an allocation failure. */
typedef struct sqlbuf {
	char *s;
	size_t len, cap;
} sqlbuf;

static void sql_add(sqlbuf *b, const char *text)
{
	size_t n = strlen(text);
	if (!b->s && b->cap)
		return; /* failed before */
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->s, cap))) {
			free(b->s);
			b->s = NULL;
			b->cap = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, text, n + 1);
	b->len += n;
}

/* shape starts with 'I' (insert a row: tbl, id, v, gen, then the fields) or
 * 'J' (select just the JSON object of the fields). */
static sqlite3_stmt *shape_stmt(kc_client *c, const char *shape)
{
	sqlbuf b = {0};
	sqlite3_stmt *s = NULL;
	char *dup;

	for (int i = 0; i < c->nshapes; i++)
		if (strcmp(c->shapes[i].shape, shape) == 0)
			return c->shapes[i].stmt;
	sql_add(&b, shape[0] == 'I' ? "INSERT OR REPLACE INTO rows(tbl, id, v, gen, data) VALUES(?, ?, ?, ?, json_object("
				    : "SELECT json_object(");
	for (const char *p = shape + 1; *p; p++) {
		sql_add(&b, p == shape + 1 ? "?, " : ", ?, ");
		if (*p == 's') {
			sql_add(&b, "?");
		} else if (*p == 'b') {
			sql_add(&b, "json(iif(?, 'true', 'false'))");
		} else { /* 'l' */
			char *end;
			unsigned long n = strtoul(p + 1, &end, 10);
			sql_add(&b, "json_array(");
			for (unsigned long k = 0; k < n; k++)
				sql_add(&b, k ? ", ?" : "?");
			sql_add(&b, ")");
			p = end; /* at the ',' */
		}
	}
	sql_add(&b, shape[0] == 'I' ? "))" : ")");
	if (!b.s || !(dup = strdup(shape))) {
		free(b.s);
		kc_set_err(c, "out of memory");
		return NULL;
	}
	if (prepare(c, b.s, &s)) {
		free(b.s);
		free(dup);
		return NULL;
	}
	free(b.s);
	if (c->nshapes == KC_SHAPES) { /* full: drop the oldest */
		sqlite3_finalize(c->shapes[0].stmt);
		free(c->shapes[0].shape);
		memmove(&c->shapes[0], &c->shapes[1], sizeof c->shapes[0] * (KC_SHAPES - 1));
		c->nshapes--;
	}
	c->shapes[c->nshapes].shape = dup;
	c->shapes[c->nshapes++].stmt = s;
	return s;
}

/* Bind the field names and values, from parameter p on, in the order
 * row_shape saw them. The strings stay in the caller's buffer
 * (SQLITE_STATIC) until the step. */
static int bind_fields(sqlite3_stmt *s, const uint8_t *map, size_t maplen, int p)
{
	kt_mp r;
	uint32_t n, an;
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
		case KT_MP_INT: {
			kt_mp at = r;
			if (kt_mp_read_int(&r, &iv) == KT_OK) {
				sqlite3_bind_int64(s, p++, iv);
				break;
			}
			r = at; /* over int64: JSON numbers have no bound, a double keeps the magnitude */
			if (kt_mp_read_uint(&r, &uv))
				return KT_EMALFORMED;
			sqlite3_bind_double(s, p++, (double)uv);
			break;
		}
		case KT_MP_FLOAT:
			if (kt_mp_read_float(&r, &d))
				return KT_EMALFORMED;
			sqlite3_bind_double(s, p++, d);
			break;
		case KT_MP_STR:
			if (kt_mp_read_str(&r, &str, &len, KT_MAX_OUT_FRAME))
				return KT_EMALFORMED;
			sqlite3_bind_text(s, p++, str, (int)len, SQLITE_STATIC);
			break;
		case KT_MP_ARRAY:
			if (kt_mp_read_array(&r, &an))
				return KT_EMALFORMED;
			for (uint32_t k = 0; k < an; k++) {
				if (kt_mp_read_str(&r, &str, &len, KT_MAX_OUT_FRAME))
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

/* A row the server deleted (an erasure deletes a client's card and visits):
 * nothing of it may stay on the device, not in the queue of unsent edits
 * (their fields and before-images), the rejections shown to the user or
 * the view events. A deleted client also takes every local trace that
 * names it: rows created here and not yet pushed, queued edits and
 * rejections of rows that pointed to it (the server rejects those edits
 * anyway: the client is gone). The caller holds the transaction. */
static int purge_deleted(kc_client *c, const kt_op *op)
{
	static const char *const sql[] = {
		"DELETE FROM queue WHERE tbl = ?1 AND id = ?2",
		"DELETE FROM rejections WHERE tbl = ?1 AND id = ?2",
		"DELETE FROM events WHERE tbl = ?1 AND id = ?2",
		/* the rest only for a client (?1 = 'client') */
		"DELETE FROM rows WHERE ?1 = 'client' AND iif(json_valid(data), json_extract(data, '$.client_id'), NULL) = ?2",
		"DELETE FROM queue WHERE ?1 = 'client' AND (iif(json_valid(fields), json_extract(fields, '$.client_id'), NULL) = ?2 OR "
		"iif(json_valid(before), json_extract(before, '$.client_id'), NULL) = ?2)",
		"DELETE FROM rejections WHERE ?1 = 'client' AND (iif(json_valid(fields), json_extract(fields, '$.client_id'), NULL) = ?2 OR "
		"iif(json_valid(current), json_extract(current, '$.client_id'), NULL) = ?2)",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *s;
		int rc;
		if (sqlite3_prepare_v2(c->db, sql[i], -1, &s, NULL) != SQLITE_OK) {
			kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
			return KT_EIO;
		}
		sqlite3_bind_text(s, 1, op->tbl.s, (int)op->tbl.len, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, op->id.s, (int)op->id.len, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
		sqlite3_finalize(s);
		if (rc)
			return rc;
	}
	c->queue_len = kc_queue_count(c);
	return KT_OK;
}

int kc_cache_apply(kc_client *c, const kt_op *op)
{
	int rc;

	if (op->op != KT_OP_PUT) { /* delete and evict: the row goes; absent is a no-op */
		sqlite3_bind_text(c->st_delete, 1, op->tbl.s, (int)op->tbl.len, SQLITE_STATIC);
		sqlite3_bind_text(c->st_delete, 2, op->id.s, (int)op->id.len, SQLITE_STATIC);
		if ((rc = step_done(c, c->st_delete)))
			return rc;
		return op->op == KT_OP_DELETE ? purge_deleted(c, op) : KT_OK;
	}
	if ((rc = kc_json_from_map(&c->json, op->fields, op->fields_len))) {
		if (rc == KT_ENOMEM)
			kc_set_err(c, "out of memory");
		else
			kc_set_err(c, "the server sent a %.*s row with a field value v1 does not allow", (int)op->tbl.len,
				   op->tbl.s);
		return rc;
	}
	return kc_cache_put_json(c, op->tbl.s, op->tbl.len, op->id.s, op->id.len, op->v, c->json.s, c->json.len);
}

const int kc_put_batch[KC_PUT_TIERS] = {KC_PUT_BATCH_MAX, 16};

int kc_cache_put_page(kc_client *c, const char *recs, size_t len)
{
	size_t off = 0;
	int rc;
	/* Many rows a statement. A statement's own cost (step, halt, reset)
	 * was a fifth of a row's insert; and INSERT OR REPLACE into NOT NULL
	 * columns may abort half way, so inside our transaction each statement
	 * journals the pages it changes that existed before it (the last leaf
	 * and its parents, 16 KiB each): once per 128 rows instead of per row.
	 * Rows whose queued edits must be rebased (queue_len) go one by one. */
	for (int b = 0; b < KC_PUT_TIERS && c->queue_len <= 0;) {
		int want = kc_put_batch[b];
		size_t at[KC_PUT_BATCH_MAX], o = off;
		int k = 0;
		kc_prow h;
		for (; k < want && o < len; k++) {
			at[k] = o;
			memcpy(&h, recs + o, sizeof h);
			o = h.next;
		}
		if (k < want) {
			b++; /* fewer rows left: the next smaller statement */
			continue;
		}
		sqlite3_stmt *s = c->st_put_batch[b];
		for (int i = 0; i < want; i++) {
			memcpy(&h, recs + at[i], sizeof h);
			const char *t = recs + at[i] + sizeof h;
			sqlite3_bind_text(s, 5 * i + 1, t, (int)h.tbl_len, SQLITE_STATIC);
			sqlite3_bind_text(s, 5 * i + 2, t + h.tbl_len, (int)h.id_len, SQLITE_STATIC);
			sqlite3_bind_int64(s, 5 * i + 3, h.v);
			sqlite3_bind_int64(s, 5 * i + 4, c->gen);
			sqlite3_bind_text(s, 5 * i + 5, t + h.tbl_len + h.id_len, (int)h.json_len, SQLITE_STATIC);
		}
		if ((rc = step_done(c, s)))
			return rc;
		off = o;
	}
	while (off < len) {
		kc_prow h;
		memcpy(&h, recs + off, sizeof h);
		const char *t = recs + off + sizeof h;
		if ((rc = kc_cache_put_json(c, t, h.tbl_len, t + h.tbl_len, h.id_len, h.v, t + h.tbl_len + h.id_len,
					    h.json_len)))
			return rc;
		off = h.next;
	}
	return KT_OK;
}

int kc_cache_put_json(kc_client *c, const char *tbl, size_t tbl_len, const char *id, size_t id_len, int64_t v,
		      const char *json, size_t json_len)
{
	sqlite3_stmt *s = c->st_put;
	int rc;
	sqlite3_bind_text(s, 1, tbl, (int)tbl_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, (int)id_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, v);
	sqlite3_bind_int64(s, 4, c->gen);
	sqlite3_bind_text(s, 5, json, (int)json_len, SQLITE_STATIC);
	if ((rc = step_done(c, s)))
		return rc;
	if (c->queue_len > 0) {
		/* a rejected edit of this row rolls back to the server's row as it is
		 * now, not to the row as it was when the edit was made (that would
		 * undo this change), then the queued edits go back on top */
		sqlite3_stmt *b;
		if (sqlite3_prepare_v2(c->db, "UPDATE queue SET before = (SELECT data FROM rows WHERE tbl = ?1 AND id = ?2) "
					      "WHERE tbl = ?1 AND id = ?2 AND op = 'update'",
				       -1, &b, NULL) != SQLITE_OK)
			return KT_EIO;
		sqlite3_bind_text(b, 1, tbl, (int)tbl_len, SQLITE_STATIC);
		sqlite3_bind_text(b, 2, id, (int)id_len, SQLITE_STATIC);
		rc = sqlite3_step(b) == SQLITE_DONE ? KT_OK : KT_EIO;
		sqlite3_finalize(b);
		if (rc)
			return rc;
		return kc_queue_rebase(c, tbl, tbl_len, id, id_len);
	}
	return KT_OK;
}

char *kc_map_json(kc_client *c, const uint8_t *map, size_t len)
{
	char shape[4096], *out = NULL;
	sqlite3_stmt *s;
	shape[0] = 'J';
	if (row_shape(map, len, shape + 1, sizeof shape - 1) || !(s = shape_stmt(c, shape)))
		return NULL;
	if (bind_fields(s, map, len, 1) == KT_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return out;
}

int kc_cache_set_cursor(kc_client *c, const kt_str *cursor)
{
	char hex[2 * KT_MAX_CURSOR + 1];
	if (cursor->len == 0 || cursor->len > KT_MAX_CURSOR) {
		kc_set_err(c, "the server sent a cursor of %zu bytes", cursor->len);
		return cursor->len ? KT_ETOO_LARGE : KT_EMALFORMED;
	}
	kt_hex(hex, (const uint8_t *)cursor->s, cursor->len);
	return kc_meta_set(c, "cursor", hex, 2 * cursor->len);
}

void kc_cache_load_cursor(kc_client *c)
{
	char hex[2 * KT_MAX_CURSOR + 2];
	size_t hl;
	c->cursor_len = 0;
	if (kc_meta_get(c, "cursor", hex, sizeof hex) != KT_OK)
		return;
	hl = strlen(hex);
	if (hl == 0 || hl % 2 || hl / 2 > sizeof c->cursor || !kt_unhex(c->cursor, hl / 2, hex, hl))
		return; /* unreadable: as if none, so a snapshot follows */
	c->cursor_len = hl / 2;
}

int kc_cache_snapshot_begin(kc_client *c)
{
	char gen[32];
	int n;
	/* A new generation, persisted with the cursor's removal: a snapshot
	 * killed half-way restarts from scratch (no cursor), and rows it left
	 * behind are older than the next generation, so they go at its end. */
	n = snprintf(gen, sizeof gen, "%lld", (long long)(c->gen + 1));
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	if (kc_meta_set(c, "gen", gen, (size_t)n) || kc_meta_del(c, "cursor") || kc_tx(c, "COMMIT")) {
		kc_rollback(c);
		return KT_EIO;
	}
	c->gen++;
	c->cursor_len = 0;
	return KT_OK;
}

int kc_cache_snapshot_end(kc_client *c, const kt_str *cursor)
{
	sqlite3_stmt *s = NULL;
	int rc;
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	/* rows created on this device and not pushed yet are not the server's to drop */
	if (sqlite3_prepare_v2(c->db,
			       "DELETE FROM rows WHERE gen < ? AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.tbl = rows.tbl"
			       " AND q.id = rows.id AND q.op = 'create')",
			       -1, &s, NULL) != SQLITE_OK) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		kc_rollback(c);
		return KT_EIO;
	}
	sqlite3_bind_int64(s, 1, c->gen);
	rc = step_done(c, s);
	sqlite3_finalize(s);
	if (rc || (rc = kc_cache_set_cursor(c, cursor)) || (rc = kc_tx(c, "COMMIT"))) {
		kc_rollback(c);
		return rc;
	}
	return KT_OK;
}

/* Sign-in answer: token and principal in one transaction. Another person on
 * this device must not find anything of the previous one, and their unsent
 * edits and view events cannot be pushed in the new person's name. */
int kc_cache_store_principal(kc_client *c, const kt_auth_ok *m)
{
	char old[64];
	int rc;
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	rc = kc_meta_get(c, "principal_id", old, sizeof old);
	if (rc == KT_EIO)
		goto fail;
	if (rc == KT_OK && (strlen(old) != m->id.len || memcmp(old, m->id.s, m->id.len) != 0)) {
		if (kc_tx(c, "DELETE FROM rows; DELETE FROM queue; DELETE FROM events; DELETE FROM rejections") ||
		    kc_meta_del(c, "cursor"))
			goto fail;
		c->cursor_len = 0;
		c->queue_len = 0;
	}
	if (kc_meta_set(c, "token", m->token.s, m->token.len) ||
	    kc_meta_set(c, "principal_kind", m->kind.s, m->kind.len) ||
	    kc_meta_set(c, "principal_id", m->id.s, m->id.len) ||
	    kc_meta_set(c, "principal_role", m->role.s, m->role.len) ||
	    kc_meta_set(c, "principal_name", m->name.s, m->name.len) ||
	    kc_meta_set(c, "org", m->org.s, m->org.len) || kc_tx(c, "COMMIT"))
		goto fail;
	return KT_OK;
fail:
	kc_rollback(c);
	return KT_EIO;
}

int kc_cache_forget_rows(kc_client *c)
{
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	/* the person's own unsent edits stay (pushed after the next sign-in) */
	if (kc_tx(c, "DELETE FROM rows; DELETE FROM meta WHERE key IN ('token', 'cursor'); COMMIT")) {
		kc_rollback(c);
		return KT_EIO;
	}
	c->cursor_len = 0;
	sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return KT_OK;
}

int kc_cache_wipe(kc_client *c)
{
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	/* last_mid stays: the server deduplicates by (device, mid), so a mid is
	 * never reused on this device */
	if (kc_tx(c, "DELETE FROM rows; DELETE FROM queue; DELETE FROM events; DELETE FROM rejections;"
		     " DELETE FROM meta WHERE key NOT IN ('device_id', 'server', 'ca_file', 'gen', 'last_mid'); COMMIT")) {
		kc_rollback(c);
		return KT_EIO;
	}
	c->cursor_len = 0;
	c->queue_len = 0;
	/* secure_delete zeroed the pages in the WAL; move them into the database
	 * file and cut the WAL, so no old frame keeps a copy. A reader holding
	 * the WAL open makes this a partial checkpoint: still correct. */
	sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return KT_OK;
}
