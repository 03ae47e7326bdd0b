/* store_internal.h - what the store's files (store.c, store_*.c) share and
 * nobody else may use: the kt_store struct and the helpers behind store.h.
 * Everything outside the store goes through store.h. */
#ifndef KT_STORE_INTERNAL_H
#define KT_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include "db/keyring.h"
#include "db/model.h"
#include "db/store.h"

#define STMT_CACHE 256
#define STMT_INDEX 1024 /* open addressing over cache[], a power of two > 2 * STMT_CACHE */
#define STMT_MEMO 64    /* st_prep: the cache slot a text pointer was last found in, by pointer */

struct kt_store {
	sqlite3 *db;
	struct {
		uint64_t hash; /* of the SQL text */
		char *key;     /* the SQL text (owned) */
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
	int ncache;
	int16_t index[STMT_INDEX]; /* cache slot + 1 by hash; 0 = empty */
	int16_t by_stmt[STMT_INDEX]; /* cache slot + 1 by statement pointer (st_finish) */
	struct {
		const char *sql; /* a text pointer st_prep found in the cache (compared, never read) */
		int16_t slot;    /* ...in this slot */
	} memo[STMT_MEMO];
	int64_t data_version;
	kt_actor actor;
	char *row_sql[16]; /* SELECT for store_row_load per table index */
	uint64_t tx_seq;   /* counts store_begin calls */
	bool in_tx;        /* a store_begin transaction is open */
	kt_chain_head head;
	int wal_pages;     /* frames in the WAL after our last commit */
	uint64_t wal_written; /* frames our commits appended, in all (statistics) */
	kt_keyring *kr;    /* client data keys (NULL: read-only without the key file) */
	int reading;       /* store_read_durable depth */
};

/* statements and errors (store_sql.c) */
sqlite3_stmt *st_prep(kt_store *st, const char *sql); /* cached; NULL on a prepare failure */
sqlite3_stmt *st_prep_once(kt_store *st, const char *sql); /* not cached: st_finish finalizes it */
int st_exec(kt_store *st, const char *sql);           /* statements without results; KT_E* */
void st_finish(kt_store *st, sqlite3_stmt *s);        /* resets a cached one, finalizes others */
int st_sql_err(kt_store *st, int rc);                 /* SQLite result code -> KT_E* */
/* The one-row query, for the store's files: prepare sql through the cache,
 * bind the arguments fmt lists to ?1, ?2, ... ('t' const char * text, 'i'
 * int64_t, 'b' const void * and size_t blob; all SQLITE_STATIC: they must
 * outlive the step), step once. KT_OK: *out is on the row; read its
 * columns, then st_finish it. Else *out is NULL and nothing is left to
 * release: KT_ENOT_FOUND when there is no row, KT_EIO when the prepare
 * failed, KT_EINVALID when fmt does not name every parameter of sql, the
 * step's error otherwise. */
int st_query_row(kt_store *st, sqlite3_stmt **out, const char *sql, const char *fmt, ...) KT_MUST_CHECK;
/* The same for a statement that returns no row (insert, update, delete):
 * KT_OK when it ran to its end. sqlite3_changes() still tells how many
 * rows it changed. */
int st_run(kt_store *st, const char *sql, const char *fmt, ...) KT_MUST_CHECK;
/* Run a write inside a transaction unless the caller already holds one. */
int st_in_tx_begin(kt_store *st, bool *own) KT_MUST_CHECK;
int st_in_tx_end(kt_store *st, bool own, int rc) KT_MUST_CHECK;

/* values and rows (store_rows.c); strings returned are owned by the caller */
char *st_dup_text(const unsigned char *t);
int st_bind_field(sqlite3_stmt *s, int idx, const kt_col *c, const char *text);
int st_bind_value(kt_store *st, sqlite3_stmt *s, int idx, const kt_table *t, int ci, const char *text,
		  const char *row_id, const char *owner);
int st_bind_email_hash(kt_store *st, sqlite3_stmt *s, int idx, const char *email);
int st_load_val(kt_store *st, sqlite3_stmt *s, int col, const kt_table *t, int ci, const char *row_id,
		kt_val *v);
void st_vals_free(kt_val *v, int n);
/* The given columns as the audit log's JSON object (owned by the caller;
 * store_write.c): by_col, v is a whole row (v[idx[i]]), else v[i] goes
 * with idx[i]; idx NULL: every column a person could care about.
 * st_vals_json (store_json.c) writes the bytes st_vals_json_jansson builds
 * through jansson (test_store checks them against each other). */
char *st_vals_json(const kt_table *t, const int *idx, int n, const kt_val *v, bool by_col);
/* Columns the store sets itself (id, org_id, version, ...), never a writer. */
bool st_managed_column(const kt_table *t, const char *name);
char *st_vals_json_jansson(const kt_table *t, const int *idx, int n, const kt_val *v, bool by_col);
extern const char st_q_staff_locs[], st_q_client_locs[]; /* ?1 = person id -> location set */
char *st_query_locset(kt_store *st, const char *sql, const char *id);
int st_row_org(kt_store *st, const kt_table *t, const char *id, char org[KT_UUID_LEN + 1]);
const char *st_row_select_sql(kt_store *st, const kt_table *t); /* owned by st */
/* The row loader's columns for a page of rows matching where (?1 principal,
 * ?2 organisation bound; ?5, ?6 left to the caller) with id > after_id, by
 * id, at most limit: prepared and bound, NULL on failure (*rc says why).
 * The caller steps it and calls st_finish. */
sqlite3_stmt *st_page_prep(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			   const char *org, const char *after_id, int limit, int *rc);
int st_read_row_some(kt_store *st, sqlite3_stmt *s, const kt_table *t, uint64_t open, kt_row *out);
int st_load_row(kt_store *st, const kt_table *t, const char *id, kt_row *out);

/* change log and audit of a row write (store_log.c, store_write.c) */
/* Log a put of each row that goes where row owner_id goes (route
 * KT_ROUTE_VIA_CLIENT: consents of a client; KT_ROUTE_VIA_STAFF: time off
 * of a staff member) with the owner's old and new locations (store_log.c). */
int st_relog_rows(kt_store *st, const char *org, kt_route route, const char *owner_id, const char *loc_old,
		  const char *loc_new) KT_MUST_CHECK;
int st_log_change(kt_store *st, const char *org, const kt_table *t, const char *id, bool deleted,
		  const char *loc_old, const char *client_old, const char *loc_new, const char *client_new);
int st_audit_row(kt_store *st, const char *org, const char *action, const kt_table *t, const char *id,
		 const char *client, const char *locs, const char *fields, const char *before, const char *after);

#endif
