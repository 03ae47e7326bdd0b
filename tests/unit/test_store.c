/* test_store.c - the store writes each change and its log entry together,
 * with routing before and after; a failed write leaves neither. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kt_testdb.h"
#include "db/audit.h"
#include "db/schema.h"
#include "db/store.h"
#include "db/store_internal.h"

static char path[64];
static kt_store *st;
static char org[37], locA[37], locB[37], client[37], appt[37];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "store", &st), KT_OK);
	kt_uuid7(org);
	kt_uuid7(locA);
	kt_uuid7(locB);
	kt_uuid7(client);
	kt_uuid7(appt);
	kt_field o[] = {{"name", "Org"}};
	assert_int_equal(store_insert(st, "organisation", org, NULL, o, 1, NULL), KT_OK);
	kt_field l[] = {{"name", "A"}, {"time_zone", "Europe/Ljubljana"}};
	assert_int_equal(store_insert(st, "location", locA, org, l, 2, NULL), KT_OK);
	l[0].text = "B";
	assert_int_equal(store_insert(st, "location", locB, org, l, 2, NULL), KT_OK);
	kt_field c[] = {{"name", "Ana"}};
	assert_int_equal(store_insert(st, "client", client, org, c, 1, NULL), KT_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	kt_testdb_remove(path);
	return 0;
}

static void test_missing_file_is_not_found(void **state)
{
	kt_store *s2;
	const char *msg = NULL;
	(void)state;
	assert_int_equal(store_open("/nonexistent/kartoteka.db", 0, &s2, &msg), KT_ENOT_FOUND);
	assert_non_null(msg);
}

static void test_reopen_applies_no_migration_twice(void **state)
{
	kt_store *s2;
	const char *msg;
	(void)state;
	assert_int_equal(store_open(path, 0, &s2, &msg), KT_OK);
	assert_int_equal(store_schema_version(s2), store_schema_version(st));
	store_close(s2);
}

static void test_every_write_logs_routing_before_and_after(void **state)
{
	kt_log_entry e[8];
	int n;
	int64_t v, before = store_max_seq(st);
	(void)state;
	kt_field f[] = {{"location_id", locA}, {"client_id", client}, {"specialist_id", client},
			{"start_at", "1800000000000"}, {"duration_min", "30"}, {"services", ""}, {"status", "booked"}};
	/* the specialist reference is not enforced by the store (ops.c does it) but
	 * foreign keys are: use a real staff row */
	char staff[37];
	kt_uuid7(staff);
	kt_field s[] = {{"display_name", "Maja"}, {"email", "maja@x.example"}, {"role", "specialist"}};
	assert_int_equal(store_insert(st, "staff", staff, org, s, 3, NULL), KT_OK);
	f[2].text = staff;
	assert_int_equal(store_insert(st, "appointment", appt, org, f, 7, &v), KT_OK);
	assert_int_equal(v, 1);
	kt_field mv[] = {{"location_id", locB}};
	assert_int_equal(store_update(st, "appointment", appt, mv, 1, &v), KT_OK);
	assert_int_equal(v, 2);
	assert_int_equal(store_log_read(st, before + 1, e, 8, &n), KT_OK); /* skip the staff insert */
	assert_int_equal(n, 2);
	assert_string_equal(e[0].loc_new, locA);
	assert_string_equal(e[1].loc_old, locA);
	assert_string_equal(e[1].loc_new, locB);
	assert_string_equal(e[1].client_new, client);
	for (int i = 0; i < n; i++)
		kt_log_entry_free(&e[i]);
}

static void test_failed_write_leaves_no_log_entry(void **state)
{
	int64_t before = store_max_seq(st);
	(void)state;
	kt_field bad[] = {{"duration_min", "not a number"}};
	assert_int_equal(store_update(st, "appointment", appt, bad, 1, NULL), KT_EINVALID);
	kt_field unknown[] = {{"no_such_column", "x"}};
	assert_int_equal(store_update(st, "client", client, unknown, 1, NULL), KT_EINVALID);
	kt_field managed[] = {{"version", "99"}};
	assert_int_equal(store_update(st, "client", client, managed, 1, NULL), KT_EINVALID);
	assert_int_equal(store_update(st, "client", "01a20b2f-e370-765e-8e59-000000000000", (kt_field[]){{"name", "x"}}, 1,
				      NULL),
			 KT_ENOT_FOUND);
	assert_int_equal(store_max_seq(st), before);
}

static void test_linking_a_client_logs_its_new_locations(void **state)
{
	kt_log_entry e[4];
	int n;
	int64_t before = store_max_seq(st);
	(void)state;
	assert_int_equal(store_link_client_location(st, client, locA), KT_OK);
	assert_int_equal(store_link_client_location(st, client, locA), KT_OK); /* no-op */
	assert_int_equal(store_link_client_location(st, client, locB), KT_OK);
	assert_int_equal(store_log_read(st, before, e, 4, &n), KT_OK);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].loc_old, "");
	assert_string_equal(e[0].loc_new, locA);
	assert_true(kt_locset_has(e[1].loc_new, locA) && kt_locset_has(e[1].loc_new, locB));
	for (int i = 0; i < n; i++)
		kt_log_entry_free(&e[i]);
}

/* staff.location_ids follows staff_location in the link's transaction, with
 * a new version (devices take the row again), and no caller writes it. */
static void test_a_staff_row_carries_its_locations_in_order(void **state)
{
	char maja[37], want[80];
	sqlite3_stmt *s = NULL;
	int64_t v0;
	(void)state;
	kt_uuid7(maja);
	kt_field f[] = {{"display_name", "Maja"}, {"email", "maja.l@x.example"}, {"role", "specialist"}};
	assert_int_equal(store_insert(st, "staff", maja, org, f, 3, NULL), KT_OK);
	assert_int_equal(st_query_row(st, &s, "SELECT location_ids, version FROM staff WHERE id = ?1", "t", maja), KT_OK);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "");
	v0 = sqlite3_column_int64(s, 1);
	st_finish(st, s);
	assert_int_equal(store_link_staff_location(st, maja, locB, true), KT_OK);
	assert_int_equal(store_link_staff_location(st, maja, locA, true), KT_OK);
	assert_int_equal(store_link_staff_location(st, maja, locA, true), KT_OK); /* no-op: no new version */
	snprintf(want, sizeof want, "%s,%s", strcmp(locA, locB) < 0 ? locA : locB, strcmp(locA, locB) < 0 ? locB : locA);
	assert_int_equal(st_query_row(st, &s, "SELECT location_ids, version FROM staff WHERE id = ?1", "t", maja), KT_OK);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
	assert_int_equal(sqlite3_column_int64(s, 1), v0 + 2);
	st_finish(st, s);
	assert_int_equal(store_link_staff_location(st, maja, locB, false), KT_OK);
	assert_int_equal(st_query_row(st, &s, "SELECT location_ids, version FROM staff WHERE id = ?1", "t", maja), KT_OK);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), locA);
	assert_int_equal(sqlite3_column_int64(s, 1), v0 + 3);
	st_finish(st, s);
	kt_field w[] = {{"location_ids", locB}};
	assert_int_equal(store_update(st, "staff", maja, w, 1, NULL), KT_EINVALID);
}

static int rule_calls;
static char rule_old[64], rule_new[64];

static int record_email_change(kt_store *s, const char *org_id, const char *id, const char *old_email, const char *new_email)
{
	(void)s;
	(void)org_id;
	(void)id;
	rule_calls++;
	snprintf(rule_old, sizeof rule_old, "%s", old_email ? old_email : "(none)");
	snprintf(rule_new, sizeof rule_new, "%s", new_email ? new_email : "(none)");
	return KT_OK;
}

/* The store sits below the portal's e-mail rule, so the rule is installed;
 * until it is, no client's e-mail changes at all. */
static void test_email_change_needs_the_installed_rule(void **state)
{
	const char *names[] = {"email"};
	int64_t before[1], after[1];
	(void)state;
	store_on_email_change(NULL);
	assert_int_equal(store_field_versions(st, "client", client, names, 1, NULL, before), KT_OK);
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"email", "ana@example.com"}}, 1, NULL),
			 KT_EINTERNAL);
	assert_int_equal(store_field_versions(st, "client", client, names, 1, NULL, after), KT_OK);
	assert_int_equal(after[0], before[0]); /* nothing written */
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"phone", "+386 2"}}, 1, NULL), KT_OK);
	store_on_email_change(record_email_change);
	rule_calls = 0;
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"email", "ana@example.com"}}, 1, NULL), KT_OK);
	assert_int_equal(rule_calls, 1);
	assert_string_equal(rule_new, "ana@example.com");
	store_on_email_change(NULL);
}

static void test_field_versions_name_the_version_of_the_last_change(void **state)
{
	const char *names[] = {"name", "phone", "preferences"};
	int64_t v[3], v_phone;
	(void)state;
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"phone", "+386 1"}}, 1, &v_phone), KT_OK);
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"preferences", "tea"}}, 1, NULL), KT_OK);
	assert_int_equal(store_field_versions(st, "client", client, names, 3, NULL, v), KT_OK);
	assert_int_equal(v[0], 1); /* never changed since creation */
	assert_int_equal(v[1], v_phone);
	assert_int_equal(v[2], v_phone + 1);
}

static void test_field_versions_know_which_device_made_the_last_change(void **state)
{
	const char *names[] = {"name", "phone", "address"};
	char dev_a[37], dev_b[37];
	int64_t v[3], v_phone, v_name;
	(void)state;
	kt_uuid7(dev_a);
	kt_uuid7(dev_b);
	store_set_actor(st, "staff", NULL, dev_a, 0);
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"phone", "+386 1"}}, 1, &v_phone), KT_OK);
	store_set_actor(st, "staff", NULL, dev_b, 0);
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"name", "Ana B"}}, 1, &v_name), KT_OK);
	store_set_actor(st, "system", NULL, NULL, 0);
	assert_int_equal(store_field_versions(st, "client", client, names, 3, dev_a, v), KT_OK);
	assert_int_equal(v[0], v_name);
	assert_int_equal(v[1], 0); /* its own edit is not concurrent with its later ones */
	assert_int_equal(v[2], 1);
	assert_int_equal(store_field_versions(st, "client", client, names, 3, dev_b, v), KT_OK);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], v_phone); /* the other field's entry survived the second change */
	assert_int_equal(v[2], 1);
	/* a change by nobody's device (the admin command) is concurrent with everyone's */
	assert_int_equal(store_update(st, "client", client, (kt_field[]){{"phone", "+386 2"}}, 1, &v_phone), KT_OK);
	assert_int_equal(store_field_versions(st, "client", client, names, 3, dev_a, v), KT_OK);
	assert_int_equal(v[1], v_phone);
	assert_int_equal(v[0], v_name);
}

/* A fresh database in file, migrated up to (not including) the migration
 * whose SQL contains marker, as an older server left it; *before is that
 * migration's index (= the database's user_version). */
static sqlite3 *db_before_migration(const char *marker, const char *file, int *before)
{
	sqlite3 *db;
	char v[48];
	*before = -1;
	for (int i = 0; i < kt_migration_count; i++)
		if (strstr(kt_migrations[i], marker))
			*before = i;
	assert_true(*before > 0);
	kt_testdb_remove(file);
	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	for (int i = 0; i < *before; i++)
		assert_int_equal(sqlite3_exec(db, kt_migrations[i], NULL, NULL, NULL), SQLITE_OK);
	snprintf(v, sizeof v, "PRAGMA user_version = %d", *before);
	assert_int_equal(sqlite3_exec(db, v, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/* A database from before migration 10 keeps its field versions. */
static void test_migration_moves_field_versions_into_the_rows(void **state)
{
	char p2[80], dev[37], sql[512];
	const char *names[] = {"name", "phone", "email"};
	int64_t v[3];
	sqlite3 *db;
	kt_store *s2;
	const char *msg;
	int before;
	(void)state;
	snprintf(p2, sizeof p2, "/tmp/kt-test-store-fv-%d.db", (int)getpid());
	db = db_before_migration("DROP TABLE field_version", p2, &before);
	kt_uuid7(dev);
	snprintf(sql, sizeof sql,
		 "INSERT INTO organisation(id, name, updated_at) VALUES('%s', 'Org', 1);"
		 "INSERT INTO client(id, org_id, name, version, updated_at) VALUES('%s', '%s', 'Ana', 7, 1);"
		 "INSERT INTO field_version VALUES('client', '%s', 'name', 4, NULL), "
		 "('client', '%s', 'phone', 6, '%s');",
		 org, client, org, client, client, dev);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(p2, 0, &s2, &msg), KT_OK);
	assert_int_equal(store_field_versions(s2, "client", client, names, 3, NULL, v), KT_OK);
	assert_int_equal(v[0], 4);
	assert_int_equal(v[1], 6);
	assert_int_equal(v[2], 1);
	assert_int_equal(store_field_versions(s2, "client", client, names, 3, dev, v), KT_OK);
	assert_int_equal(v[1], 0);
	store_close(s2);
	kt_testdb_remove(p2);
}

/* Migration 11 rebuilds the change log without AUTOINCREMENT: every row
 * keeps its seq and the next change is numbered after the highest. */
static void test_migration_keeps_change_log_seqs(void **state)
{
	char p2[80], sql[1024];
	sqlite3 *db;
	sqlite3_stmt *q;
	kt_store *s2;
	const char *msg;
	int before;
	(void)state;
	snprintf(p2, sizeof p2, "/tmp/kt-test-store-cl-%d.db", (int)getpid());
	db = db_before_migration("CREATE TABLE changelog_11", p2, &before);
	snprintf(sql, sizeof sql,
		 "INSERT INTO organisation(id, name, updated_at) VALUES('%s', 'Org', 1);"
		 "INSERT INTO client(id, org_id, name, version, updated_at) VALUES('%s', '%s', 'Ana', 1, 1);"
		 "INSERT INTO changelog(seq, org_id, tbl, row_id, op, loc_new, at) VALUES"
		 " (5, '%s', 'client', '%s', 'put', '*', 1), (9, '%s', 'client', '%s', 'delete', '', 2);",
		 org, client, org, org, client, org, client);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(p2, 0, &s2, &msg), KT_OK);
	assert_int_equal(store_update(s2, "client", client, (kt_field[]){{"name", "Ana B"}}, 1, NULL), KT_OK);
	store_close(s2);
	assert_int_equal(sqlite3_open(p2, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(seq || op, ' ') FROM "
						"(SELECT seq, op FROM changelog ORDER BY seq)", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "5put 9delete 10put");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'changelog'", -1, &q,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_null(strstr((const char *)sqlite3_column_text(q, 0), "AUTOINCREMENT"));
	sqlite3_finalize(q);
	sqlite3_close(db);
	kt_testdb_remove(p2);
}

typedef struct history {
	int n;
	int64_t last_seq;
	bool ordered, all_mine;
	const char *client;
} history;

static int count_entry(void *user, const kt_audit_row *r)
{
	history *h = user;
	h->ordered &= r->seq > h->last_seq;
	h->all_mine &= r->client_id && !strcmp(r->client_id, h->client);
	h->last_seq = r->seq;
	h->n++;
	return 0;
}

/* The index by client is read block by block (1,024 entries each): a
 * history spanning several blocks comes back whole and oldest first. */
static void test_client_history_spans_audit_blocks(void **state)
{
	char other[37], note[32];
	kt_field c[] = {{"name", "Bo"}};
	history h = {0, 0, true, true, client}, h0;
	(void)state;
	kt_uuid7(other);
	assert_int_equal(store_insert(st, "client", other, org, c, 1, NULL), KT_OK);
	assert_int_equal(audit_client_entries(st, client, count_entry, &h), KT_OK);
	h0 = h;
	assert_int_equal(store_begin(st), KT_OK);
	for (int i = 0; i < 3000; i++) {
		snprintf(note, sizeof note, "note %d", i);
		assert_int_equal(store_update(st, "client", i % 3 ? other : client,
					      (kt_field[]){{"preferences", note}}, 1, NULL), KT_OK);
	}
	assert_int_equal(store_commit(st), KT_OK);
	h = (history){0, 0, true, true, client};
	assert_int_equal(audit_client_entries(st, client, count_entry, &h), KT_OK);
	assert_int_equal(h.n, h0.n + 1000);
	assert_true(h.ordered);
	assert_true(h.all_mine);
}

typedef struct last_entry {
	char before[256], after[256], fields[64];
} last_entry;

static int keep_last(void *user, const kt_audit_row *r)
{
	last_entry *e = user;
	snprintf(e->before, sizeof e->before, "%s", r->before ? r->before : "(null)");
	snprintf(e->after, sizeof e->after, "%s", r->after ? r->after : "(null)");
	snprintf(e->fields, sizeof e->fields, "%s", r->fields ? r->fields : "(null)");
	return 0;
}

/* The push path loads a row with only the sealed columns a mutation names
 * opened, then updates it from that load (no second read): the row, its
 * before image, routing and field versions come out as from store_update,
 * and a changed column the load left closed is read after all. */
static void test_update_from_a_loaded_row_is_the_same_as_a_read(void **state)
{
	const kt_table *t = kt_table_find("client", 6);
	int prefs = kt_col_index(t, "preferences"), allergies = kt_col_index(t, "allergies");
	const char *names[] = {"preferences"};
	kt_row row;
	last_entry e;
	int64_t v, fv[1];
	char dev[37];
	(void)state;
	kt_uuid7(dev);
	assert_int_equal(store_update(st, "client", client,
				      (kt_field[]){{"preferences", "tea"}, {"allergies", "latex"}}, 2, NULL), KT_OK);

	/* only preferences opened: allergies reads as NULL and is marked */
	assert_int_equal(store_row_load_some(st, t, client, &prefs, 1, &row), KT_OK);
	assert_string_equal(row.v[prefs].s, "tea");
	assert_true(row.v[allergies].null);
	assert_true(row.unopened >> allergies & 1);
	assert_false(row.unopened >> prefs & 1);
	assert_string_equal(row.client, client);
	int64_t before_version = row.version;

	store_set_actor(st, "staff", NULL, dev, 0);
	assert_int_equal(store_update_loaded(st, &row, client, (kt_field[]){{"preferences", "coffee"}}, 1, &v), KT_OK);
	store_set_actor(st, "system", NULL, NULL, 0);
	assert_int_equal(v, before_version + 1);
	assert_int_equal(audit_client_entries(st, client, keep_last, &e), KT_OK);
	assert_string_equal(e.before, "{\"preferences\":\"tea\"}");
	assert_string_equal(e.after, "{\"preferences\":\"coffee\"}");
	assert_string_equal(e.fields, "preferences");
	assert_int_equal(store_field_versions(st, "client", client, names, 1, NULL, fv), KT_OK);
	assert_int_equal(fv[0], v);
	kt_row_free(&row);

	/* a stale load's closed column: the update reads the row itself */
	assert_int_equal(store_row_load_some(st, t, client, &prefs, 1, &row), KT_OK);
	assert_int_equal(store_update_loaded(st, &row, client, (kt_field[]){{"allergies", "none"}}, 1, &v), KT_OK);
	assert_int_equal(audit_client_entries(st, client, keep_last, &e), KT_OK);
	assert_string_equal(e.before, "{\"allergies\":\"latex\"}");
	assert_string_equal(e.after, "{\"allergies\":\"none\"}");
	kt_row_free(&row);

	/* the full load still opens everything */
	assert_int_equal(store_row_load(st, t, client, &row), KT_OK);
	assert_string_equal(row.v[allergies].s, "none");
	assert_string_equal(row.v[prefs].s, "coffee");
	assert_int_equal(row.unopened, 0);
	kt_row_free(&row);
}

/* The audit's before/after images are written without jansson on the push
 * path: the very bytes jansson's compact dump gives, for every kind of
 * value (escapes, control characters, UTF-8, NULs, invalid UTF-8 as null,
 * integers, booleans, NULL, an empty object). */
static void test_audit_json_is_janssons(void **state)
{
	const kt_table *t = kt_table_find("appointment", 11);
	const char *texts[] = {"", "plain", "quote \" and \\ back", "tab\tnl\nret\rbs\bff\f", "ctl \x01\x1f\x7f end",
			       "slash / ok", "\xc5\xa1um \xe2\x82\xac \xf0\x9f\x98\x80", "bad \xc3", "over \xc0\xaf",
			       "sur \xed\xa0\x80", "big \xf4\x90\x80\x80", "\xff", "nul \0 in", "x"};
	size_t lens[sizeof texts / sizeof texts[0]];
	int note = kt_col_index(t, "client_note"), start = kt_col_index(t, "start_at"),
	    status = kt_col_index(t, "status"), id = kt_col_index(t, "id");
	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		lens[i] = strlen(texts[i]);
	lens[12] = sizeof "nul \0 in" - 1; /* with its NUL */
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		int idx[4] = {note, start, status, id};
		kt_val v[4];
		memset(v, 0, sizeof v);
		v[0].s = (char *)texts[i];
		v[0].len = lens[i];
		v[1].i = (int64_t)i * -1234567890123ll;
		v[2].null = i % 2;
		v[2].s = (char *)"booked";
		v[2].len = 6;
		for (int n = 0; n <= 4; n++) {
			char *a = st_vals_json(t, idx, n, v, false), *b = st_vals_json_jansson(t, idx, n, v, false);
			assert_non_null(a);
			assert_non_null(b);
			assert_string_equal(a, b);
			free(a);
			free(b);
		}
	}
	/* a whole row (by column), as a delete's before image */
	kt_val row[64];
	memset(row, 0, sizeof row);
	for (int c = 0; c < t->ncols; c++) {
		row[c].null = c % 3 == 0;
		row[c].s = (char *)"v \"1\"";
		row[c].len = 5;
		row[c].i = c;
	}
	char *a = st_vals_json(t, NULL, 0, row, true), *b = st_vals_json_jansson(t, NULL, 0, row, true);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_link_to_a_missing_location_is_not_found(void **state)
{
	char nowhere[37];
	(void)state;
	kt_uuid7(nowhere);
	assert_int_equal(store_link_client_location(st, client, nowhere), KT_ENOT_FOUND);
	assert_int_equal(store_link_client_location(st, nowhere, locA), KT_ENOT_FOUND);
}

static void test_taken_unique_value_is_a_conflict(void **state)
{
	char a[37], b[37];
	(void)state;
	kt_uuid7(a);
	kt_uuid7(b);
	kt_field s1[] = {{"display_name", "Eva"}, {"email", "eva@x.example"}, {"role", "manager"}};
	assert_int_equal(store_insert(st, "staff", a, org, s1, 3, NULL), KT_OK);
	assert_int_equal(store_insert(st, "staff", b, org, s1, 3, NULL), KT_ECONFLICT);
	assert_int_equal(store_insert(st, "staff", a, org, s1, 3, NULL), KT_ECONFLICT);
}

/* The store's one-row query binds each kind of argument in order and tells
 * a missing row from a row; a statement run to its end maps SQLite's errors
 * like every other store call. */
/* The row's specialist_name / service_names as stored (caller frees). */
static void names_of(const char *tbl, const char *id, char **spec, char **serv)
{
	char sql[96];
	sqlite3_stmt *s = NULL;
	snprintf(sql, sizeof sql, "SELECT specialist_name, service_names FROM %s WHERE id = ?1", tbl);
	assert_int_equal(st_query_row(st, &s, sql, "t", id), KT_OK);
	*spec = sqlite3_column_text(s, 0) ? strdup((const char *)sqlite3_column_text(s, 0)) : NULL;
	*serv = sqlite3_column_text(s, 1) ? strdup((const char *)sqlite3_column_text(s, 1)) : NULL;
	st_finish(st, s);
}

static void test_appointments_and_visits_keep_the_names_they_were_written_with(void **state)
{
	char maja[37], eva[37], cut[37], dye[37], a[37], vis[37], list[80], *spec, *serv;
	(void)state;
	kt_uuid7(maja);
	kt_uuid7(eva);
	kt_uuid7(cut);
	kt_uuid7(dye);
	kt_uuid7(a);
	kt_uuid7(vis);
	kt_field s1[] = {{"display_name", "Maja"}, {"email", "maja.n@x.example"}, {"role", "specialist"}};
	assert_int_equal(store_insert(st, "staff", maja, org, s1, 3, NULL), KT_OK);
	kt_field s2[] = {{"display_name", "Eva"}, {"email", "eva.n@x.example"}, {"role", "specialist"}};
	assert_int_equal(store_insert(st, "staff", eva, org, s2, 3, NULL), KT_OK);
	kt_field v1[] = {{"name", "Cut, wash & blow-dry"}, {"duration_min", "45"}, {"price_cents", "3500"}};
	assert_int_equal(store_insert(st, "service", cut, org, v1, 3, NULL), KT_OK);
	kt_field v2[] = {{"name", "Colour \"Ombré\""}, {"duration_min", "90"}, {"price_cents", "8000"}};
	assert_int_equal(store_insert(st, "service", dye, org, v2, 3, NULL), KT_OK);
	snprintf(list, sizeof list, "%s,%s", dye, cut);
	kt_field f[] = {{"location_id", locA}, {"client_id", client}, {"specialist_id", maja},
			{"start_at", "1900000000000"}, {"duration_min", "30"}, {"services", list}, {"status", "booked"}};
	assert_int_equal(store_insert(st, "appointment", a, org, f, 7, NULL), KT_OK);
	names_of("appointment", a, &spec, &serv);
	assert_string_equal(spec, "Maja");
	assert_string_equal(serv, "[\"Colour \\\"Ombré\\\"\",\"Cut, wash & blow-dry\"]"); /* in the order of services */
	free(spec);
	free(serv);
	kt_field g[] = {{"location_id", locA}, {"client_id", client}, {"specialist_id", eva},
			{"visit_date", "2030-03-04"}, {"services", ""}};
	assert_int_equal(store_insert(st, "visit", vis, org, g, 5, NULL), KT_OK);
	names_of("visit", vis, &spec, &serv);
	assert_string_equal(spec, "Eva");
	assert_string_equal(serv, "[]");
	free(spec);
	free(serv);

	/* a rename changes no history; an edit of other fields keeps the old names */
	kt_field rn[] = {{"display_name", "Maja Novak"}};
	assert_int_equal(store_update(st, "staff", maja, rn, 1, NULL), KT_OK);
	kt_field st1[] = {{"status", "confirmed"}};
	assert_int_equal(store_update(st, "appointment", a, st1, 1, NULL), KT_OK);
	names_of("appointment", a, &spec, &serv);
	assert_string_equal(spec, "Maja");
	free(spec);
	free(serv);
	/* a new specialist or new services: the names of now, each on its own */
	kt_field sv[] = {{"services", cut}};
	assert_int_equal(store_update(st, "appointment", a, sv, 1, NULL), KT_OK);
	names_of("appointment", a, &spec, &serv);
	assert_string_equal(spec, "Maja");
	assert_string_equal(serv, "[\"Cut, wash & blow-dry\"]");
	free(spec);
	free(serv);
	kt_field sp[] = {{"specialist_id", maja}};
	assert_int_equal(store_update(st, "appointment", a, sp, 1, NULL), KT_OK);
	names_of("appointment", a, &spec, &serv);
	assert_string_equal(spec, "Maja Novak");
	free(spec);
	free(serv);
	/* nobody but the store writes them */
	kt_field bad[] = {{"specialist_name", "Someone"}};
	assert_int_equal(store_update(st, "appointment", a, bad, 1, NULL), KT_EINVALID);
	kt_field bad2[] = {{"service_names", "[]"}};
	assert_int_equal(store_update(st, "visit", vis, bad2, 1, NULL), KT_EINVALID);
}

static void test_query_row_binds_text_int_and_blob_in_order(void **state)
{
	sqlite3_stmt *s = (sqlite3_stmt *)1;
	static const uint8_t blob[3] = {0, 1, 2};
	(void)state;
	assert_int_equal(st_query_row(st, &s, "SELECT ?1, ?2, ?3, ?4", "tibt", "a", (int64_t)1 << 40, blob,
				      sizeof blob, "b"),
			 KT_OK);
	assert_non_null(s);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "a");
	assert_true(sqlite3_column_int64(s, 1) == (int64_t)1 << 40);
	assert_int_equal(sqlite3_column_bytes(s, 2), 3);
	assert_memory_equal(sqlite3_column_blob(s, 2), blob, 3);
	assert_string_equal((const char *)sqlite3_column_text(s, 3), "b");
	st_finish(st, s);
}

static void test_query_row_without_a_row_is_not_found(void **state)
{
	sqlite3_stmt *s = (sqlite3_stmt *)1;
	(void)state;
	assert_int_equal(st_query_row(st, &s, "SELECT value FROM meta WHERE key = ?1", "t", "no such key"),
			 KT_ENOT_FOUND);
	assert_null(s);
	assert_int_equal(st_query_row(st, &s, "SELECT nonsense FROM", "t", "x"), KT_EIO);
	assert_null(s);
	/* one argument short: refused, not bound out of step */
	assert_int_equal(st_query_row(st, &s, "SELECT ?1, ?2", "t", "x"), KT_EINVALID);
	assert_null(s);
	assert_int_equal(st_run(st, "DELETE FROM meta WHERE key = ?1 AND value = ?2", "t", "x"), KT_EINVALID);
}

static void test_run_maps_errors_like_the_store(void **state)
{
	sqlite3_stmt *s;
	static const char ins[] = "INSERT INTO meta(key, value) VALUES(?1, ?2)";
	(void)state;
	assert_int_equal(st_run(st, ins, "tb", "helper_test", "v", (size_t)1), KT_OK);
	assert_int_equal(sqlite3_changes(store_db(st)), 1);
	assert_int_equal(st_run(st, ins, "tb", "helper_test", "w", (size_t)1), KT_ECONFLICT);
	assert_int_equal(st_query_row(st, &s, "SELECT value FROM meta WHERE key = ?1", "t", "helper_test"), KT_OK);
	assert_memory_equal(sqlite3_column_blob(s, 0), "v", 1);
	st_finish(st, s);
	assert_int_equal(st_run(st, "DELETE FROM nowhere", ""), KT_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file_is_not_found),
		cmocka_unit_test(test_reopen_applies_no_migration_twice),
		cmocka_unit_test(test_every_write_logs_routing_before_and_after),
		cmocka_unit_test(test_failed_write_leaves_no_log_entry),
		cmocka_unit_test(test_linking_a_client_logs_its_new_locations),
		cmocka_unit_test(test_a_staff_row_carries_its_locations_in_order),
		cmocka_unit_test(test_link_to_a_missing_location_is_not_found),
		cmocka_unit_test(test_email_change_needs_the_installed_rule),
		cmocka_unit_test(test_field_versions_name_the_version_of_the_last_change),
		cmocka_unit_test(test_field_versions_know_which_device_made_the_last_change),
		cmocka_unit_test(test_migration_moves_field_versions_into_the_rows),
		cmocka_unit_test(test_migration_keeps_change_log_seqs),
		cmocka_unit_test(test_client_history_spans_audit_blocks),
		cmocka_unit_test(test_taken_unique_value_is_a_conflict),
		cmocka_unit_test(test_update_from_a_loaded_row_is_the_same_as_a_read),
		cmocka_unit_test(test_appointments_and_visits_keep_the_names_they_were_written_with),
		cmocka_unit_test(test_audit_json_is_janssons),
		cmocka_unit_test(test_query_row_binds_text_int_and_blob_in_order),
		cmocka_unit_test(test_query_row_without_a_row_is_not_found),
		cmocka_unit_test(test_run_maps_errors_like_the_store),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
