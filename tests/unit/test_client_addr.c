/* test_client_addr.c - the address a connection counts as for throttling
 * (server/net/client_addr.c): IPv6 grouped by /64, IPv4-mapped IPv6 as IPv4,
 * proxy headers believed only from trusted proxies, and in X-Forwarded-For
 * only the right-most entry that is not a trusted proxy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "net/client_addr.h"

static int reset(void **state)
{
	(void)state;
	client_addr_reset();
	return 0;
}

static void group_is(const char *in, const char *want)
{
	char out[KT_ADDR_TEXT];
	assert_true(client_addr_group(in, out));
	assert_string_equal(out, want);
}

static void test_ipv6_counts_by_its_64(void **state)
{
	(void)state;
	group_is("2001:db8:1:2::1", "2001:db8:1:2::/64");
	group_is("2001:db8:1:2:ffff:eeee:dddd:cccc", "2001:db8:1:2::/64");
	group_is("2001:DB8:1:2::abcd", "2001:db8:1:2::/64");
	group_is("[2001:db8:1:3::1]:443", "2001:db8:1:3::/64");
	group_is("fe80::1%eth0", "fe80::/64");
	group_is("::1", "::/64");
}

static void test_ipv4_and_mapped_ipv4(void **state)
{
	(void)state;
	group_is("198.51.100.7", "198.51.100.7");
	group_is(" 198.51.100.7 ", "198.51.100.7");
	group_is("198.51.100.7:5555", "198.51.100.7");
	group_is("::ffff:198.51.100.7", "198.51.100.7");
}

static void test_not_addresses(void **state)
{
	char out[KT_ADDR_TEXT];
	(void)state;
	static const char *const bad[] = {"", "unknown", "proxy.example", "1.2.3", "1.2.3.4.5", "[2001:db8::1",
					  "2001:db8::1]", "300.1.1.1", "::g", "_hidden"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(client_addr_group(bad[i], out));
}

static void test_trusted_ranges(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(client_addr_trust("10.0.0.0/8", &why), 0);
	assert_int_equal(client_addr_trust("2001:db8:ff::/48", &why), 0);
	assert_int_equal(client_addr_trust("127.0.0.1", &why), 0);
	assert_true(client_addr_is_trusted("10.200.3.4"));
	assert_true(client_addr_is_trusted("127.0.0.1"));
	assert_true(client_addr_is_trusted("::ffff:127.0.0.1"));
	assert_true(client_addr_is_trusted("2001:db8:ff:1::5"));
	assert_false(client_addr_is_trusted("11.0.0.1"));
	assert_false(client_addr_is_trusted("127.0.0.2"));
	assert_false(client_addr_is_trusted("2001:db8:fe::5"));
	assert_int_equal(client_addr_trust("10.0.0.0/33", &why), -1);
	assert_int_equal(client_addr_trust("proxy.example", &why), -1);
	assert_non_null(why);
}

static void test_header_only_from_a_trusted_proxy(void **state)
{
	char out[KT_ADDR_TEXT];
	const char *why = NULL;
	(void)state;
	assert_false(client_addr_pick("127.0.0.1", "198.51.100.7", out)); /* nobody trusted */
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(client_addr_config_set("trusted_proxy", "127.0.0.1, 10.0.0.0/8", &why), 0);
	assert_false(client_addr_pick("127.0.0.2", "198.51.100.7", out));
	assert_string_equal(out, "127.0.0.2");
	assert_true(client_addr_pick("127.0.0.1", "198.51.100.7", out));
	assert_string_equal(out, "198.51.100.7");
	assert_false(client_addr_pick("127.0.0.1", NULL, out)); /* no header: the proxy itself */
	assert_string_equal(out, "127.0.0.1");
}

static void test_xff_right_most_untrusted_entry(void **state)
{
	char out[KT_ADDR_TEXT];
	const char *why = NULL;
	(void)state;
	assert_int_equal(client_addr_config_set("trusted_proxy", "127.0.0.1 10.0.0.0/8", &why), 0);
	/* the client wrote the left part itself; our proxies appended the rest */
	assert_true(client_addr_pick("127.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.5", out));
	assert_string_equal(out, "198.51.100.7");
	assert_true(client_addr_pick("127.0.0.1", "1.1.1.1,2001:db8:5:6::7", out));
	assert_string_equal(out, "2001:db8:5:6::/64");
	/* every entry a trusted proxy: the left-most */
	assert_true(client_addr_pick("127.0.0.1", "10.0.0.9, 10.0.0.5", out));
	assert_string_equal(out, "10.0.0.9");
	/* garbage where our proxy's entry should be: nothing left of it is believed */
	assert_false(client_addr_pick("127.0.0.1", "198.51.100.7, unknown", out));
	assert_string_equal(out, "127.0.0.1");
	assert_false(client_addr_pick("127.0.0.1", "198.51.100.7,", out));
	assert_false(client_addr_pick("127.0.0.1", "", out));
}

static void test_x_real_ip(void **state)
{
	char out[KT_ADDR_TEXT];
	const char *why = NULL;
	(void)state;
	assert_int_equal(client_addr_trust("127.0.0.1", &why), 0);
	assert_int_equal(client_addr_config_set("proxy_header", "X-Real-IP", &why), 0);
	assert_int_equal(client_addr_header(), KT_PROXY_X_REAL_IP);
	assert_true(client_addr_pick("127.0.0.1", "2001:db8::1", out));
	assert_string_equal(out, "2001:db8::/64");
	assert_false(client_addr_pick("127.0.0.1", "1.1.1.1, 198.51.100.7", out)); /* one address only */
	assert_int_equal(client_addr_config_set("proxy_header", "forwarded", &why), -1);
	assert_int_equal(client_addr_config_set("listen", "x", &why), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ipv6_counts_by_its_64, reset),
		cmocka_unit_test_setup(test_ipv4_and_mapped_ipv4, reset),
		cmocka_unit_test_setup(test_not_addresses, reset),
		cmocka_unit_test_setup(test_trusted_ranges, reset),
		cmocka_unit_test_setup(test_header_only_from_a_trusted_proxy, reset),
		cmocka_unit_test_setup(test_xff_right_most_untrusted_entry, reset),
		cmocka_unit_test_setup(test_x_real_ip, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
