/* test_org.c - the values setup and locations are checked against (ICU's
 * lists, not ours): each check accepts the real codes and refuses near
 * misses with a sentence that names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "domain/org.h"

typedef int (*check_fn)(const char *, char *, size_t);

static void expect(check_fn f, const char *v, bool ok, const char *field)
{
	char err[256] = "";
	int rc = f(v, err, sizeof err);
	if (ok && rc)
		fail_msg("'%s' refused: %s", v ? v : "(null)", err);
	if (!ok) {
		if (rc != KT_EINVALID)
			fail_msg("'%s' accepted", v ? v : "(null)");
		if (!strstr(err, field))
			fail_msg("'%s': the sentence '%s' does not name %s", v ? v : "(null)", err, field);
	}
}

static void test_time_zones(void **state)
{
	(void)state;
	static const char *const good[] = {"Europe/Ljubljana", "Europe/Vienna", "Europe/Helsinki",
					   "America/Argentina/Buenos_Aires", "Asia/Kolkata", "UTC"};
	static const char *const bad[] = {"", "Mars/Olympus", "Europe/Ljubljana ", "europe/ljubljana_x",
					  "GMT+05:00", "../../etc/passwd", "Europe/Ljubljana\n", NULL};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		expect(org_check_time_zone, good[i], true, "time zone");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect(org_check_time_zone, bad[i], false, "time zone");
}

static void test_countries_currencies_languages(void **state)
{
	(void)state;
	expect(org_check_country, "SI", true, "country");
	expect(org_check_country, "FI", true, "country");
	expect(org_check_country, "si", false, "country");
	expect(org_check_country, "SVN", false, "country");
	expect(org_check_country, "QQ", false, "country");
	expect(org_check_currency, "EUR", true, "currency");
	expect(org_check_currency, "PLN", true, "currency");
	expect(org_check_currency, "eur", false, "currency");
	expect(org_check_currency, "EURO", false, "currency");
	expect(org_check_currency, "SIT", false, "currency"); /* the tolar: not in use since 2007 */
	expect(org_check_language, "sl", true, "language");
	expect(org_check_language, "de", true, "language");
	expect(org_check_language, "SL", false, "language");
	expect(org_check_language, "slovenian", false, "language");
	expect(org_check_email, "ana@lepota.si", true, "e-mail");
	expect(org_check_email, "ana@lepota.si, maja@lepota.si", false, "e-mail");
	expect(org_check_email, "no-at-sign", false, "e-mail");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_zones),
		cmocka_unit_test(test_countries_currencies_languages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
