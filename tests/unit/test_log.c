/* test_log.c - the logger (common/kt_log.h): JSON escaping of any bytes,
 * the component from a source path, and whole lines in both formats with the
 * thread's context and an error code, read back from stderr and parsed by
 * jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "kt_err.h"
#include "kt_log.h"

static void esc(const char *in, size_t len, const char *want)
{
	char out[256];
	size_t n = kt_log_json_escape(out, sizeof out, in, len);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_json_escaping_of_any_bytes(void **state)
{
	esc("plain", 5, "plain");
	esc("a \"q\" \\ b", 9, "a \\\"q\\\" \\\\ b");
	esc("l1\nl2\r\t", 7, "l1\\nl2\\r\\t");
	esc("\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f");
	esc("nul\0x", 5, "nul\\u0000x");
	esc("Žiga Čšž €", strlen("Žiga Čšž €"), "Žiga Čšž €"); /* UTF-8 kept */
	esc("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
	esc("bad \xff\xfe end", 10, "bad \\ufffd\\ufffd end");
	esc("\xc3", 1, "\\ufffd");                     /* cut sequence */
	esc("\xc0\xaf", 2, "\\ufffd\\ufffd");           /* overlong '/' */
	esc("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd"); /* a surrogate */
	esc("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd"); /* over U+10FFFF */
	/* cut at a whole character when the buffer is full */
	char small[8];
	kt_log_json_escape(small, sizeof small, "abcd\"efgh", 9);
	assert_string_equal(small, "abcd\\\"e");
	kt_log_json_escape(small, 5, "ab\ncd", 5);
	assert_string_equal(small, "ab\\n");
	kt_log_json_escape(small, 4, "ab\ncd", 5);
	assert_string_equal(small, "ab");
}

static void test_component_is_the_source_folder(void **state)
{
	char b[32];
	assert_string_equal(kt_log_component("/src/server/net/listener.c", b, sizeof b), "net");
	assert_string_equal(kt_log_component("/src/server/handlers/handle_auth.c", b, sizeof b), "handlers");
	assert_string_equal(kt_log_component("/src/common/kt_util.c", b, sizeof b), "common");
	assert_string_equal(kt_log_component("/src/clients/reference-c/kc_conn.c", b, sizeof b), "client");
	assert_string_equal(kt_log_component("lws", b, sizeof b), "lws");
	assert_string_equal(kt_log_component("x.c", b, sizeof b), "kartoteka");
}

/* stderr into a temporary file while f runs; the text written */
static char *capture(void (*f)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	assert_non_null(tmp);
	dup2(fileno(tmp), STDERR_FILENO);
	f();
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t n = lseek(fileno(tmp), 0, SEEK_END);
	char *buf = calloc(1, (size_t)n + 1);
	assert_int_equal(pread(fileno(tmp), buf, (size_t)n, 0), n);
	fclose(tmp);
	return buf;
}

static void log_some(void)
{
	kt_log_set_level(KT_LOG_INFO);
	kt_info("plain line");
	kt_log_ctx_set(42, "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0001", "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0002");
	kt_log_code(KT_LOG_WARN, KT_EAUTH_FAILED, "quote \" and newline\n and bad \xff");
	kt_log_ctx_clear();
	kt_debug("not shown at info");
	kt_log_at(KT_LOG_ERR, "lws", 0, "from lws");
}

static void test_json_lines_parse_with_their_fields(void **state)
{
	kt_log_set_format(KT_LOG_JSON);
	char *text = capture(log_some);
	kt_log_set_format(KT_LOG_TEXT);
	char *save = NULL, *line;
	int n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);
		assert_non_null(o);
		assert_non_null(json_object_get(o, "time"));
		const char *comp = json_string_value(json_object_get(o, "component"));
		const char *msg = json_string_value(json_object_get(o, "msg"));
		const char *level = json_string_value(json_object_get(o, "level"));
		if (n == 0) {
			assert_string_equal(comp, "unit");
			assert_string_equal(msg, "plain line");
			assert_string_equal(level, "info");
			assert_null(json_object_get(o, "session"));
		} else if (n == 1) {
			assert_string_equal(level, "warn");
			assert_string_equal(msg, "quote \" and newline\n and bad \xef\xbf\xbd");
			assert_string_equal(json_string_value(json_object_get(o, "code")), "auth_failed");
			assert_int_equal(json_integer_value(json_object_get(o, "session")), 42);
			assert_string_equal(json_string_value(json_object_get(o, "device")),
					    "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0001");
			assert_string_equal(json_string_value(json_object_get(o, "principal")),
					    "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0002");
		} else {
			assert_string_equal(comp, "lws");
			assert_string_equal(level, "error");
			assert_null(json_object_get(o, "device"));
		}
		json_decref(o);
	}
	assert_int_equal(n, 3);
	free(text);
}

static void test_text_lines_are_for_people(void **state)
{
	char *text = capture(log_some);
	assert_non_null(strstr(text, "Z info plain line\n"));
	assert_non_null(strstr(text, "Z error from lws\n"));
	assert_null(strstr(text, "not shown"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escaping_of_any_bytes),
		cmocka_unit_test(test_component_is_the_source_folder),
		cmocka_unit_test(test_json_lines_parse_with_their_fields),
		cmocka_unit_test(test_text_lines_are_for_people),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
