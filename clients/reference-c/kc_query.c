/* kc_query.c - read-only questions to the local cache. Nothing here touches
 * the network or writes; an app may call these between runs, and from the
 * kc_callbacks while a run is going on. */
#include <stdlib.h>
#include <string.h>
#include "kc_internal.h"

int kc_query(kc_client *c, const char *tbl, kc_row_cb cb, void *user)
{
	sqlite3_stmt *s;
	int rc = KT_OK, step;
	if (!tbl || !cb)
		return KT_EINVALID;
	if (sqlite3_prepare_v2(c->db, "SELECT id, v, data FROM rows WHERE tbl = ? ORDER BY id", -1, &s, NULL)) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		return KT_EIO;
	}
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = cb(user, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			     (const char *)sqlite3_column_text(s, 2))))
			break;
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		rc = KT_EIO;
	}
	sqlite3_finalize(s);
	return rc;
}

int kc_get(kc_client *c, const char *tbl, const char *id, char **json)
{
	sqlite3_stmt *s;
	int rc = KT_ENOT_FOUND, step;
	*json = NULL;
	if (!tbl || !id)
		return KT_EINVALID;
	if (sqlite3_prepare_v2(c->db, "SELECT data FROM rows WHERE tbl = ? AND id = ?", -1, &s, NULL)) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		return KT_EIO;
	}
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		*json = strdup((const char *)sqlite3_column_text(s, 0));
		rc = *json ? KT_OK : KT_ENOMEM;
	} else if (step != SQLITE_DONE) {
		kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		rc = KT_EIO;
	}
	sqlite3_finalize(s);
	return rc;
}

int64_t kc_count(kc_client *c, const char *tbl)
{
	sqlite3_stmt *s;
	int64_t n = -1;
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
