/* test_sms.c - what delivery builds before it sends (sms.c, mail.c): the
 * gateway's JSON (every value escaped, each placeholder wherever it is, bad
 * UTF-8 refused), E.164 numbers, and a mail's stable Message-ID and RFC
 * 8058 headers (a header that is not one plain line, or one we write
 * ourselves, refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>
#include "domain/mail.h"
#include "domain/sms.h"

static void test_body_escapes_every_value(void **state)
{
	(void)state;
	const char *text = "Zdravo \"Ana\",\njutri ob 9:00 \\ Šalon\t\x01 </script>";
	char *b = sms_body("{\"to\":\"{to}\",\"msg\":{\"t\":\"{text}\",\"again\":\"{text}\"},\"f\":\"{from}\",\"r\":\"{ref}\"}",
			   "+38641123456", text, "Lepota \"d.o.o.\"", "abc");
	assert_non_null(b);
	json_error_t err;
	json_t *j = json_loads(b, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "to")), "+38641123456");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "msg"), "t")), text);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "msg"), "again")), text);
	assert_string_equal(json_string_value(json_object_get(j, "f")), "Lepota \"d.o.o.\"");
	assert_string_equal(json_string_value(json_object_get(j, "r")), "abc");
	assert_null(strstr(b, "</script>")); /* '/' escaped too */
	json_decref(j);
	free(b);
	assert_null(sms_body(KT_SMS_BODY_DEFAULT, "+38641123456", "bad \xff utf-8", "", ""));
}

static void test_e164(void **state)
{
	(void)state;
	assert_true(sms_e164("+38641123456"));
	assert_true(sms_e164("+4915112345678"));
	assert_false(sms_e164("041 123 456"));
	assert_false(sms_e164("+386 41 123 456"));
	assert_false(sms_e164("+0123456789"));
	assert_false(sms_e164("+1234567"));
	assert_false(sms_e164("+1234567890123456"));
	assert_false(sms_e164(NULL));
}

static void test_message_id_from_idem_key_and_unsubscribe_headers(void **state)
{
	kt_portal_config cfg;
	kt_mail m = {.id = 9, .purpose = "campaign"};
	size_t len;
	char ref[33], want[80];
	(void)state;
	portal_config_defaults(&cfg);
	snprintf(cfg.smtp_from, sizeof cfg.smtp_from, "Studio <salon@lepota.example>");
	snprintf(m.idem_key, sizeof m.idem_key, "campaign:C1:K1");
	m.to_addr = "ana@post.example";
	m.subject = "Novice";
	m.body = "x";
	m.extra_headers = "List-Unsubscribe: <https://s.example/l/T>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n";
	char *a = mail_format(&cfg, &m, 1800000000000LL, &len), *b = mail_format(&cfg, &m, 1800000999000LL, &len);
	assert_non_null(a);
	assert_non_null(b);
	mail_ref(&m, ref);
	snprintf(want, sizeof want, "Message-ID: <%s@lepota.example>\r\n", ref);
	assert_non_null(strstr(a, want));
	assert_non_null(strstr(b, want)); /* the same on every attempt */
	assert_null(strstr(a, "campaign:C1")); /* the key itself is not shown */
	assert_non_null(strstr(a, "\r\nList-Unsubscribe: <https://s.example/l/T>\r\n"
				  "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	free(a);
	free(b);
	m.extra_headers = "Bcc: all@evil.example";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.extra_headers = "List-Unsubscribe <no colon>";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.extra_headers = "X-Ok: 1\r\nX-Bad\r: 2";
	assert_null(mail_format(&cfg, &m, 0, &len));
	m.extra_headers = "message-id: <x@y>";
	assert_null(mail_format(&cfg, &m, 0, &len));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_escapes_every_value),
		cmocka_unit_test(test_e164),
		cmocka_unit_test(test_message_id_from_idem_key_and_unsubscribe_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
