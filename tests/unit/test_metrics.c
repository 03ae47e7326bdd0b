/* test_metrics.c - the metrics behind GET /metrics (common/kt_metrics.c):
 * counter and histogram maths, the text format's escaping and numbers, no
 * update lost between threads; and the guard of /metrics
 * (server/net/ops_http.c): token, allow-list, loopback default, proxies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "kt_metrics.h"
#include "db/model.h"
#include "net/ops_http.h"

static int reset(void **state)
{
	(void)state;
	kt_metrics_reset();
	ops_http_config_reset();
	return 0;
}

/* The rendered text of everything, NUL-terminated (caller frees). */
static char *render(void)
{
	kt_mtext t = {0};
	kt_metrics_render(&t);
	assert_false(t.failed);
	kt_mtext_printf(&t, "%s", "");
	char *s = strndup(t.s, t.len);
	kt_mtext_free(&t);
	return s;
}

static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return;
	fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_counters_and_gauges_add_up(void **state)
{
	(void)state;
	kt_metric_inc(KT_M_MUT_APPLIED, 0);
	kt_metric_add(KT_M_MUT_APPLIED, 0, 41);
	kt_metric_inc(KT_M_DEVICES, KT_ROLE_RECEPTION);
	kt_metric_inc(KT_M_DEVICES, KT_ROLE_RECEPTION);
	kt_metric_add(KT_M_DEVICES, KT_ROLE_RECEPTION, -1);
	kt_metric_inc(KT_M_DEVICES, 999); /* out of range: ignored, not a crash */
	kt_metric_inc(KT_M_DEVICES, -1);
	assert_int_equal(kt_metric_get(KT_M_MUT_APPLIED, 0), 42);
	assert_int_equal(kt_metric_get(KT_M_DEVICES, KT_ROLE_RECEPTION), 1);
	char *s = render();
	has_line(s, "# TYPE kartoteka_mutations_applied_total counter");
	has_line(s, "kartoteka_mutations_applied_total 42");
	has_line(s, "# TYPE kartoteka_connected_devices gauge");
	has_line(s, "kartoteka_connected_devices{role=\"reception\"} 1");
	has_line(s, "kartoteka_connected_devices{role=\"owner\"} 0");
	free(s);
}

static void test_role_labels_are_the_model_s(void **state)
{
	(void)state;
	/* kt_metrics.c (common) keeps its own copy of the names: same order as KT_ROLE_* */
	for (int r = 0; r < KT_ROLE_COUNT; r++)
		kt_metric_add(KT_M_DEVICES, r, r + 10);
	char *s = render();
	for (int r = 0; r < KT_ROLE_COUNT; r++) {
		char line[128];
		snprintf(line, sizeof line, "kartoteka_connected_devices{role=\"%s\"} %d", kt_role_name(r), r + 10);
		has_line(s, line);
	}
	free(s);
}

static void test_signin_results_and_codes(void **state)
{
	(void)state;
	kt_metric_signin(KT_OK);
	kt_metric_signin(KT_EAUTH_FAILED);
	kt_metric_signin(KT_EBUSY);
	kt_metric_signin(KT_ETHROTTLED);
	kt_metric_inc(KT_M_MUT_REJECTED, KT_ECONFLICT);
	kt_metric_inc(KT_M_MUT_REJECTED, KT_ECONFLICT);
	kt_metric_inc(KT_M_MUT_REJECTED, KT_EDENIED);
	char *s = render();
	has_line(s, "kartoteka_signins_total{result=\"ok\"} 1");
	has_line(s, "kartoteka_signins_total{result=\"failed\"} 2");
	has_line(s, "kartoteka_signins_total{result=\"throttled\"} 1");
	has_line(s, "kartoteka_mutations_rejected_total{code=\"conflict\"} 2");
	has_line(s, "kartoteka_mutations_rejected_total{code=\"forbidden\"} 1");
	/* codes never seen are left out (most never are), the family is still declared */
	assert_null(strstr(s, "code=\"malformed\""));
	has_line(s, "# TYPE kartoteka_mutations_rejected_total counter");
	free(s);
}

static void test_http_status_slots(void **state)
{
	(void)state;
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(200));
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(404));
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(418)); /* not in the list: other */
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(599));
	assert_int_not_equal(kt_metric_http_slot(200), kt_metric_http_slot(404));
	assert_int_equal(kt_metric_http_slot(418), kt_metric_http_slot(599));
	char *s = render();
	has_line(s, "kartoteka_http_requests_total{code=\"200\"} 1");
	has_line(s, "kartoteka_http_requests_total{code=\"404\"} 1");
	has_line(s, "kartoteka_http_requests_total{code=\"other\"} 2");
	free(s);
}

static void test_histogram_buckets_are_cumulative_and_le_inclusive(void **state)
{
	(void)state;
	kt_hist *h = &kt_hists[KT_H_COMMIT_TO_DEVICE];
	kt_hist_observe(h, 1000);     /* exactly 1 ms: in le="0.001" */
	kt_hist_observe(h, 1001);     /* just over: le="0.0025" */
	kt_hist_observe(h, -5);       /* a clock step back counts as 0 */
	kt_hist_observe(h, 250000);   /* 0.25 s */
	kt_hist_observe(h, 60000000); /* a minute: only +Inf */
	char *s = render();
	has_line(s, "# TYPE kartoteka_commit_to_device_seconds histogram");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"0.001\"} 2");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"0.0025\"} 3");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"0.1\"} 3");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"0.25\"} 4");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"10\"} 4");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"+Inf\"} 5");
	has_line(s, "kartoteka_commit_to_device_seconds_count 5");
	has_line(s, "kartoteka_commit_to_device_seconds_sum 60.252001");
	free(s);
}

static void test_text_escaping(void **state)
{
	(void)state;
	kt_mtext t = {0};
	kt_mtext_family(&t, "x_total", "counter", "a \\ back\nslash and \"quotes\"");
	kt_mtext_sample(&t, "x_total", "path", "C:\\dir\n\"q\"", 3);
	kt_mtext_sample(&t, "y", NULL, NULL, 0.5);
	kt_mtext_sample(&t, "y", "le", "+Inf", INFINITY);
	kt_mtext_sample(&t, "y", NULL, NULL, -INFINITY);
	kt_mtext_sample(&t, "y", NULL, NULL, NAN);
	kt_mtext_sample(&t, "y", NULL, NULL, -7);
	kt_mtext_sample(&t, "y", NULL, NULL, 1e17);
	kt_mtext_printf(&t, "%s", "");
	assert_false(t.failed);
	char *s = strndup(t.s, t.len);
	/* HELP escapes backslash and newline only; label values also the quote */
	has_line(s, "# HELP x_total a \\\\ back\\nslash and \"quotes\"");
	has_line(s, "# TYPE x_total counter");
	has_line(s, "x_total{path=\"C:\\\\dir\\n\\\"q\\\"\"} 3");
	has_line(s, "y 0.5");
	has_line(s, "y{le=\"+Inf\"} +Inf");
	has_line(s, "y -Inf");
	has_line(s, "y NaN");
	has_line(s, "y -7");
	has_line(s, "y 1e+17");
	free(s);
	kt_mtext_free(&t);
	kt_mtext_free(&t); /* twice, and on a zeroed one: no harm */
}

static void test_text_grows_past_its_first_block(void **state)
{
	(void)state;
	kt_mtext t = {0};
	for (int i = 0; i < 2000; i++)
		kt_mtext_sample(&t, "kartoteka_long_name_for_growth", "n", "value", i);
	assert_false(t.failed);
	assert_true(t.len > 60000);
	assert_true(t.cap > t.len);
	static const char last[] = "kartoteka_long_name_for_growth{n=\"value\"} 1999\n";
	assert_memory_equal(t.s + t.len - (sizeof last - 1), last, sizeof last - 1);
	assert_memory_equal(t.s, "kartoteka_long_name_for_growth{n=\"value\"} 0\n", 44);
	kt_mtext_free(&t);
}

#define THREADS 4
#define ROUNDS 200000

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		kt_metric_inc(KT_M_CHANGES_SENT, 0);
		kt_metric_add(KT_M_WRITER_QUEUE, 0, i & 1 ? -1 : 1);
		kt_hist_observe(&kt_hists[KT_H_COMMIT_TO_DEVICE], 2000);
	}
	return NULL;
}

static void test_no_update_is_lost_between_threads(void **state)
{
	(void)state;
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(kt_metric_get(KT_M_CHANGES_SENT, 0), (int64_t)THREADS * ROUNDS);
	assert_int_equal(kt_metric_get(KT_M_WRITER_QUEUE, 0), 0);
	char *s = render();
	has_line(s, "kartoteka_commit_to_device_seconds_count 800000");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"0.001\"} 0");
	has_line(s, "kartoteka_commit_to_device_seconds_bucket{le=\"0.0025\"} 800000");
	has_line(s, "kartoteka_commit_to_device_seconds_sum 1600");
	free(s);
}

/* ---- the guard of /metrics ---- */

static void test_default_is_loopback_without_proxies(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(ops_http_metrics_guard("127.0.0.1", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("127.3.0.9", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("::1", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("::ffff:127.0.0.1", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", false, NULL, &why), 403);
	assert_string_equal(why, "metrics: this address is not allowed (metrics_allow)\n");
	assert_int_equal(ops_http_metrics_guard("127.0.0.1", true, NULL, &why), 403);
	assert_string_equal(why, "metrics: not through a proxy without metrics_token\n");
	assert_int_equal(ops_http_metrics_guard("", false, NULL, &why), 403);
}

static void test_allow_list_replaces_the_default(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(ops_http_config_set("metrics_allow", "10.1.0.0/16, 2001:db8::/32,192.0.2.7", &why), 0);
	assert_int_equal(ops_http_metrics_guard("10.1.200.3", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("10.2.0.1", false, NULL, &why), 403);
	assert_int_equal(ops_http_metrics_guard("2001:db8:ffff::1", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("2001:db9::1", false, NULL, &why), 403);
	assert_int_equal(ops_http_metrics_guard("192.0.2.7", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("::ffff:192.0.2.7", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("192.0.2.8", false, NULL, &why), 403);
	assert_int_equal(ops_http_metrics_guard("127.0.0.1", false, NULL, &why), 403); /* not listed */
	/* a later line replaces the list; none empties it */
	assert_int_equal(ops_http_config_set("metrics_allow", "none", &why), 0);
	assert_int_equal(ops_http_metrics_guard("10.1.200.3", false, NULL, &why), 403);
	assert_int_equal(ops_http_metrics_guard("127.0.0.1", false, NULL, &why), 403);
}

static void test_bad_allow_lists_say_why(void **state)
{
	const char *why = NULL;
	(void)state;
	static const char *const bad[] = {"", " , ", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x",
					  "example.com", "10.0.0.1/-1", "1.2.3"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(ops_http_config_set("metrics_allow", bad[i], &why), -1);
		assert_non_null(why);
		assert_non_null(strstr(why, "metrics_allow"));
	}
	char many[1024] = "";
	for (int i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d,", i);
	assert_int_equal(ops_http_config_set("metrics_allow", many, &why), -1);
	assert_non_null(strstr(why, "at most 32"));
	assert_int_equal(ops_http_config_set("metrics_other", "x", &why), 1); /* not ours */
}

static void test_token(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(ops_http_config_set("metrics_token", "short", &why), -1);
	assert_int_equal(ops_http_config_set("metrics_token", "has a blank in it ok", &why), -1);
	assert_int_equal(ops_http_config_set("metrics_token", "0123456789abcdef0123", &why), 0);
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", false, "Bearer 0123456789abcdef0123", &why), 0);
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", true, "bearer  0123456789abcdef0123 ", &why), 0);
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", false, "Bearer 0123456789abcdef012", &why), 401);
	assert_string_equal(why, "metrics: wrong bearer token\n");
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", false, "Bearer 0123456789abcdef01234", &why), 401);
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", false, "Basic 0123456789abcdef0123", &why), 401);
	assert_int_equal(ops_http_metrics_guard("192.0.2.1", false, NULL, &why), 401);
	assert_string_equal(why, "metrics: send the bearer token (Authorization: Bearer ...)\n");
	/* loopback still passes without it (no list given); a proxy's request does not */
	assert_int_equal(ops_http_metrics_guard("127.0.0.1", false, NULL, &why), 0);
	assert_int_equal(ops_http_metrics_guard("127.0.0.1", true, NULL, &why), 401);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counters_and_gauges_add_up, reset),
		cmocka_unit_test_setup(test_role_labels_are_the_model_s, reset),
		cmocka_unit_test_setup(test_signin_results_and_codes, reset),
		cmocka_unit_test_setup(test_http_status_slots, reset),
		cmocka_unit_test_setup(test_histogram_buckets_are_cumulative_and_le_inclusive, reset),
		cmocka_unit_test_setup(test_text_escaping, reset),
		cmocka_unit_test_setup(test_text_grows_past_its_first_block, reset),
		cmocka_unit_test_setup(test_no_update_is_lost_between_threads, reset),
		cmocka_unit_test_setup(test_default_is_loopback_without_proxies, reset),
		cmocka_unit_test_setup(test_allow_list_replaces_the_default, reset),
		cmocka_unit_test_setup(test_bad_allow_lists_say_why, reset),
		cmocka_unit_test_setup(test_token, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
