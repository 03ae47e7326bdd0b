/* test_threads.c - process-wide state that several server threads reach
 * first at the same time. Each test starts its threads before anything has
 * touched that state, so it proves something only in a fresh process: keep
 * one scenario per state and run it before the others touch it. The TSan
 * build (make test-tsan) reports a race here as a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include "domain/policy.h"

#define READERS 4

/* every (role, table, column) through policy_read, against the table itself */
static void *read_all(void *arg)
{
	long *wrong = arg;
	for (int t = 0; t < kt_table_count; t++)
		for (int c = 0; c < kt_tables[t].ncols; c++) {
			const kt_policy_entry *e = policy_entry(kt_tables[t].name, kt_tables[t].cols[c].name);
			for (int r = 0; r < KT_ROLE_COUNT; r++)
				*wrong += policy_read(r, &kt_tables[t], c) != (e ? e->read[r] : KT_P_NO);
		}
	return NULL;
}

/* The loop (sync), the writer (push answers) and the export worker all pack
 * rows through policy_read; whichever comes first fills its cache. */
static void test_policy_read_first_use_from_threads(void **state)
{
	pthread_t th[READERS];
	long wrong[READERS] = {0};
	(void)state;
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, read_all, &wrong[i]), 0);
	for (int i = 0; i < READERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(wrong[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_read_first_use_from_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
