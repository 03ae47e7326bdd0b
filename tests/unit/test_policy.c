/* test_policy.c - deny by default, proven: every column of the real schema
 * has a policy entry, the model lists the schema's columns, and the key
 * promises of the default policy (README, "Access policy") hold in the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "domain/policy.h"
#include "db/schema.h"

static sqlite3 *schema_db(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (int i = 0; i < kt_migration_count; i++)
		assert_int_equal(sqlite3_exec(db, kt_migrations[i], NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void test_policy_covers_schema(void **state)
{
	sqlite3 *db = schema_db();
	sqlite3_stmt *t, *c;
	int missing = 0, columns = 0;
	char sql[256];
	(void)state;
	sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
			   -1, &t, NULL);
	while (sqlite3_step(t) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(t, 0);
		snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
		sqlite3_prepare_v2(db, sql, -1, &c, NULL);
		while (sqlite3_step(c) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(c, 1);
			columns++;
			if (!policy_entry(table, col)) {
				print_error("no policy entry for %s.%s\n", table, col);
				missing++;
			}
		}
		sqlite3_finalize(c);
	}
	sqlite3_finalize(t);
	sqlite3_close(db);
	assert_true(columns > 50);
	assert_int_equal(missing, 0);
}

static void test_every_policy_entry_names_a_real_column(void **state)
{
	sqlite3 *db = schema_db();
	char sql[256];
	(void)state;
	for (int i = 0; i < kt_policy_count; i++) {
		sqlite3_stmt *s;
		snprintf(sql, sizeof sql, "SELECT %s FROM %s LIMIT 0", kt_policy[i].column, kt_policy[i].table);
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
			fail_msg("stale policy entry %s.%s", kt_policy[i].table, kt_policy[i].column);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
}

static void test_model_lists_the_schema_columns_in_order(void **state)
{
	sqlite3 *db = schema_db();
	char sql[128];
	(void)state;
	for (int i = 0; i < kt_table_count; i++) {
		sqlite3_stmt *c;
		int k = 0;
		snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", kt_tables[i].name);
		sqlite3_prepare_v2(db, sql, -1, &c, NULL);
		while (sqlite3_step(c) == SQLITE_ROW) {
			assert_true(k < kt_tables[i].ncols);
			assert_string_equal(kt_tables[i].cols[k].name, (const char *)sqlite3_column_text(c, 1));
			k++;
		}
		sqlite3_finalize(c);
		assert_int_equal(k, kt_tables[i].ncols);
	}
	sqlite3_close(db);
}

static kt_access read_of(int role, const char *table, const char *col)
{
	const kt_table *t = kt_table_find(table, strlen(table));
	assert_non_null(t);
	int i = kt_col_index(t, col);
	assert_true(i >= 0);
	return policy_read(role, t, i);
}

static void test_specialists_never_get_client_contact_data(void **state)
{
	static const char *const contact[] = {"email", "phone", "address", "birthday"};
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(read_of(KT_ROLE_SPECIALIST, "client", contact[i]), KT_P_NO);
	assert_int_equal(read_of(KT_ROLE_SPECIALIST, "client", "allergies"), KT_P_YES);
}

static void test_reception_gets_allergy_alert_not_health(void **state)
{
	static const char *const health[] = {"conditions", "medications", "skin_hair_type", "patch_tests"};
	static const char *const treatment[] = {"products_formulas", "treatment_notes", "photos"};
	(void)state;
	assert_int_equal(read_of(KT_ROLE_RECEPTION, "client", "allergies"), KT_P_ALERT);
	assert_string_equal(policy_entry("client", "allergies")->alert_name, "allergy_alert");
	for (int i = 0; i < 4; i++)
		assert_int_equal(read_of(KT_ROLE_RECEPTION, "client", health[i]), KT_P_NO);
	for (int i = 0; i < 3; i++)
		assert_int_equal(read_of(KT_ROLE_RECEPTION, "visit", treatment[i]), KT_P_NO);
}

static void test_clients_get_no_internal_data(void **state)
{
	(void)state;
	assert_int_equal(read_of(KT_ROLE_CLIENT, "client", "internal_notes"), KT_P_NO);
	assert_int_equal(read_of(KT_ROLE_CLIENT, "appointment", "internal_note"), KT_P_NO);
	assert_int_equal(read_of(KT_ROLE_CLIENT, "visit", "products_formulas"), KT_P_NO);
	assert_int_equal(read_of(KT_ROLE_CLIENT, "visit", "treatment_notes"), KT_P_NO);
	assert_int_equal(read_of(KT_ROLE_CLIENT, "staff", "email"), KT_P_NO);
}

static void test_nobody_reads_secrets_or_org_ids(void **state)
{
	(void)state;
	for (int r = 0; r < KT_ROLE_COUNT; r++) {
		assert_int_equal(read_of(r, "staff", "password_hash"), KT_P_NO);
		assert_int_equal(read_of(r, "client", "password_hash"), KT_P_NO);
		assert_int_equal(read_of(r, "appointment", "org_id"), KT_P_NO);
	}
}

static void test_row_visibility_follows_locations_and_self(void **state)
{
	static const char A[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", Bl[] = "01a20b2f-e370-765e-8e59-32b59c1e7f02";
	static const char me[] = "01a20b2f-e370-765e-8e59-32b59c1e7f03", other[] = "01a20b2f-e370-765e-8e59-32b59c1e7f04";
	const kt_table *appt = kt_table_find("appointment", 11), *client = kt_table_find("client", 6);
	char locsA[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", all[] = "*";
	kt_principal mgr = {.role = KT_ROLE_MANAGER, .locs = locsA, .active = true};
	kt_principal owner = {.role = KT_ROLE_OWNER, .locs = all, .active = true};
	kt_principal cl = {.is_client = true, .role = KT_ROLE_CLIENT, .locs = locsA, .active = true};
	(void)state;
	memcpy(cl.id, me, sizeof me);
	assert_true(policy_row_visible(&mgr, appt, A, other, NULL));
	assert_false(policy_row_visible(&mgr, appt, Bl, other, NULL));
	assert_true(policy_row_visible(&owner, appt, Bl, other, NULL));
	assert_true(policy_row_visible(&cl, appt, Bl, me, NULL));
	assert_false(policy_row_visible(&cl, appt, A, other, NULL));
	assert_false(policy_row_visible(&cl, client, A, other, NULL));
	assert_true(policy_row_visible(&cl, client, A, me, NULL));
	mgr.active = false;
	assert_false(policy_row_visible(&mgr, appt, A, other, NULL));
}

static bool writes(int role, const char *table, const char *col)
{
	const kt_table *t = kt_table_find(table, strlen(table));
	return policy_write(role, t, kt_col_index(t, col));
}

static void test_write_policy_follows_the_roles(void **state)
{
	(void)state;
	assert_false(writes(KT_ROLE_SPECIALIST, "client", "phone"));
	assert_true(writes(KT_ROLE_SPECIALIST, "visit", "treatment_notes"));
	assert_false(writes(KT_ROLE_RECEPTION, "visit", "treatment_notes"));
	assert_true(writes(KT_ROLE_RECEPTION, "client", "phone"));
	assert_true(writes(KT_ROLE_RECEPTION, "appointment", "start_at"));
	assert_false(writes(KT_ROLE_SPECIALIST, "appointment", "start_at"));
	assert_true(writes(KT_ROLE_MANAGER, "visit", "products_formulas"));
	/* a review: the client's stars and words, the salon's answer; what
	 * the server fills in (where, whose, who replied) nobody writes */
	assert_true(writes(KT_ROLE_CLIENT, "review", "stars"));
	assert_true(writes(KT_ROLE_CLIENT, "review", "text"));
	assert_false(writes(KT_ROLE_CLIENT, "review", "reply"));
	assert_false(writes(KT_ROLE_CLIENT, "review", "hidden"));
	assert_true(writes(KT_ROLE_MANAGER, "review", "reply"));
	assert_true(writes(KT_ROLE_OWNER, "review", "hidden"));
	assert_false(writes(KT_ROLE_RECEPTION, "review", "reply"));
	assert_false(writes(KT_ROLE_SPECIALIST, "review", "highlighted"));
	assert_false(writes(KT_ROLE_OWNER, "review", "stars"));
	for (const char *const *c = (const char *const[]){"location_id", "client_id", "specialist_id", "reply_by",
							   "reply_name", "replied_at", "created_at", NULL};
	     *c; c++)
		for (int r = 0; r < KT_ROLE_COUNT; r++)
			assert_false(writes(r, "review", *c));
	for (int t = 0; t < kt_table_count; t++)
		for (int c = 0; c < kt_tables[t].ncols; c++) {
			/* clients write nothing but their own consents and
			 * the review of their visit (design 1.6); nobody
			 * writes what they cannot read or the bookkeeping
			 * and secret columns */
			if (strcmp(kt_tables[t].name, "consent") != 0 && strcmp(kt_tables[t].name, "review") != 0)
				assert_false(policy_write(KT_ROLE_CLIENT, &kt_tables[t], c));
			for (int r = 0; r < KT_ROLE_COUNT; r++)
				if (policy_write(r, &kt_tables[t], c))
					assert_int_equal(policy_read(r, &kt_tables[t], c), KT_P_YES);
			const char *name = kt_tables[t].cols[c].name;
			if (!strcmp(name, "id") || !strcmp(name, "org_id") || !strcmp(name, "version") ||
			    !strcmp(name, "updated_at") || !strcmp(name, "password_hash"))
				for (int r = 0; r < KT_ROLE_COUNT; r++)
					assert_false(policy_write(r, &kt_tables[t], c));
		}
}

/* Managers write within their branches: a row of every location ("*": the
 * whole menu, the owner's staff row) or one that is also at another branch
 * is not theirs; a client card known at one of theirs is. New locations are
 * the owner's; every reference column names a table; nobody creates staff. */
static void test_write_scope_and_creates(void **state)
{
	static const char A[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", Bl[] = "01a20b2f-e370-765e-8e59-32b59c1e7f02";
	static const char AB[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01,01a20b2f-e370-765e-8e59-32b59c1e7f02";
	const kt_table *svc = kt_table_find("service", 7), *staff = kt_table_find("staff", 5),
		       *client = kt_table_find("client", 6), *loc = kt_table_find("location", 8),
		       *visit = kt_table_find("visit", 5);
	char locsA[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", all[] = "*";
	kt_principal mgr = {.role = KT_ROLE_MANAGER, .locs = locsA, .active = true};
	kt_principal owner = {.role = KT_ROLE_OWNER, .locs = all, .active = true};
	(void)state;
	assert_true(policy_write_scope(&mgr, svc, A));
	assert_false(policy_write_scope(&mgr, svc, "*"));
	assert_false(policy_write_scope(&mgr, svc, Bl));
	assert_false(policy_write_scope(&mgr, staff, "*"));   /* the owner's row */
	assert_false(policy_write_scope(&mgr, staff, AB));    /* also at another branch */
	assert_false(policy_write_scope(&mgr, staff, ""));
	assert_true(policy_write_scope(&mgr, staff, A));
	assert_true(policy_write_scope(&mgr, client, AB));    /* a card shared by branches */
	assert_false(policy_write_scope(&mgr, client, Bl));
	assert_true(policy_write_scope(&owner, svc, "*"));
	mgr.active = false;
	assert_false(policy_write_scope(&mgr, svc, A));
	assert_true(policy_create(KT_ROLE_OWNER, loc));
	assert_false(policy_create(KT_ROLE_MANAGER, loc));
	assert_true(policy_create(KT_ROLE_SPECIALIST, visit));
	assert_false(policy_create(KT_ROLE_RECEPTION, visit));
	for (int r = 0; r < KT_ROLE_COUNT; r++)
		assert_false(policy_create(r, staff));
	assert_ptr_equal(policy_ref_target(visit, kt_col_index(visit, "client_id")), client);
	assert_ptr_equal(policy_ref_target(visit, kt_col_index(visit, "appointment_id")),
			 kt_table_find("appointment", 11));
	assert_null(policy_ref_target(visit, kt_col_index(visit, "treatment_notes")));
}

/* Consents: reception and up see every purpose of the clients at their
 * locations, specialists only photo_use and health_data, a client their own;
 * who recorded it (a staff id) is not a client's; the server sets it. */
static void test_consent_visibility_and_writes(void **state)
{
	static const char A[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", Bl[] = "01a20b2f-e370-765e-8e59-32b59c1e7f02";
	static const char me[] = "01a20b2f-e370-765e-8e59-32b59c1e7f03", other[] = "01a20b2f-e370-765e-8e59-32b59c1e7f04";
	const kt_table *ct = kt_table_find("consent", 7);
	char locsA[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01";
	kt_principal rec = {.role = KT_ROLE_RECEPTION, .locs = locsA, .active = true};
	kt_principal spec = {.role = KT_ROLE_SPECIALIST, .locs = locsA, .active = true};
	kt_principal cl = {.is_client = true, .role = KT_ROLE_CLIENT, .locs = locsA, .active = true};
	kt_val v[12] = {{0}};
	char purpose[] = "marketing_email";
	kt_row row = {.t = ct, .v = v};
	(void)state;
	assert_non_null(ct);
	memcpy(cl.id, me, sizeof me);
	v[kt_col_index(ct, "purpose")] = (kt_val){.s = purpose, .len = strlen(purpose)};
	assert_true(policy_row_visible(&rec, ct, A, other, &row));
	assert_false(policy_row_visible(&rec, ct, Bl, other, &row));
	assert_false(policy_row_visible(&spec, ct, A, other, &row)); /* marketing: not theirs */
	strcpy(purpose, "photo_use");
	v[kt_col_index(ct, "purpose")].len = strlen(purpose);
	assert_true(policy_row_visible(&spec, ct, A, other, &row));
	assert_false(policy_row_visible(&spec, ct, Bl, other, &row));
	assert_true(policy_row_visible(&cl, ct, Bl, me, NULL));
	assert_false(policy_row_visible(&cl, ct, A, other, NULL));
	assert_int_equal(read_of(KT_ROLE_CLIENT, "consent", "recorded_by"), KT_P_NO);
	assert_int_equal(read_of(KT_ROLE_RECEPTION, "consent", "recorded_by"), KT_P_YES);
	assert_true(writes(KT_ROLE_CLIENT, "consent", "granted"));
	assert_true(writes(KT_ROLE_RECEPTION, "consent", "purpose"));
	for (int r = 0; r < KT_ROLE_COUNT; r++) {
		assert_false(writes(r, "consent", "recorded_by"));
		assert_false(writes(r, "consent", "recorded_kind"));
	}
	assert_true(ct->immutable);
}

/* The action matrix, written out here on its own so that a changed cell in
 * policy.c is a decision this test is told about. Cells: owner, manager,
 * reception, specialist, client. */
static void test_action_matrix_every_role(void **state)
{
	static const struct {
		kt_action a;
		bool may[KT_ROLE_COUNT];
	} want[] = {
		{KT_ACT_LIST_DEVICES, {1, 1, 0, 0, 0}},
		{KT_ACT_SIGN_OUT_DEVICE, {1, 1, 0, 0, 0}},
		{KT_ACT_REVOKE_DEVICE, {1, 1, 0, 0, 0}},
		{KT_ACT_MARK_DEVICE_LOST, {1, 0, 0, 0, 0}},
		{KT_ACT_DEACTIVATE_STAFF, {1, 1, 0, 0, 0}},
		{KT_ACT_EXPORT_CLIENT, {1, 1, 0, 0, 1}},
		{KT_ACT_REQUEST_ERASURE, {0, 0, 0, 0, 1}},
		{KT_ACT_ERASE_CLIENT, {1, 0, 0, 0, 0}},
		{KT_ACT_SEE_ERASURES, {1, 0, 0, 0, 0}},
		{KT_ACT_RECORD_CONSENT, {1, 1, 1, 0, 1}},
		{KT_ACT_RECORD_CARE_CONSENT, {1, 1, 1, 1, 1}},
		{KT_ACT_QUERY_AUDIT, {1, 1, 0, 0, 0}},
		{KT_ACT_PORTAL_INVITE, {1, 1, 1, 0, 0}},
		{KT_ACT_INVITE_HELD_EMAIL, {1, 1, 0, 0, 0}},
		{KT_ACT_OVERRIDE_BOOKING, {1, 1, 1, 0, 0}},
		{KT_ACT_MANAGE_LOCATION, {1, 0, 0, 0, 0}},
		{KT_ACT_INVITE_STAFF, {1, 1, 0, 0, 0}},
		{KT_ACT_RESET_STAFF_PASSWORD, {1, 1, 0, 0, 0}},
		{KT_ACT_SET_STAFF_ROLE, {1, 1, 0, 0, 0}},
		{KT_ACT_SET_STAFF_LOCATIONS, {1, 1, 0, 0, 0}},
		{KT_ACT_MERGE_CLIENTS, {1, 1, 0, 0, 0}},
		{KT_ACT_FIND_CLIENTS, {1, 1, 1, 0, 0}},
		{KT_ACT_SET_PRIVACY_NOTICE, {1, 0, 0, 0, 0}},
		{KT_ACT_SEE_STATS, {1, 1, 0, 0, 0}},
		{KT_ACT_ANSWER_REVIEW, {1, 1, 0, 0, 0}},
		{KT_ACT_CLIENT_MESSAGES, {1, 1, 1, 0, 0}},
		{KT_ACT_UNCONFIRMED, {1, 1, 1, 0, 0}},
		{KT_ACT_MESSAGE_COUNTS, {1, 1, 0, 0, 0}},
		{KT_ACT_READ_MESSAGE_SETTINGS, {1, 1, 0, 0, 0}},
		{KT_ACT_SET_MESSAGE_SETTINGS, {1, 0, 0, 0, 0}},
		{KT_ACT_CAMPAIGN, {1, 0, 0, 0, 0}},
	};
	(void)state;
	assert_int_equal(sizeof want / sizeof want[0], KT_ACTION_COUNT); /* a new action needs its row here */
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_string_not_equal(policy_action_name(want[i].a), "none");
		for (int r = 0; r < KT_ROLE_COUNT; r++) {
			kt_principal p = {.is_client = r == KT_ROLE_CLIENT, .role = r, .active = true};
			if (policy_may(&p, want[i].a) != want[i].may[r])
				fail_msg("%s by %s: want %d", policy_action_name(want[i].a), kt_role_name(r), want[i].may[r]);
			p.active = false; /* an inactive principal may nothing */
			assert_false(policy_may(&p, want[i].a));
		}
	}
	for (int r = 0; r < KT_ROLE_COUNT; r++) { /* deny by default: no row, no right */
		kt_principal p = {.is_client = r == KT_ROLE_CLIENT, .role = r, .active = true};
		assert_false(policy_may(&p, KT_ACTION_COUNT));
		assert_int_equal(policy_scope(&p, KT_ACTION_COUNT), KT_SCOPE_NONE);
	}
	assert_string_equal(policy_action_name(KT_ACTION_COUNT), "none");
	/* a specialist records what they need before photographing or treating */
	assert_int_equal(policy_consent_action("photo_use"), KT_ACT_RECORD_CARE_CONSENT);
	assert_int_equal(policy_consent_action("health_data"), KT_ACT_RECORD_CARE_CONSENT);
	assert_int_equal(policy_consent_action("marketing_email"), KT_ACT_RECORD_CONSENT);
	assert_int_equal(policy_consent_action(NULL), KT_ACT_RECORD_CONSENT);
}

/* The scope rules: the owner anything of the organisation; a manager a
 * client known at one of their branches, staff who work only at their
 * branches (reception and specialists, not managers, owners or clients);
 * reception overrides only on appointments wholly at their branches; a
 * client only themselves. */
static void test_action_scope_rules(void **state)
{
	static const char A[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", Bl[] = "01a20b2f-e370-765e-8e59-32b59c1e7f02";
	static const char AB[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01,01a20b2f-e370-765e-8e59-32b59c1e7f02";
	static const char me[] = "01a20b2f-e370-765e-8e59-32b59c1e7f03", other[] = "01a20b2f-e370-765e-8e59-32b59c1e7f04";
	char locsA[] = "01a20b2f-e370-765e-8e59-32b59c1e7f01", all[] = "*";
	kt_principal mgr = {.role = KT_ROLE_MANAGER, .locs = locsA, .active = true};
	kt_principal rec = {.role = KT_ROLE_RECEPTION, .locs = locsA, .active = true};
	kt_principal spec = {.role = KT_ROLE_SPECIALIST, .locs = locsA, .active = true};
	kt_principal owner = {.role = KT_ROLE_OWNER, .locs = all, .active = true};
	kt_principal cl = {.is_client = true, .role = KT_ROLE_CLIENT, .locs = locsA, .active = true};
	kt_target card_A = {other, KT_ROLE_CLIENT, A}, card_AB = {other, KT_ROLE_CLIENT, AB},
		  card_B = {other, KT_ROLE_CLIENT, Bl}, card_none = {other, KT_ROLE_CLIENT, NULL};
	kt_target rec_A = {other, KT_ROLE_RECEPTION, A}, spec_A = {other, KT_ROLE_SPECIALIST, A},
		  rec_AB = {other, KT_ROLE_RECEPTION, AB}, mgr_A = {other, KT_ROLE_MANAGER, A},
		  owner_all = {other, KT_ROLE_OWNER, "*"}, rec_nowhere = {other, KT_ROLE_RECEPTION, ""},
		  rec_null = {other, KT_ROLE_RECEPTION, NULL}, client_dev = {other, KT_ROLE_CLIENT, A};
	kt_target self = {me, KT_ROLE_CLIENT, A}, someone = {other, KT_ROLE_CLIENT, A}, nobody = {NULL, 0, A};
	(void)state;
	memcpy(cl.id, me, sizeof me);

	assert_int_equal(policy_scope(&owner, KT_ACT_EXPORT_CLIENT), KT_SCOPE_ORG);
	assert_int_equal(policy_scope(&mgr, KT_ACT_EXPORT_CLIENT), KT_SCOPE_KNOWN);
	assert_int_equal(policy_scope(&mgr, KT_ACT_REVOKE_DEVICE), KT_SCOPE_TEAM);
	assert_int_equal(policy_scope(&rec, KT_ACT_OVERRIDE_BOOKING), KT_SCOPE_WITHIN);
	assert_int_equal(policy_scope(&cl, KT_ACT_EXPORT_CLIENT), KT_SCOPE_SELF);
	assert_int_equal(policy_scope(&rec, KT_ACT_EXPORT_CLIENT), KT_SCOPE_NONE);

	/* known: a card shared with one of the principal's branches */
	assert_true(policy_may_on(&mgr, KT_ACT_EXPORT_CLIENT, &card_A));
	assert_true(policy_may_on(&mgr, KT_ACT_EXPORT_CLIENT, &card_AB));
	assert_false(policy_may_on(&mgr, KT_ACT_EXPORT_CLIENT, &card_B));
	assert_false(policy_may_on(&mgr, KT_ACT_EXPORT_CLIENT, &card_none));
	assert_true(policy_may_on(&rec, KT_ACT_PORTAL_INVITE, &card_AB));
	assert_false(policy_may_on(&rec, KT_ACT_PORTAL_INVITE, &card_B));
	assert_true(policy_may_on(&spec, KT_ACT_RECORD_CARE_CONSENT, &card_A));
	assert_false(policy_may_on(&spec, KT_ACT_RECORD_CARE_CONSENT, &card_B));
	assert_false(policy_may_on(&spec, KT_ACT_RECORD_CONSENT, &card_A)); /* the role, not the place */
	assert_false(policy_may_on(&rec, KT_ACT_EXPORT_CLIENT, &card_A));
	assert_true(policy_may_on(&owner, KT_ACT_EXPORT_CLIENT, &card_B));
	assert_true(policy_may_on(&owner, KT_ACT_ERASE_CLIENT, &card_none));

	/* team: reception and specialists wholly at the manager's branches */
	assert_true(policy_may_on(&mgr, KT_ACT_DEACTIVATE_STAFF, &rec_A));
	assert_true(policy_may_on(&mgr, KT_ACT_REVOKE_DEVICE, &spec_A));
	assert_false(policy_may_on(&mgr, KT_ACT_DEACTIVATE_STAFF, &rec_AB));     /* also at another branch */
	assert_false(policy_may_on(&mgr, KT_ACT_DEACTIVATE_STAFF, &mgr_A));      /* a fellow manager */
	assert_false(policy_may_on(&mgr, KT_ACT_SIGN_OUT_DEVICE, &owner_all));   /* the owner */
	assert_false(policy_may_on(&mgr, KT_ACT_SIGN_OUT_DEVICE, &client_dev));  /* a client's device */
	assert_false(policy_may_on(&mgr, KT_ACT_DEACTIVATE_STAFF, &rec_nowhere)); /* at no branch */
	assert_false(policy_may_on(&mgr, KT_ACT_DEACTIVATE_STAFF, &rec_null));
	assert_false(policy_may_on(&mgr, KT_ACT_MARK_DEVICE_LOST, &rec_A));      /* the owner's call */
	assert_true(policy_may_on(&owner, KT_ACT_MARK_DEVICE_LOST, &client_dev));
	assert_true(policy_may_on(&owner, KT_ACT_DEACTIVATE_STAFF, &mgr_A));
	assert_false(policy_may_on(&rec, KT_ACT_SIGN_OUT_DEVICE, &spec_A));

	/* within: every location of the appointment is the writer's */
	assert_true(policy_may_on(&rec, KT_ACT_OVERRIDE_BOOKING, &card_A));
	assert_false(policy_may_on(&rec, KT_ACT_OVERRIDE_BOOKING, &card_AB));
	assert_false(policy_may_on(&rec, KT_ACT_OVERRIDE_BOOKING, &owner_all));
	assert_false(policy_may_on(&spec, KT_ACT_OVERRIDE_BOOKING, &card_A));
	assert_true(policy_may_on(&owner, KT_ACT_OVERRIDE_BOOKING, &card_B));

	/* self: a client only for themselves */
	assert_true(policy_may_on(&cl, KT_ACT_EXPORT_CLIENT, &self));
	assert_false(policy_may_on(&cl, KT_ACT_EXPORT_CLIENT, &someone));
	assert_false(policy_may_on(&cl, KT_ACT_EXPORT_CLIENT, &nobody));
	assert_true(policy_may_on(&cl, KT_ACT_RECORD_CONSENT, &self));
	assert_true(policy_may_on(&cl, KT_ACT_REQUEST_ERASURE, &self));
	assert_false(policy_may_on(&cl, KT_ACT_PORTAL_INVITE, &self));
	assert_false(policy_may_on(&owner, KT_ACT_REQUEST_ERASURE, &self));

	/* an inactive principal acts on nothing */
	mgr.active = owner.active = cl.active = false;
	assert_false(policy_may_on(&mgr, KT_ACT_EXPORT_CLIENT, &card_A));
	assert_false(policy_may_on(&owner, KT_ACT_ERASE_CLIENT, &card_A));
	assert_false(policy_may_on(&cl, KT_ACT_EXPORT_CLIENT, &self));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_covers_schema),
		cmocka_unit_test(test_every_policy_entry_names_a_real_column),
		cmocka_unit_test(test_model_lists_the_schema_columns_in_order),
		cmocka_unit_test(test_specialists_never_get_client_contact_data),
		cmocka_unit_test(test_reception_gets_allergy_alert_not_health),
		cmocka_unit_test(test_clients_get_no_internal_data),
		cmocka_unit_test(test_nobody_reads_secrets_or_org_ids),
		cmocka_unit_test(test_row_visibility_follows_locations_and_self),
		cmocka_unit_test(test_write_policy_follows_the_roles),
		cmocka_unit_test(test_consent_visibility_and_writes),
		cmocka_unit_test(test_write_scope_and_creates),
		cmocka_unit_test(test_action_matrix_every_role),
		cmocka_unit_test(test_action_scope_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
