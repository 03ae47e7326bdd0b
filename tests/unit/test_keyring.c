/* test_keyring.c - the cache of unwrapped data keys (server/db/keyring.c):
 * a working set of 500 owners, as many clients as the demo salon has, is
 * read from the keyring file once and then served from the cache; a
 * destroyed key leaves the cache at once while the other owners' values
 * still open. */
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
#include "db/keyring.h"

#define OWNERS 500

static char dir[64], db[96];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/kt-keyring-XXXXXX");
	if (sodium_init() < 0 || !mkdtemp(dir))
		return -1;
	snprintf(db, sizeof db, "%s/k.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void owner_name(int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "client-%03d", i);
}

/* Seals one value per owner; the sealed values are kept in sealed[] when
 * given. */
static void seal_all(kt_keyring *kr, uint8_t **sealed, size_t *len)
{
	for (int i = 0; i < OWNERS; i++) {
		char owner[32];
		uint8_t *out;
		size_t n;
		owner_name(i, owner, sizeof owner);
		assert_int_equal(keyring_seal(kr, owner, "client", "allergies", owner, "pollen", 6, &out, &n), KT_OK);
		if (sealed) {
			sealed[i] = out;
			len[i] = n;
		} else
			free(out);
	}
}

static void test_working_set_of_500_owners_stays_cached(void **state)
{
	kt_keyring *kr;
	const char *msg = NULL;
	(void)state;
	assert_int_equal(keyring_open(db, true, false, &kr, &msg), KT_OK);
	seal_all(kr, NULL, NULL); /* creates the keys */
	seal_all(kr, NULL, NULL); /* reads each from the file once at most */
	uint64_t before = keyring_unwraps(kr);
	assert_true(before <= OWNERS);
	seal_all(kr, NULL, NULL);
	seal_all(kr, NULL, NULL);
	/* with one slot per hash value (1,024 of them) 120 of the 500 missed per pass */
	print_message("keys read from the file: %llu, then %llu over two more passes of %d owners\n",
		      (unsigned long long)before, (unsigned long long)(keyring_unwraps(kr) - before), OWNERS);
	assert_int_equal(keyring_unwraps(kr) - before, 0);
	keyring_close(kr);
}

static void test_destroyed_key_leaves_the_cache(void **state)
{
	kt_keyring *kr;
	const char *msg = NULL;
	static uint8_t *sealed[OWNERS];
	static size_t len[OWNERS];
	(void)state;
	assert_int_equal(keyring_open(db, true, false, &kr, &msg), KT_OK);
	seal_all(kr, sealed, len);
	seal_all(kr, NULL, NULL); /* every key now in the cache */
	assert_int_equal(keyring_destroy(kr, "client-123"), KT_OK);
	for (int i = 0; i < OWNERS; i++) {
		char owner[32], *plain = NULL;
		size_t n;
		owner_name(i, owner, sizeof owner);
		int rc = keyring_unseal(kr, "client", "allergies", owner, sealed[i], len[i], &plain, &n);
		if (i == 123)
			assert_int_equal(rc, KT_ENOT_FOUND);
		else {
			assert_int_equal(rc, KT_OK);
			assert_string_equal(plain, "pollen");
		}
		free(plain);
		free(sealed[i]);
	}
	keyring_close(kr);
}

/* An erased owner stays erased when a keyring copy from before the erasure
 * is put back: the ledger next to the master key refuses its key, never
 * makes it a new one, and keyring_apply_ledger deletes the old one. */
static void test_ledger_outlives_an_older_keyring_copy(void **state)
{
	kt_keyring *kr;
	const char *msg = NULL;
	char cmd[512], keys[128], *plain = NULL;
	uint8_t *sealed = NULL, *again = NULL;
	size_t len = 0, n;
	int destroyed = -1;
	(void)state;
	snprintf(keys, sizeof keys, "%s.keys", db);
	assert_int_equal(keyring_open(db, true, false, &kr, &msg), KT_OK);
	assert_int_equal(keyring_seal(kr, "client-1", "client", "name", "client-1", "Ana", 3, &sealed, &len), KT_OK);
	keyring_close(kr);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s/old.keys'", keys, dir);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(keyring_open(db, false, false, &kr, &msg), KT_OK);
	assert_int_equal(keyring_key_state(kr, "client-1"), KT_KEY_PRESENT);
	assert_int_equal(keyring_destroy(kr, "client-1"), KT_OK);
	assert_int_equal(keyring_key_state(kr, "client-1"), KT_KEY_ERASED);
	assert_int_equal(keyring_key_state(kr, "client-2"), KT_KEY_ABSENT);
	assert_int_equal(keyring_seal(kr, "client-1", "client", "name", "client-1", "Ana", 3, &again, &n),
			 KT_ENOT_FOUND);
	assert_null(again);
	keyring_close(kr);

	snprintf(cmd, sizeof cmd, "cp '%s/old.keys' '%s' && rm -f '%s-wal' '%s-shm'", dir, keys, keys, keys);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(keyring_open(db, false, false, &kr, &msg), KT_OK);
	assert_true(keyring_erased(kr, "client-1"));
	assert_int_equal(keyring_unseal(kr, "client", "name", "client-1", sealed, len, &plain, &n), KT_ENOT_FOUND);
	assert_null(plain);
	assert_int_equal(keyring_apply_ledger(kr, &destroyed), KT_OK);
	assert_int_equal(destroyed, 1);
	assert_int_equal(keyring_apply_ledger(kr, &destroyed), KT_OK);
	assert_int_equal(destroyed, 0);
	keyring_close(kr);
	free(sealed);
}

/* keyring_create_keys: many new owners in one commit; an owner who has a
 * key keeps it (its values still open), an erased one gets none. */
static void test_keys_for_many_owners_at_once(void **state)
{
	kt_keyring *kr;
	const char *msg = NULL, *owners[3] = {"client-000", "client-001", "client-002"};
	uint8_t *old, *v;
	size_t oldn, n, pn;
	char *plain;
	(void)state;
	assert_int_equal(keyring_open(db, true, false, &kr, &msg), KT_OK);
	assert_int_equal(keyring_seal(kr, "client-001", "client", "allergies", "client-001", "pollen", 6, &old, &oldn),
			 KT_OK);
	assert_int_equal(keyring_create_keys(kr, owners, 3), KT_OK);
	for (int i = 0; i < 3; i++)
		assert_true(keyring_has(kr, owners[i]));
	assert_int_equal(keyring_unseal(kr, "client", "allergies", "client-001", old, oldn, &plain, &pn), KT_OK);
	assert_string_equal(plain, "pollen");
	free(plain);
	assert_int_equal(keyring_seal(kr, "client-002", "client", "allergies", "client-002", "latex", 5, &v, &n), KT_OK);
	assert_int_equal(keyring_unseal(kr, "client", "allergies", "client-002", v, n, &plain, &pn), KT_OK);
	assert_string_equal(plain, "latex");
	free(plain);
	free(v);
	free(old);
	assert_int_equal(keyring_destroy(kr, "client-000"), KT_OK);
	assert_int_equal(keyring_create_keys(kr, owners, 3), KT_ENOT_FOUND);
	assert_false(keyring_has(kr, "client-000"));
	keyring_close(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_working_set_of_500_owners_stays_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroyed_key_leaves_the_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_outlives_an_older_keyring_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_for_many_owners_at_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
