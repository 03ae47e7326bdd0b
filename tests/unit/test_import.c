/* test_import.c - the rules for reading client lists (domain/import.c)
 * without a database: headers in five languages map to fields, the
 * delimiter and the encoding are detected, phones become E.164 and
 * birthdays ISO dates, and import_read numbers records by the line they
 * start on and refuses what is not a client list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/import.h"
#include "domain/phone.h"

static void test_headers_map_in_five_languages(void **state)
{
	static const struct {
		const char *header;
		int field;
	} cases[] = {
		{"First name", IF_FIRST_NAME}, {"Ime", IF_FIRST_NAME}, {"Vorname", IF_FIRST_NAME},
		{"Imię", IF_FIRST_NAME}, {"IMIĘ", IF_FIRST_NAME}, {"Etunimi", IF_FIRST_NAME},
		{"Last name", IF_LAST_NAME}, {"priimek", IF_LAST_NAME}, {"Nachname", IF_LAST_NAME},
		{"Nazwisko", IF_LAST_NAME}, {"Sukunimi", IF_LAST_NAME}, {"Name", IF_NAME},
		{"Ime in priimek", IF_NAME}, {"E-mail", IF_EMAIL}, {"E-pošta", IF_EMAIL},
		{"Sähköposti", IF_EMAIL}, {"e_mail", IF_EMAIL}, {"Phone", IF_PHONE}, {"Telefon", IF_PHONE},
		{"Puhelin", IF_PHONE}, {"Mobitel", IF_PHONE}, {"Birthday", IF_BIRTHDAY},
		{"Rojstni dan", IF_BIRTHDAY}, {"Geburtstag", IF_BIRTHDAY}, {"Data urodzenia", IF_BIRTHDAY},
		{"Syntymäpäivä", IF_BIRTHDAY}, {"Address", IF_ADDRESS}, {"Naslov", IF_ADDRESS},
		{"Notes", IF_NOTES}, {"Opombe", IF_NOTES}, {"Uwagi", IF_NOTES},
		{"Soglasje SMS", IF_CONSENT_SMS}, {"Marketing e-mail", IF_CONSENT_EMAIL},
		{"Newsletter", IF_CONSENT_EMAIL}, {"Einwilligung Geburtstag", IF_CONSENT_BIRTHDAY},
		{"Zgoda na SMS", IF_CONSENT_SMS}, {"consent:review_requests", IF_CONSENT_REVIEW},
		/* not recognised: kept out, never guessed */
		{"Customer number", IF_IGNORE}, {"ID", IF_IGNORE}, {"Marketing", IF_IGNORE},
		{"Created", IF_IGNORE}, {"", IF_IGNORE},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = import_field_from_header(cases[i].header);
		if (got != cases[i].field)
			fail_msg("header '%s' maps to %s, not %s", cases[i].header, import_field_name(got),
				 import_field_name(cases[i].field));
	}
	assert_int_equal(import_field_parse("consent:marketing_sms"), IF_CONSENT_SMS);
	assert_int_equal(import_field_parse("ignore"), IF_IGNORE);
	assert_int_equal(import_field_parse("nickname"), -1);
}

static void test_delimiter_from_the_header(void **state)
{
	(void)state;
	assert_int_equal(import_detect_delimiter("a;b;c\n1,5;2;3\n", 14), ';');
	assert_int_equal(import_detect_delimiter("a,b,c\n", 6), ',');
	assert_int_equal(import_detect_delimiter("a\tb\tc\r\n", 7), '\t');
	/* delimiters inside quotes do not count */
	assert_int_equal(import_detect_delimiter("\"a;b;c;d\",e,f\n", 14), ',');
	assert_int_equal(import_detect_delimiter("name\n", 5), ',');
}

static void test_encoding_detection(void **state)
{
	/* "Čebašek Šuštar" in Windows-1250; "Crème brûlée à la carte" in 1252 */
	static const unsigned char sl[] = "\xc8" "eba\x9a" "ek \x8a" "u\x9atar, Ko\xe8" "evje";
	static const unsigned char fr[] = "Cr\xe8me br\xfbl\xe9" "e \xe0 la carte, \xe7" "a va";
	static const unsigned char pl[] = "\xa3" "ucja W\xb9s, Gda\xf1sk, \xbf" "ona";
	static const unsigned char de[] = "M\xfcller, Stra\xdf" "e"; /* the same in both */
	(void)state;
	assert_int_equal(import_detect_encoding((const unsigned char *)"Čebašek", strlen("Čebašek"), "DE"), IMPORT_UTF8);
	assert_int_equal(import_detect_encoding(sl, sizeof sl - 1, "SI"), IMPORT_CP1250);
	assert_int_equal(import_detect_encoding(sl, sizeof sl - 1, "DE"), IMPORT_CP1250);
	assert_int_equal(import_detect_encoding(pl, sizeof pl - 1, "PL"), IMPORT_CP1250);
	assert_int_equal(import_detect_encoding(fr, sizeof fr - 1, "SI"), IMPORT_CP1252);
	assert_int_equal(import_detect_encoding(de, sizeof de - 1, "DE"), IMPORT_CP1252);
	assert_int_equal(import_detect_encoding(de, sizeof de - 1, "SI"), IMPORT_CP1250);
	/* an overlong encoding and a lone continuation byte are not UTF-8 */
	assert_int_not_equal(import_detect_encoding((const unsigned char *)"\xc0\xaf", 2, "SI"), IMPORT_UTF8);
	assert_int_not_equal(import_detect_encoding((const unsigned char *)"a\x80", 2, "SI"), IMPORT_UTF8);
	assert_int_equal(import_encoding_parse("CP1250"), IMPORT_CP1250);
	assert_int_equal(import_encoding_parse("latin9"), -2);
}

static void test_phones_become_e164(void **state)
{
	char out[32];
	(void)state;
	assert_int_equal(phone_e164("041 123 456", "SI", out, sizeof out), 0);
	assert_string_equal(out, "+38641123456");
	assert_int_equal(phone_e164("00386 41 123 456", "SI", out, sizeof out), 0);
	assert_string_equal(out, "+38641123456");
	assert_int_equal(phone_e164("+49 151 23456789", "SI", out, sizeof out), 0);
	assert_string_equal(out, "+4915123456789");
	assert_int_equal(phone_e164("(01) 426-11-20", "SI", out, sizeof out), 0);
	assert_string_equal(out, "+38614261120");
	assert_int_equal(phone_e164("040 1234567", "FI", out, sizeof out), 0);
	assert_string_equal(out, "+358401234567");
	assert_int_equal(phone_e164("12", "SI", out, sizeof out), -1);
	assert_int_equal(phone_e164("not a phone", "SI", out, sizeof out), -1);
	assert_int_equal(phone_e164("041 123 456", "SI", out, 5), -1); /* never cut */
	assert_true(phone_region_valid("PL"));
	assert_false(phone_region_valid("XX"));
	assert_false(phone_region_valid("SVN"));
}

static void test_birthdays_in_local_forms(void **state)
{
	static const struct {
		const char *in;
		int fmt;
		const char *out; /* NULL: refused */
	} cases[] = {
		{"15.3.1985", IMPORT_DATE_AUTO, "1985-03-15"},   {"15. 3. 1985", IMPORT_DATE_AUTO, "1985-03-15"},
		{"15.03.1985.", IMPORT_DATE_AUTO, "1985-03-15"}, {"1985-03-15", IMPORT_DATE_AUTO, "1985-03-15"},
		{"1985-3-5", IMPORT_DATE_AUTO, "1985-03-05"},    {"03/15/1985", IMPORT_DATE_MDY, "1985-03-15"},
		{"15/03/1985", IMPORT_DATE_DMY, "1985-03-15"},   {"29.2.2000", IMPORT_DATE_AUTO, "2000-02-29"},
		{"03/15/1985", IMPORT_DATE_AUTO, NULL},          {"29.2.1999", IMPORT_DATE_AUTO, NULL},
		{"31.2.1980", IMPORT_DATE_AUTO, NULL},           {"15.3.85", IMPORT_DATE_AUTO, NULL},
		{"1.1.1850", IMPORT_DATE_AUTO, NULL},            {"1.1.2999", IMPORT_DATE_AUTO, NULL},
		{"March 15, 1985", IMPORT_DATE_AUTO, NULL},      {"15.3.1985 x", IMPORT_DATE_AUTO, NULL},
		{"15-03-1985", IMPORT_DATE_AUTO, NULL},
	};
	char out[11], why[200];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = import_birthday(cases[i].in, cases[i].fmt, out, why, sizeof why);
		if (cases[i].out) {
			if (rc)
				fail_msg("'%s' refused: %s", cases[i].in, why);
			assert_string_equal(out, cases[i].out);
		} else if (rc != KT_EINVALID)
			fail_msg("'%s' accepted as %s", cases[i].in, out);
		else if (!strstr(why, "birthday"))
			fail_msg("'%s': the reason does not name the field: %s", cases[i].in, why);
	}
	assert_int_equal(import_yes_no("Da"), 1);
	assert_int_equal(import_yes_no("kyllä"), 1);
	assert_int_equal(import_yes_no("nein"), 0);
	assert_int_equal(import_yes_no(""), -1);
	assert_int_equal(import_yes_no("maybe"), -2);
}

static int read_text(const char *text, const import_opts *o, import_plan **p, char *err, size_t cap)
{
	return import_read((const unsigned char *)text, strlen(text), o, p, err, cap);
}

static void test_read_lines_quotes_and_limits(void **state)
{
	import_opts o = {.country = "SI", .encoding = IMPORT_ENC_AUTO};
	import_plan *p = NULL;
	char err[512], *big;
	(void)state;
	assert_int_equal(read_text("\xef\xbb\xbfName;Phone;Notes\r\n"
				   "Ana Novak;041 123 456;\"two\r\nlines; quoted\"\r\n"
				   "\r\n"
				   "Maja;;\"say \"\"hi\"\"\"\r\n",
				   &o, &p, err, sizeof err),
			 KT_OK);
	assert_int_equal(p->delim, ';');
	assert_int_equal(p->encoding, IMPORT_UTF8);
	assert_int_equal(p->nrows, 2);
	assert_int_equal(p->rows[0].line, 2);
	assert_string_equal(p->rows[0].v[IF_NAME], "Ana Novak");
	assert_string_equal(p->rows[0].v[IF_PHONE], "+38641123456");
	assert_string_equal(p->rows[0].v[IF_NOTES], "two\r\nlines; quoted");
	assert_int_equal(p->rows[1].line, 5);
	assert_string_equal(p->rows[1].v[IF_NOTES], "say \"hi\"");
	import_plan_free(p);

	/* old Mac line endings: a lone \r ends a line too */
	assert_int_equal(read_text("Name\rAna\rMaja\r", &o, &p, err, sizeof err), KT_OK);
	assert_int_equal(p->nrows, 2);
	assert_int_equal(p->rows[0].line, 2);
	assert_int_equal(p->rows[1].line, 3);
	import_plan_free(p);

	/* a birthday written shorter than its ISO form */
	assert_int_equal(read_text("Name,Birthday\nAna,1.4.1970\n", &o, &p, err, sizeof err), KT_OK);
	assert_string_equal(p->rows[0].v[IF_BIRTHDAY], "1970-04-01");
	import_plan_free(p);

	/* what is not a client list: one error, no plan */
	p = NULL;
	assert_int_equal(import_read((const unsigned char *)"Name\nA\0B\n", 9, &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "binary"));
	assert_null(p);
	assert_int_equal(read_text("", &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(read_text("Name,Email,E-pošta\nA,a@b.si,c@d.si\n", &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "both map to email"));
	assert_int_equal(read_text("Email\na@b.si\n", &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "no column holds the name"));
	big = malloc(IMPORT_MAX_LINE + 64);
	assert_non_null(big);
	memset(big, 'x', IMPORT_MAX_LINE + 63);
	memcpy(big, "Name\n", 5);
	big[IMPORT_MAX_LINE + 63] = 0;
	assert_int_equal(read_text(big, &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "line 2 is longer than 65536 bytes"));
	/* a quoted field that never ends is bounded too, though no line is long */
	memcpy(big, "Name\n\"", 6);
	for (size_t i = 6; i < IMPORT_MAX_LINE + 63; i += 100)
		big[i] = '\n';
	assert_int_equal(read_text(big, &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "a field longer than"));
	free(big);

	/* --map: a column by header or number, fields by name */
	const char *maps[] = {"2=name", "Nick=ignore"};
	o.maps = maps;
	o.nmaps = 2;
	assert_int_equal(read_text("Nick,Full\nAni,Ana Novak\n", &o, &p, err, sizeof err), KT_OK);
	assert_string_equal(p->rows[0].v[IF_NAME], "Ana Novak");
	assert_true(p->mapped_by_hand[1]);
	import_plan_free(p);
	const char *bad[] = {"Nick=nickname"};
	o.maps = bad;
	o.nmaps = 1;
	assert_int_equal(read_text("Nick,Full\nAni,Ana Novak\n", &o, &p, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "unknown field 'nickname'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_map_in_five_languages),
		cmocka_unit_test(test_delimiter_from_the_header),
		cmocka_unit_test(test_encoding_detection),
		cmocka_unit_test(test_phones_become_e164),
		cmocka_unit_test(test_birthdays_in_local_forms),
		cmocka_unit_test(test_read_lines_quotes_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
