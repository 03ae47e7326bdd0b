/* test_after_commit.c - after a commit the loop runs its steps in order:
 * a revocation closes the connection first, so the fan-out of the same
 * commit never wakes a revoked device to be sent one more change. A
 * session in memory on a scratch database (the fuzzers' libwebsockets
 * stand-ins: no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sync/after_commit.h"
#include "fake_lws.h"
#include "kt_testdb.h"
#include "domain/revoke.h"
#include "sync/fanout.h"
#include "net/session.h"

static char path[64];
static kt_server srv;
static char org[37], loc[37], owner[37];

static int setup(void **state)
{
	(void)state;
	memset(&srv, 0, sizeof srv);
	assert_int_equal(kt_testdb_open(path, sizeof path, "after_commit", &srv.st), KT_OK);
	srv.watch_fd = -1;
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	kt_uuid7(org);
	kt_uuid7(loc);
	kt_uuid7(owner);
	kt_field o[] = {{"name", "Org"}};
	assert_int_equal(store_insert(srv.st, "organisation", org, NULL, o, 1, NULL), KT_OK);
	kt_field l[] = {{"name", "A"}, {"time_zone", "Europe/Ljubljana"}};
	assert_int_equal(store_insert(srv.st, "location", loc, org, l, 2, NULL), KT_OK);
	kt_field o2[] = {{"display_name", "Maja"}, {"email", "maja@x.example"}, {"role", "owner"}};
	assert_int_equal(store_insert(srv.st, "staff", owner, org, o2, 3, NULL), KT_OK);
	assert_int_equal(fanout_init(&srv, 32, 1024), KT_OK);
	srv.revoke_seq = revoke_last_seq(srv.st);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	while (srv.sessions)
		session_free(srv.sessions);
	fake_clear_timers();
	fanout_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
	kt_testdb_remove(path);
	return 0;
}

/* An owner's device, signed in and streaming: every change of the org concerns it. */
static kt_session *streaming_owner(void)
{
	kt_session *s = session_new(&srv, fake_wsi);
	assert_non_null(s);
	kt_uuid7(s->device);
	assert_int_equal(store_device_seen(srv.st, s->device, false, owner, "test"), KT_OK);
	s->signed_in = true;
	snprintf(s->principal.id, sizeof s->principal.id, "%s", owner);
	snprintf(s->principal.org, sizeof s->principal.org, "%s", org);
	s->principal.role = KT_ROLE_OWNER;
	s->principal.locs = strdup("*");
	s->principal.active = true;
	s->state = KT_SS_STREAM;
	fanout_index(s);
	return s;
}

static void new_client(void)
{
	char id[37];
	kt_field c[] = {{"name", "Ana"}};
	kt_uuid7(id);
	assert_int_equal(store_insert(srv.st, "client", id, org, c, 1, NULL), KT_OK);
}

/* The control: the change alone wakes the device (else the test below proves nothing). */
static void test_a_change_wakes_a_streaming_device(void **state)
{
	(void)state;
	kt_session *s = streaming_owner();
	new_client();
	after_commit(&srv);
	assert_true(s->dirty);
	assert_int_equal(s->state, KT_SS_STREAM);
}

static void test_revocation_closes_before_the_fanout_wakes(void **state)
{
	(void)state;
	kt_session *s = streaming_owner();
	assert_int_equal(revoke_device(srv.st, s->device), KT_OK);
	new_client(); /* committed with (after) the revocation, seen by the same wake-up */
	after_commit(&srv);
	assert_int_equal(s->state, KT_SS_CLOSING);
	assert_false(s->dirty); /* closed first: not woken to be sent the client */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_change_wakes_a_streaming_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_closes_before_the_fanout_wakes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
