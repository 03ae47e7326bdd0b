/* test_portal.c - portal accounts and the outbox, below the protocol: the
 * password rule (each rule alone, characters not bytes, the common list in
 * lower case), the mail text (RFC 5322 headers, CRLF, no header injection),
 * the outbox's states (a setup mail's body does not outlive delivery), and
 * setup tokens (single use, replaced by a newer one, expiry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "kt_testdb.h"
#include "domain/mail.h"
#include "domain/outbox.h"
#include "domain/password.h"
#include "domain/portal.h"

static int pw(const char *s)
{
	return password_check(s, strlen(s));
}

static void test_each_password_rule_alone(void **state)
{
	(void)state;
	assert_int_equal(pw("Bz7-kq"), KT_EPW_TOO_SHORT);
	assert_int_equal(pw("Bz7kqwx"), KT_EPW_TOO_SHORT);  /* 7 */
	assert_int_equal(pw("Bz7kqwxy"), KT_OK);            /* 8 */
	assert_int_equal(pw("BZ7KQWXY"), KT_EPW_NO_LOWER);
	assert_int_equal(pw("bz7kqwxy"), KT_EPW_NO_UPPER);
	assert_int_equal(pw("Bzqkqwxy"), KT_EPW_NO_DIGIT);
	assert_int_equal(pw("Password1"), KT_EPW_COMMON);
	assert_int_equal(pw("PASSWORd1"), KT_EPW_COMMON);   /* compared in lower case */
	assert_int_equal(pw("Iloveyou1"), KT_EPW_COMMON);
	assert_int_equal(pw("Zimska-Roza-42"), KT_OK);
}

static void test_password_counts_characters_and_knows_slovenian_letters(void **state)
{
	(void)state;
	/* 7 characters in 9 bytes: too short */
	assert_int_equal(pw("Čžšabc1"), KT_EPW_TOO_SHORT);
	/* Č is the only upper-case letter, ž the only lower-case one */
	assert_int_equal(pw("Č1234567ž"), KT_OK);
	assert_int_equal(pw("č1234567ž"), KT_EPW_NO_UPPER);
	assert_int_equal(pw("Č1234567Ž"), KT_EPW_NO_LOWER);
	assert_int_equal(pw("ĹĺŸÿ1234"), KT_OK);
}

static void test_common_list_is_compiled_in(void **state)
{
	(void)state;
	assert_true(password_is_common("123456", 6));
	assert_true(password_is_common("QWERTY123", 9));
	assert_false(password_is_common("Zimska-Roza-42", 14));
}

static kt_portal_config cfg;

static void test_mail_format_headers_and_crlf(void **state)
{
	(void)state;
	kt_mail m = {.id = 7, .purpose = "portal_setup"};
	size_t len = 0;
	portal_config_defaults(&cfg);
	snprintf(cfg.smtp_from, sizeof cfg.smtp_from, "Studio <salon@lepota.example>");
	m.to_addr = "ana@post.example";
	m.subject = "Vaš portal";
	m.body = "line one\nline two";
	char *t = mail_format(&cfg, &m, 1800000000000LL, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	assert_non_null(strstr(t, "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"));
	assert_non_null(strstr(t, "From: Studio <salon@lepota.example>\r\n"));
	assert_non_null(strstr(t, "To: ana@post.example\r\n"));
	assert_non_null(strstr(t, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(t, "Message-ID: <7."));
	assert_non_null(strstr(t, "@lepota.example>\r\n"));
	assert_non_null(strstr(t, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(t, "\r\n\r\nline one\r\nline two\r\n"));
	for (size_t i = 0; i < len; i++)
		if (t[i] == '\n')
			assert_int_equal(t[i - 1], '\r');
	free(t);
}

static void test_mail_format_refuses_header_injection(void **state)
{
	(void)state;
	kt_mail m = {.id = 1, .purpose = "portal_setup"};
	size_t len;
	portal_config_defaults(&cfg);
	m.subject = "Hi";
	m.body = "x";
	m.to_addr = "a@b.example\r\nBcc: all@evil.example";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.to_addr = "a@b.example";
	m.subject = "Hi\nBcc: all@evil.example";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.subject = "Hi";
	m.to_addr = "no-at-sign";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.to_addr = "a@b.example, c@d.example";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.to_addr = "a@b.example>\nx";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.to_addr = "a@b@c";
	assert_null(mail_format(&cfg, &m, 0, &len));
}

static void test_config_values_are_checked(void **state)
{
	const char *why = NULL;
	(void)state;
	portal_config_defaults(&cfg);
	assert_int_equal(portal_config_set(&cfg, "setup_token_hours", "0", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "setup_token_hours", "abc", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "setup_token_hours", "0.5", &why), 0);
	assert_true(cfg.setup_token_hours == 0.5);
	assert_int_equal(portal_config_set(&cfg, "smtp_url", "http://x", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "smtp_url", "smtp://127.0.0.1:25", &why), 0);
	assert_int_equal(portal_config_set(&cfg, "smtp_from", "nobody", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "mail_max_attempts", "2.5", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "mail_max_attempts", "3", &why), 0);
	assert_int_equal(portal_config_set(&cfg, "listen", "x", &why), 1);
	/* the web app's base address; an older value naming the setup page still works */
	assert_string_equal(cfg.portal_url, "");
	assert_int_equal(portal_config_set(&cfg, "portal_url", "portal.salon.si", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "portal_url", "https://portal.salon.si/?a=1", &why), -1);
	assert_int_equal(portal_config_set(&cfg, "portal_url", "https://portal.salon.si/setup/", &why), 0);
	assert_string_equal(cfg.portal_url, "https://portal.salon.si");
	assert_int_equal(portal_config_set(&cfg, "portal_url", "https://salon.si/portal/", &why), 0);
	assert_string_equal(cfg.portal_url, "https://salon.si/portal");
	assert_int_equal(portal_config_set(&cfg, "portal_url", "", &why), 0);
	assert_string_equal(cfg.portal_url, "");
	portal_config_finish(&cfg, "/var/lib/k.db");
	assert_string_equal(cfg.spool_dir, "/var/lib/k.db.spool");
}

/* ---- with a database ---- */

static char path[64];
static kt_store *st;
static char org[37], loc[37], client[37];
static uint8_t key[32];

static int db_setup(void **state)
{
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "portal", &st), KT_OK);
	kt_uuid7(org);
	kt_uuid7(loc);
	kt_uuid7(client);
	kt_field o[] = {{"name", "Studio"}};
	assert_int_equal(store_insert(st, "organisation", org, NULL, o, 1, NULL), KT_OK);
	kt_field c[] = {{"name", "Ana"}, {"email", "ana@post.example"}};
	assert_int_equal(store_insert(st, "client", client, org, c, 2, NULL), KT_OK);
	randombytes_buf(key, sizeof key);
	portal_config_defaults(&cfg);
	/* no portal_url configured: links use the address serve recorded */
	assert_int_equal(portal_record_url(st, &cfg, false, "127.0.0.1", 8080), KT_OK);
	return 0;
}

static int db_teardown(void **state)
{
	(void)state;
	store_close(st);
	kt_testdb_remove(path);
	return 0;
}

static int64_t count(const char *sql)
{
	sqlite3_stmt *q;
	int64_t n = -1;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* The token of the newest setup mail, from its body. */
static void newest_token(uint8_t hash[32])
{
	kt_mail m;
	int64_t next;
	uint8_t raw[32];
	assert_int_equal(outbox_claim(st, kt_now_ms() + 1000, &m, &next), KT_OK);
	const char *t = strstr(m.body, "http://127.0.0.1:8080/setup#token=");
	assert_non_null(t);
	assert_true(kt_unhex(raw, sizeof raw, t + 34, 64));
	crypto_generichash(hash, 32, raw, sizeof raw, key, sizeof key);
	assert_int_equal(outbox_mark_sent(st, m.id), KT_OK);
	kt_mail_free(&m);
}

static void test_setup_token_single_use_and_replaced(void **state)
{
	uint8_t h1[32], h2[32];
	char cl[37], o[37];
	(void)state;
	assert_int_equal(portal_issue(st, &cfg, key, client, KT_SETUP_INVITE, NULL, NULL), KT_OK);
	newest_token(h1);
	assert_int_equal(count("SELECT length(body) + length(to_addr) FROM outbox ORDER BY id DESC LIMIT 1"), 0);
	assert_int_equal(portal_token_check(st, h1, KT_TOKEN_SETUP, kt_now_ms(), cl, o), KT_OK);
	assert_string_equal(cl, client);
	assert_int_equal(portal_token_check(st, h1, KT_TOKEN_SETUP, kt_now_ms() + 73LL * 3600 * 1000, cl, o), KT_ETOKEN_EXPIRED);
	assert_int_equal(portal_issue(st, &cfg, key, client, KT_SETUP_RESET, NULL, NULL), KT_OK);
	newest_token(h2);
	assert_int_equal(portal_token_check(st, h1, KT_TOKEN_SETUP, kt_now_ms(), cl, o), KT_ETOKEN_REPLACED);
	assert_int_equal(portal_apply_setup(st, h2, "$argon2id$fake", NULL, cl), KT_OK);
	assert_int_equal(portal_token_check(st, h2, KT_TOKEN_SETUP, kt_now_ms(), cl, o), KT_ETOKEN_USED);
	assert_int_equal(portal_apply_setup(st, h2, "$argon2id$fake", NULL, cl), KT_ETOKEN_USED);
	memset(h2, 0, sizeof h2);
	assert_int_equal(portal_token_check(st, h2, KT_TOKEN_SETUP, kt_now_ms(), cl, o), KT_ETOKEN_INVALID);
	assert_int_equal(count("SELECT portal_enabled FROM client"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'portal_password_set'"), 1);
}

static void test_outbox_retries_then_fails_and_wipes(void **state)
{
	kt_mail m;
	int64_t id, next;
	(void)state;
	assert_int_equal(outbox_enqueue(st, org, client, "portal_setup", "a@b.example", "S", "secret", &id), KT_OK);
	assert_int_equal(outbox_claim(st, kt_now_ms(), &m, &next), KT_OK);
	assert_int_equal(m.id, id);
	assert_int_equal(m.attempts, 0);
	kt_mail_free(&m);
	/* while it is being sent, nothing else is due */
	assert_int_equal(outbox_claim(st, kt_now_ms(), &m, &next), KT_ENOT_FOUND);
	assert_int_equal(outbox_mark_retry(st, id, kt_now_ms() + 60000, false, "smtp: down"), KT_OK);
	assert_int_equal(outbox_claim(st, kt_now_ms(), &m, &next), KT_ENOT_FOUND);
	assert_true(next > kt_now_ms());
	assert_int_equal(outbox_claim(st, next, &m, &next), KT_OK);
	assert_int_equal(m.attempts, 1);
	assert_string_equal(m.body, "secret");
	kt_mail_free(&m);
	assert_int_equal(outbox_mark_retry(st, id, kt_now_ms(), true, "smtp: down"), KT_OK);
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE state = 'failed' AND body = '' AND to_addr = '' "
			       "AND attempts = 2"),
			 1);
	/* a stale 'sending' of a stopped process is never sent again by
	 * itself: 'unknown' (outbox.h); drop empties a queued one */
	assert_int_equal(outbox_enqueue(st, org, client, "marketing_email", "a@b.example", "S", "offer", &id), KT_OK);
	assert_int_equal(outbox_claim(st, kt_now_ms(), &m, &next), KT_OK);
	kt_mail_free(&m);
	int n = 0, r = 0;
	assert_int_equal(outbox_settle_worker(st, "", NULL, 0, false, &n, &r), KT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE state = 'unknown'"), 1);
	assert_int_equal(outbox_enqueue(st, org, client, "marketing_email", "a@b.example", "S", "offer", &id), KT_OK);
	assert_int_equal(outbox_drop_client(st, client, "marketing_email", &n), KT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(count("SELECT count(*) FROM outbox WHERE state = 'dropped' AND body = '' AND to_addr = ''"), 1);
}

static void test_no_email_is_refused(void **state)
{
	char other[37];
	(void)state;
	kt_uuid7(other);
	kt_field c[] = {{"name", "Brez"}};
	assert_int_equal(store_insert(st, "client", other, org, c, 1, NULL), KT_OK);
	assert_int_equal(portal_issue(st, &cfg, key, other, KT_SETUP_INVITE, NULL, NULL), KT_ENO_EMAIL);
	kt_uuid7(other);
	assert_int_equal(portal_issue(st, &cfg, key, other, KT_SETUP_INVITE, NULL, NULL), KT_ENOT_FOUND);
	kt_field two[] = {{"name", "Dva"}, {"email", "a@b.example, c@d.example"}};
	assert_int_equal(store_insert(st, "client", other, org, two, 2, NULL), KT_OK);
	assert_int_equal(portal_issue(st, &cfg, key, other, KT_SETUP_INVITE, NULL, NULL), KT_EINVALID);
}

/* Links start with the configured portal_url, else with what serve
 * recorded (its own address, https when it serves TLS), else nothing. */
static void test_link_base_configured_then_recorded(void **state)
{
	kt_portal_config c;
	char base[1024];
	const char *why;
	(void)state;
	portal_config_defaults(&c);
	assert_int_equal(portal_base_url(st, &c, base, sizeof base), KT_OK);
	assert_string_equal(base, "http://127.0.0.1:8080");
	assert_int_equal(portal_record_url(st, &c, true, "10.1.2.3", 443), KT_OK);
	assert_int_equal(portal_base_url(st, &c, base, sizeof base), KT_OK);
	assert_string_equal(base, "https://10.1.2.3:443");
	assert_int_equal(portal_config_set(&c, "portal_url", "https://portal.salon.si/setup", &why), 0);
	assert_int_equal(portal_base_url(st, &c, base, sizeof base), KT_OK);
	assert_string_equal(base, "https://portal.salon.si");
	/* serve with a configured address records that one for the admin commands */
	assert_int_equal(portal_record_url(st, &c, false, "0.0.0.0", 8080), KT_OK);
	portal_config_defaults(&c);
	assert_int_equal(portal_base_url(st, &c, base, sizeof base), KT_OK);
	assert_string_equal(base, "https://portal.salon.si");
	assert_int_equal(sqlite3_exec(store_db(st), "DELETE FROM meta WHERE key = 'portal_url'", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(portal_base_url(st, &c, base, sizeof base), KT_ENOT_FOUND);
	assert_int_equal(portal_issue(st, &c, key, client, KT_SETUP_INVITE, NULL, NULL), KT_ENOT_FOUND);
	assert_int_equal(portal_record_url(st, &c, false, "127.0.0.1", 8080), KT_OK);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_each_password_rule_alone),
		cmocka_unit_test(test_password_counts_characters_and_knows_slovenian_letters),
		cmocka_unit_test(test_common_list_is_compiled_in),
		cmocka_unit_test(test_mail_format_headers_and_crlf),
		cmocka_unit_test(test_mail_format_refuses_header_injection),
		cmocka_unit_test(test_config_values_are_checked),
	};
	const struct CMUnitTest db[] = {
		cmocka_unit_test(test_setup_token_single_use_and_replaced),
		cmocka_unit_test(test_outbox_retries_then_fails_and_wipes),
		cmocka_unit_test(test_no_email_is_refused),
		cmocka_unit_test(test_link_base_configured_then_recorded),
	};
	int rc = cmocka_run_group_tests_name("portal", plain, NULL, NULL);
	return rc | cmocka_run_group_tests_name("portal_db", db, db_setup, db_teardown);
}
