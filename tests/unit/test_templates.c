/* test_templates.c - the words of messages (templates.c): every built-in
 * text in every language and channel renders with no placeholder left and
 * only placeholders its kind knows; SMS stay short; dates come out in the
 * reader's language and the branch's zone (ICU); an owner's text with an
 * unknown placeholder, or one its kind has no value for, is refused with
 * a sentence naming it; marketing always carries an unsubscribe link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/templates.h"

static kt_tpl_vars sample(void)
{
	kt_tpl_vars v = {{0}};
	v.v[KT_TV_FIRST_NAME] = "Ana";
	v.v[KT_TV_SALON] = "Studio Lepota";
	v.v[KT_TV_BRANCH] = "Lepota Center";
	v.v[KT_TV_ADDRESS] = "Čopova ulica 14, Ljubljana";
	v.v[KT_TV_PHONE] = "+386 1 426 11 20";
	v.v[KT_TV_DATE] = "torek, 8. december 2026";
	v.v[KT_TV_TIME] = "14:30";
	v.v[KT_TV_ZONE] = "Europe/Ljubljana";
	v.v[KT_TV_SERVICES] = "Striženje";
	v.v[KT_TV_SPECIALIST] = "Nina Korošec";
	v.v[KT_TV_CONFIRM_LINK] = "https://s.example/l/CONFIRM";
	v.v[KT_TV_UNSUBSCRIBE_LINK] = "https://s.example/l/UNSUB";
	v.v[KT_TV_REVIEW_LINK] = "https://s.example/l/REVIEW";
	v.v[KT_TV_SURVEY_LINK] = "https://s.example/l/SURVEY";
	v.v[KT_TV_RECONSENT_LINK] = "https://s.example/l/RECONSENT";
	return v;
}

/* The characters of s without its links, for the SMS length rule. */
static size_t chars_without_links(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p;) {
		if (!strncmp(p, "https://s.example/l/", 20)) {
			p += strcspn(p, " \n");
			continue;
		}
		if (((unsigned char)*p & 0xc0) != 0x80)
			n++;
		p++;
	}
	return n;
}

static void test_every_builtin_text_renders_in_every_language(void **state)
{
	(void)state;
	kt_tpl_vars v = sample();
	char why[512];
	for (int k = 0; k < KT_MSG_KIND_COUNT; k++)
		for (int l = 0; l < KT_MSG_LANG_COUNT; l++)
			for (int sms = 0; sms < 2; sms++) {
				const char *s, *b;
				char *rs = NULL, *rb = NULL;
				bool marketing = templates_kind_marketing(k, true);
				templates_builtin(k, l, sms, &s, &b);
				/* the built-in texts pass the owner's rules too */
				if (templates_check(k, sms, sms ? NULL : s, b, why, sizeof why))
					fail_msg("%s %s %s: %s", templates_kind_name(k), templates_lang_code(l),
						 sms ? "sms" : "email", why);
				assert_int_equal(templates_render(s, &v, l, sms, false, &rs), KT_OK);
				assert_int_equal(templates_render(b, &v, l, sms, marketing, &rb), KT_OK);
				if (strchr(rs, '{') || strchr(rb, '{'))
					fail_msg("%s %s: a placeholder is left: %s", templates_kind_name(k),
						 templates_lang_code(l), rb);
				assert_true(strstr(rb, "Ana") || strstr(rb, "Studio Lepota"));
				if (marketing)
					assert_non_null(strstr(rb, "https://s.example/l/UNSUB"));
				if (k == KT_MSG_REMINDER || k == KT_MSG_REMINDER2)
					assert_non_null(strstr(rb, "https://s.example/l/CONFIRM"));
				if (sms) {
					assert_string_equal(rs, "");
					/* the salon's and the reader's names as the sample has them */
					if (chars_without_links(rb) > 170)
						fail_msg("%s %s SMS is %zu characters: %s", templates_kind_name(k),
							 templates_lang_code(l), chars_without_links(rb), rb);
				}
				free(rs);
				free(rb);
			}
}

static void test_the_languages_say_it_in_their_words(void **state)
{
	(void)state;
	static const char *const want[KT_MSG_LANG_COUNT] = {"Reminder", "Opomnik", "Erinnerung", "Przypomnienie",
							    "Muistutus"};
	kt_tpl_vars v = sample();
	for (int l = 0; l < KT_MSG_LANG_COUNT; l++) {
		const char *s, *b;
		char *r = NULL;
		templates_builtin(KT_MSG_REMINDER, l, false, &s, &b);
		assert_int_equal(templates_render(s, &v, l, false, false, &r), KT_OK);
		if (!strstr(r, want[l]))
			fail_msg("%s: '%s' lacks %s", templates_lang_code(l), r, want[l]);
		free(r);
	}
	assert_int_equal(templates_lang("fi"), 4);
	assert_int_equal(templates_lang("FI"), -1);
	assert_int_equal(templates_lang("ru"), -1);
	assert_int_equal(templates_kind("review_request"), KT_MSG_REVIEW_REQUEST);
	assert_int_equal(templates_kind("reminder3"), -1);
}

static void test_dates_in_the_readers_language_and_the_branchs_zone(void **state)
{
	(void)state;
	char date[128], time[64];
	/* 2026-12-08 13:30 UTC is 14:30 in Ljubljana (CET), a Tuesday */
	int64_t ms = 1796736600000LL;
	assert_int_equal(templates_when("Europe/Ljubljana", templates_lang("sl"), "SI", ms, date, sizeof date, time,
					sizeof time),
			 KT_OK);
	assert_non_null(strstr(date, "torek"));
	assert_non_null(strstr(date, "december"));
	assert_string_equal(time, "14:30");
	assert_int_equal(templates_when("Europe/Helsinki", templates_lang("fi"), "FI", ms, date, sizeof date, time,
					sizeof time),
			 KT_OK);
	assert_non_null(strstr(date, "tiistai"));
	assert_string_equal(time, "15.30");
	assert_int_equal(templates_when("Europe/Vienna", templates_lang("de"), "AT", ms, date, sizeof date, time,
					sizeof time),
			 KT_OK);
	assert_non_null(strstr(date, "Dienstag"));
	assert_int_equal(templates_when("Europe/Warsaw", templates_lang("pl"), NULL, ms, date, sizeof date, time,
					sizeof time),
			 KT_OK);
	assert_non_null(strstr(date, "wtorek"));
	assert_int_equal(templates_when("Mars/Olympus", 0, NULL, ms, date, sizeof date, time, sizeof time), KT_EINVALID);
}

static void refused(int kind, bool sms, const char *subject, const char *body, const char *named)
{
	char why[512] = "";
	int rc = templates_check(kind, sms, subject, body, why, sizeof why);
	if (rc != KT_EINVALID)
		fail_msg("'%s' accepted", body);
	if (!strstr(why, named))
		fail_msg("'%s': the sentence '%s' does not name %s", body, why, named);
}

static void test_an_owners_text_is_checked(void **state)
{
	(void)state;
	char why[512];
	assert_int_equal(templates_check(KT_MSG_REMINDER, false, "See you {date}",
					 "Hi {first_name}, {date} at {time}. {confirm_link}", why, sizeof why),
			 KT_OK);
	/* a brace that is no placeholder is text */
	assert_int_equal(templates_check(KT_MSG_CAMPAIGN, false, "News", "Prices {from 20 EUR} and a } alone", why,
					 sizeof why),
			 KT_OK);
	refused(KT_MSG_REMINDER, false, "Hi", "Hello {frist_name}", "{frist_name}");
	refused(KT_MSG_REMINDER, false, "Hi", "Hello {frist_name}", "{first_name}"); /* and says what it knows */
	refused(KT_MSG_BIRTHDAY, false, "Hi", "Come {confirm_link}", "{confirm_link}");
	refused(KT_MSG_CONFIRMATION, false, "Hi {review_link}", "x", "subject");
	refused(KT_MSG_REMINDER, false, "", "x", "subject");
	refused(KT_MSG_REMINDER, false, "two\nlines", "x", "subject");
	refused(KT_MSG_REMINDER, true, "a subject", "x", "SMS has no subject");
	refused(KT_MSG_REMINDER, false, "Hi", "", "body");
	refused(KT_MSG_REMINDER, false, "Hi", "bell \a", "control characters");
	refused(-1, false, "Hi", "x", "kind");
}

static void test_rendering(void **state)
{
	(void)state;
	kt_tpl_vars v = sample();
	char *r = NULL;
	/* an empty value leaves no dangling comma at a line's end */
	v.v[KT_TV_ADDRESS] = NULL;
	assert_int_equal(templates_render("{branch}, {address}\nnext", &v, 0, false, false, &r), KT_OK);
	assert_string_equal(r, "Lepota Center\nnext");
	free(r);
	/* an empty value takes the text that joins it to its neighbour along */
	v.v[KT_TV_ADDRESS] = "Čopova 14";
	v.v[KT_TV_SERVICES] = NULL;
	assert_int_equal(templates_render("{services} with {specialist}\n", &v, 0, false, false, &r), KT_OK);
	assert_string_equal(r, "Nina Korošec\n");
	free(r);
	v.v[KT_TV_SERVICES] = "Striženje";
	v.v[KT_TV_SPECIALIST] = "";
	assert_int_equal(templates_render("{services} bei {specialist}\n", &v, 2, false, false, &r), KT_OK);
	assert_string_equal(r, "Striženje\n");
	free(r);
	/* of three joined values the middle one missing: one joiner stays */
	v.v[KT_TV_BRANCH] = NULL;
	assert_int_equal(templates_render("{salon}, {branch}, {address}.", &v, 0, false, false, &r), KT_OK);
	assert_string_equal(r, "Studio Lepota, Čopova 14.");
	free(r);
	/* longer text between placeholders is the owner's words: kept */
	assert_int_equal(templates_render("{salon} thanks you for visiting {branch}!", &v, 0, false, false, &r),
			 KT_OK);
	assert_string_equal(r, "Studio Lepota thanks you for visiting !");
	free(r);
	v = sample();
	/* every built-in appointment text without services or specialist:
	 * no line starts with a joiner */
	v.v[KT_TV_SERVICES] = NULL;
	for (int k = KT_MSG_CONFIRMATION; k <= KT_MSG_REMINDER2; k++)
		for (int l = 0; l < KT_MSG_LANG_COUNT; l++)
			for (int sms = 0; sms < 2; sms++) {
				const char *s, *bd;
				templates_builtin(k, l, sms, &s, &bd);
				assert_int_equal(templates_render(bd, &v, l, sms, false, &r), KT_OK);
				if (strstr(r, "\n, ") || strstr(r, " , ") || strstr(r, "  ") ||
				    strstr(r, "\n with ") || strstr(r, "\n bei ") || strstr(r, ": , ") || r[0] == ',')
					fail_msg("%s %s %s: a dangling joiner: %s", templates_kind_name(k),
						 templates_lang_code(l), sms ? "sms" : "email", r);
				if (!sms && strstr(bd, "{specialist}") && !strstr(r, "Nina Korošec"))
					fail_msg("%s %s: the specialist is missing: %s", templates_kind_name(k),
						 templates_lang_code(l), r);
				free(r);
			}
	v = sample();
	/* marketing without the owner's unsubscribe placeholder gets the language's line */
	assert_int_equal(templates_render("Neuigkeiten!", &v, templates_lang("de"), true, true, &r), KT_OK);
	assert_string_equal(r, "Neuigkeiten! Abmelden: https://s.example/l/UNSUB");
	free(r);
	assert_int_equal(templates_render("Bye {unsubscribe_link}", &v, 0, false, true, &r), KT_OK);
	assert_string_equal(r, "Bye https://s.example/l/UNSUB");
	free(r);
	/* nothing is escaped: plain text */
	v.v[KT_TV_FIRST_NAME] = "<b>Ana</b> & {salon}";
	assert_int_equal(templates_render("Hi {first_name}", &v, 0, false, false, &r), KT_OK);
	assert_string_equal(r, "Hi <b>Ana</b> & {salon}"); /* a value is never rendered again */
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_builtin_text_renders_in_every_language),
		cmocka_unit_test(test_the_languages_say_it_in_their_words),
		cmocka_unit_test(test_dates_in_the_readers_language_and_the_branchs_zone),
		cmocka_unit_test(test_an_owners_text_is_checked),
		cmocka_unit_test(test_rendering),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
