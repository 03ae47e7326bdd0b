/* test_consent.c - the state of a consent is its latest entry (by when it
 * was given; a withdrawal wins a tie), senders are told no when nothing was
 * recorded, and consent_check applies the row rules for each kind of
 * principal. Also: a consent's routing follows its client's locations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "domain/consent.h"
#include "kt_testdb.h"
#include "domain/policy.h"

static char path[64];
static kt_store *st;
static char org[37], locA[37], locB[37], client[37], other[37];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "consent", &st), KT_OK);
	kt_uuid7(org);
	kt_uuid7(locA);
	kt_uuid7(locB);
	kt_uuid7(client);
	kt_uuid7(other);
	kt_field o[] = {{"name", "Org"}};
	assert_int_equal(store_insert(st, "organisation", org, NULL, o, 1, NULL), KT_OK);
	kt_field l[] = {{"name", "A"}, {"time_zone", "Europe/Ljubljana"}};
	assert_int_equal(store_insert(st, "location", locA, org, l, 2, NULL), KT_OK);
	l[0].text = "B";
	assert_int_equal(store_insert(st, "location", locB, org, l, 2, NULL), KT_OK);
	kt_field c[] = {{"name", "Ana"}};
	assert_int_equal(store_insert(st, "client", client, org, c, 1, NULL), KT_OK);
	assert_int_equal(store_insert(st, "client", other, org, c, 1, NULL), KT_OK);
	assert_int_equal(store_link_client_location(st, client, locA), KT_OK);
	assert_int_equal(store_link_client_location(st, other, locB), KT_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	kt_testdb_remove(path);
	return 0;
}

static kt_consent entry(const char *who, const char *purpose, int granted, int64_t at)
{
	kt_consent c;
	memset(&c, 0, sizeof c);
	snprintf(c.client_id, sizeof c.client_id, "%s", who);
	snprintf(c.purpose, sizeof c.purpose, "%s", purpose);
	c.granted = granted;
	c.at = at;
	snprintf(c.text_version, sizeof c.text_version, "v1");
	c.text_version_given = true;
	return c;
}

/* Check as the operator and record; returns the new id's status. */
static int record(const char *who, const char *purpose, int granted, int64_t at, char id[37])
{
	char why[160];
	kt_consent c = entry(who, purpose, granted, at);
	int rc = consent_check(st, NULL, &c, why, sizeof why);
	if (rc)
		return rc;
	kt_uuid7(id);
	return consent_record(st, id, &c, NULL);
}

static void test_latest_entry_is_the_state(void **state)
{
	int64_t now = kt_now_ms();
	char g[37], w[37], late[37], tie[37], latest[37];
	bool granted;
	(void)state;
	assert_false(consent_allows(st, client, "marketing_email")); /* nothing recorded: no */
	assert_int_equal(consent_latest(st, client, "marketing_email", &granted, NULL), KT_ENOT_FOUND);
	assert_int_equal(record(client, "marketing_email", 1, now - 10000, g), KT_OK);
	assert_true(consent_allows(st, client, "marketing_email"));
	assert_false(consent_allows(st, client, "marketing_sms")); /* per purpose */
	assert_false(consent_allows(st, other, "marketing_email")); /* per client */
	assert_int_equal(record(client, "marketing_email", 0, now - 5000, w), KT_OK);
	assert_false(consent_allows(st, client, "marketing_email"));
	/* a grant made earlier, recorded later: history, not the state */
	assert_int_equal(record(client, "marketing_email", 1, now - 7000, late), KT_OK);
	assert_false(consent_allows(st, client, "marketing_email"));
	assert_int_equal(consent_latest(st, client, "marketing_email", &granted, latest), KT_OK);
	assert_string_equal(latest, w);
	/* the same millisecond: the withdrawal wins */
	assert_int_equal(record(client, "photo_use", 0, now - 3000, tie), KT_OK);
	assert_int_equal(record(client, "photo_use", 1, now - 3000, tie), KT_OK);
	assert_false(consent_allows(st, client, "photo_use"));
	assert_false(consent_allows(st, client, "no_such_purpose"));
	assert_false(consent_allows(st, NULL, "photo_use"));
}

static void test_rows_are_append_only(void **state)
{
	char id[37];
	kt_field f = {"granted", "0"};
	(void)state;
	assert_int_equal(record(client, "review_requests", 1, kt_now_ms(), id), KT_OK);
	assert_int_not_equal(store_update(st, "consent", id, &f, 1, NULL), KT_OK);
	assert_true(consent_allows(st, client, "review_requests"));
}

static void test_routing_follows_the_client(void **state)
{
	char id[37], *locs = NULL, who[37];
	const kt_table *t = kt_table_find("consent", 7);
	(void)state;
	assert_int_equal(record(client, "health_data", 1, kt_now_ms(), id), KT_OK);
	assert_int_equal(store_row_routing(st, t, id, &locs, who), KT_OK);
	assert_string_equal(locs, locA);
	assert_string_equal(who, client);
	free(locs);
	int64_t before = store_max_seq(st);
	assert_int_equal(store_link_client_location(st, client, locB), KT_OK);
	/* the link logs the client and each of its consents with the new locations */
	kt_log_entry e[64];
	int n = 0, consents = 0;
	assert_int_equal(store_log_read(st, before, e, 64, &n), KT_OK);
	for (int i = 0; i < n; i++) {
		if (!strcmp(e[i].t->name, "consent")) {
			consents++;
			assert_string_equal(e[i].loc_old, locA);
			assert_non_null(strstr(e[i].loc_new, locB));
			assert_string_equal(e[i].client_new, client);
		}
		kt_log_entry_free(&e[i]);
	}
	assert_true(consents >= 1);
}

static void test_check_rules_by_principal(void **state)
{
	char why[160], lA[37], lB[37];
	kt_principal cl = {.is_client = true, .role = KT_ROLE_CLIENT, .active = true};
	kt_principal spec = {.role = KT_ROLE_SPECIALIST, .active = true, .locs = lA};
	kt_principal rec = {.role = KT_ROLE_RECEPTION, .active = true, .locs = lB};
	kt_consent c;
	(void)state;
	memcpy(lA, locA, sizeof lA);
	memcpy(lB, locB, sizeof lB);
	memcpy(cl.id, client, sizeof cl.id);
	memcpy(cl.org, org, sizeof cl.org);
	kt_uuid7(spec.id);
	memcpy(spec.org, org, sizeof spec.org);
	kt_uuid7(rec.id);
	memcpy(rec.org, org, sizeof rec.org);

	c = entry(client, "marketing_email", 0, 0);
	assert_int_equal(consent_check(st, &cl, &c, why, sizeof why), KT_OK);
	assert_string_equal(c.source, "portal"); /* the client's default */
	assert_string_equal(c.recorded_kind, "client");
	assert_string_equal(c.recorded_by, client);
	assert_true(c.at > 0);
	c = entry(other, "marketing_email", 0, 0);
	assert_int_equal(consent_check(st, &cl, &c, why, sizeof why), KT_EDENIED);
	c = entry(client, "marketing_email", 0, 0);
	strcpy(c.source, "in_salon");
	assert_int_equal(consent_check(st, &cl, &c, why, sizeof why), KT_EDENIED);

	c = entry(client, "photo_use", 1, 0);
	assert_int_equal(consent_check(st, &spec, &c, why, sizeof why), KT_OK);
	assert_string_equal(c.source, "in_salon");
	assert_string_equal(c.recorded_kind, "staff");
	c = entry(client, "marketing_sms", 1, 0);
	assert_int_equal(consent_check(st, &spec, &c, why, sizeof why), KT_EDENIED);
	c = entry(client, "photo_use", 1, 0);
	strcpy(c.source, "portal");
	assert_int_equal(consent_check(st, &spec, &c, why, sizeof why), KT_EDENIED);

	c = entry(other, "photo_use", 1, 0); /* other is at B, reception of B: fine */
	assert_int_equal(consent_check(st, &rec, &c, why, sizeof why), KT_OK);
	rec.locs = lA;
	c = entry(client, "photo_use", 1, 0);
	kt_uuid7(c.client_id); /* no such client */
	assert_int_equal(consent_check(st, &rec, &c, why, sizeof why), KT_ENOT_FOUND);
	c = entry(other, "photo_use", 1, 0); /* other is at B, reception now only at A */
	assert_int_equal(consent_check(st, &rec, &c, why, sizeof why), KT_EDENIED);
	assert_string_equal(why, "this client is not known at your locations");

	c = entry(client, "newsletter", 1, 0);
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EINVALID);
	c = entry(client, "photo_use", -1, 0);
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EINVALID);
	c = entry(client, "photo_use", 1, kt_now_ms() + 3600000);
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EINVALID);
	c = entry(client, "photo_use", 1, 1700000000); /* seconds, not ms */
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EINVALID);
	c = entry(client, "photo_use", 1, 0);
	c.text_version_given = false;
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EINVALID);
	c = entry(client, "photo_use", 1, 0);
	strcpy(c.text_version, "v\n1");
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EINVALID);
	c = entry(client, "photo_use", 1, 0);
	strcpy(c.source, "portal");
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_EDENIED);
	c = entry(client, "photo_use", 1, 0);
	strcpy(c.source, "email_link");
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_OK);
	assert_string_equal(c.recorded_kind, "operator");
	assert_string_equal(c.recorded_by, "");
	/* an imported client list is the operator's: import, never by staff or a client */
	c = entry(client, "marketing_email", 1, 0);
	strcpy(c.source, "import");
	assert_int_equal(consent_check(st, NULL, &c, why, sizeof why), KT_OK);
	c = entry(client, "marketing_email", 1, 0);
	strcpy(c.source, "import");
	assert_int_equal(consent_check(st, &rec, &c, why, sizeof why), KT_EDENIED);
	c = entry(client, "marketing_email", 1, 0);
	strcpy(c.source, "import");
	assert_int_equal(consent_check(st, &cl, &c, why, sizeof why), KT_EDENIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_entry_is_the_state),
		cmocka_unit_test(test_rows_are_append_only),
		cmocka_unit_test(test_routing_follows_the_client),
		cmocka_unit_test(test_check_rules_by_principal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
