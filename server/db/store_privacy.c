/* store_privacy.c - what export and erasure need from the store: a
 * client's rows in any synced table, and deleting their rows of the
 * server-internal tables. Names are checked against model or schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/store_internal.h"

/* ---- privacy: export and erasure (erasure.c, export.c) ---- */

int store_client_rows(kt_store *st, const char *tbl, const char *client_col, const char *client_id,
		      kt_id_cb cb, void *user)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char sql[160];
	sqlite3_stmt *s;
	int rc;

	if (!t || kt_col_index(t, client_col) < 0)
		return KT_ENOT_FOUND; /* a table this build does not have: nothing of the client in it */
	/* table and column names come from the model, never from input */
	snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE %s = ? ORDER BY id", t->name, client_col);
	if (!(s = st_prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
	/* collect first: the callback may write (delete) rows of this table */
	char (*ids)[KT_UUID_LEN + 1] = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = realloc(ids, nc * sizeof *ids);
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			ids = p;
			cap = nc;
		}
		snprintf(ids[n++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	}
	st_finish(st, s);
	rc = rc == SQLITE_DONE ? KT_OK : rc == SQLITE_NOMEM ? KT_ENOMEM : st_sql_err(st, rc);
	for (size_t i = 0; !rc && i < n; i++)
		rc = cb(user, ids[i]);
	free(ids);
	return rc;
}

int store_private_delete(kt_store *st, const char *tbl, const char *col, const char *id, int *n)
{
	static const char exists[] = "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2";
	sqlite3_stmt *s = st_prep(st, exists);
	char sql[160];
	bool found;
	int rc;

	*n = 0;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, col, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	st_finish(st, s);
	if (!found)
		return KT_OK; /* this build has no such table: nothing to delete */
	/* the names passed the check above against the schema itself */
	snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE \"%s\" = ?", tbl, col);
	if ((rc = st_run(st, sql, "t", id)))
		return rc;
	*n = sqlite3_changes(st->db);
	return KT_OK;
}
