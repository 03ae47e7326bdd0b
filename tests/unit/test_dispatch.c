/* test_dispatch.c - session dispatch (dispatch.c, session_on_message): for
 * every message type in every session state, whether it is handled or the
 * exact error it is refused with, written out here by hand so that a change
 * of the table shows up as a change of this matrix; every type's handler;
 * and that a signed-in request is judged with the rights of now. A session
 * without sockets (tests/fuzz/fake_lws.c) over a demo database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "cli/init_demo.h"
#include "net/dispatch.h"
#include "fake_lws.h"
#include "kt_testdb.h"
#include "server.h"
#include "sync/rights.h"
#include "sync/fanout.h"
#include "handlers/handlers.h"
#include "net/session.h"

static char db_path[256];
static kt_server srv;
static char manager[KT_UUID_LEN + 1];

/* the frames the session wrote, newest last */
static unsigned char written[8][1024];
static size_t written_len[8];
static int nwritten;

static void on_write(const unsigned char *buf, size_t len)
{
	assert_true(nwritten < 8 && len <= sizeof written[0]);
	memcpy(written[nwritten], buf, len);
	written_len[nwritten++] = len;
}

static int setup(void **state)
{
	sqlite3_stmt *q;
	FILE *out;
	int rc;
	(void)state;
	if (kt_testdb_open(db_path, sizeof db_path, "dispatch", &srv.st))
		return -1;
	out = fopen("/dev/null", "w");
	rc = demo_populate(srv.st, 1, out);
	fclose(out);
	if (rc || sqlite3_prepare_v2(store_db(srv.st), "SELECT id FROM staff WHERE role = 'manager' ORDER BY id LIMIT 1",
				     -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return -1;
	}
	snprintf(manager, sizeof manager, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	srv.watch_fd = -1;
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	fake_on_write = on_write;
	return fanout_init(&srv, 32, 1024);
}

static int teardown(void **state)
{
	(void)state;
	fake_on_write = NULL;
	fanout_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
	kt_testdb_remove(db_path);
	return 0;
}

static kt_session *session_in(kt_sess_state st)
{
	kt_session *s = session_new(&srv, fake_wsi);
	assert_non_null(s);
	s->state = st;
	s->signed_in = st == KT_SS_READY || st == KT_SS_SNAPSHOT || st == KT_SS_STREAM;
	return s;
}

static void session_done(kt_session *s)
{
	session_free(s);
	fake_clear_timers();
}

/* Send s one message and write what it queued; returns how many frames. */
static int send_msg(kt_session *s, const kt_mpw *msg)
{
	nwritten = 0;
	assert_int_equal(session_on_message(s, (const unsigned char *)msg->sb.data, msg->sb.size), 0);
	while (s->ctl_head)
		assert_int_equal(session_on_writeable(s), 0);
	return nwritten;
}

/* {"t": name} */
static void bare(kt_mpw *w, const char *name)
{
	kt_mpw_reset(w);
	kt_mpw_map(w, 1);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, name);
}

static void assert_error(int i, const char *code, const char *msg, const char *re, bool fatal)
{
	kt_error_msg e;
	assert_int_equal(proto_error_decode(written[i], written_len[i], &e), KT_OK);
	if (e.code.len != strlen(code) || memcmp(e.code.s, code, e.code.len))
		fail_msg("error code %.*s, expected %s (re %s)", (int)e.code.len, e.code.s, code, re);
	assert_int_equal(e.msg.len, strlen(msg));
	assert_memory_equal(e.msg.s, msg, e.msg.len);
	assert_non_null(e.re.s);
	assert_int_equal(e.re.len, strlen(re));
	assert_memory_equal(e.re.s, re, e.re.len);
	assert_int_equal(e.fatal, fatal);
}

/* The states in order HELLO, AUTH, AUTH_PENDING, READY, SNAPSHOT, STREAM
 * (a session is signed in in the last three): '+' handled; else refused,
 * not fatally, with U unauthenticated, B busy ("a sign-in is being
 * checked"), S bad_state ("message not allowed now"), T unknown_type ("a
 * server-to-device message type"). */
static const struct {
	kt_msgtype t;
	const char *in;
} matrix[] = {
	{KT_MSG_HELLO, "+SBSSS"},
	{KT_MSG_LOGIN, "S+BSSS"},
	{KT_MSG_RESUME, "S+BSSS"},
	{KT_MSG_SYNC, "UUU+SS"},
	{KT_MSG_ACK, "UUU+++"},
	{KT_MSG_PUSH, "UUU+++"},
	{KT_MSG_AUDIT_QUERY, "UUU+++"},
	{KT_MSG_LOGOUT, "UUU+++"},
	{KT_MSG_MANAGE, "UUU+++"},
	{KT_MSG_PRIVACY, "UUU+++"},
	{KT_MSG_PORTAL_INVITE, "UUB+++"},
	{KT_MSG_CHANGE_PASSWORD, "UUB+++"},
	{KT_MSG_PORTAL_FORGOT, "S+BSSS"},
	{KT_MSG_PORTAL_SET_PASSWORD, "S+BSSS"},
	{KT_MSG_PORTAL_CONFIRM_EMAIL, "S+BSSS"},
	{KT_MSG_LINK, "S+BSSS"},
	{KT_MSG_WELCOME, "TTBTTT"},
	{KT_MSG_AUTH_OK, "TTBTTT"},
	{KT_MSG_SNAPSHOT_BEGIN, "TTBTTT"},
	{KT_MSG_PAGE, "TTBTTT"},
	{KT_MSG_SNAPSHOT_END, "TTBTTT"},
	{KT_MSG_CHANGES, "TTBTTT"},
	{KT_MSG_SYNCED, "TTBTTT"},
	{KT_MSG_ERROR, "TTBTTT"},
	{KT_MSG_PUSH_RESULT, "TTBTTT"},
	{KT_MSG_AUDIT_RESULT, "TTBTTT"},
	{KT_MSG_MANAGE_RESULT, "TTBTTT"},
	{KT_MSG_PRIVACY_RESULT, "TTBTTT"},
	{KT_MSG_PORTAL_RESULT, "TTTTTT"},
	{KT_MSG_LINK_RESULT, "TTBTTT"},
};
#define NMATRIX (sizeof matrix / sizeof matrix[0])

static void test_matrix_names_every_type(void **state)
{
	(void)state;
	assert_int_equal(NMATRIX, KT_MSG_COUNT - 1);
	for (int t = 1; t < KT_MSG_COUNT; t++) {
		size_t i = 0;
		while (i < NMATRIX && matrix[i].t != (kt_msgtype)t)
			i++;
		if (i == NMATRIX)
			fail_msg("message %s has no line in the matrix", proto_msg_name(t));
	}
}

/* Every message type in every state, through session_on_message: the
 * refusals exactly, and nothing else written and no state changed. */
static void test_refusals_by_state(void **state)
{
	kt_mpw w;
	int refused = 0;
	(void)state;
	kt_mpw_init(&w);
	for (size_t i = 0; i < NMATRIX; i++) {
		const char *name = proto_msg_name(matrix[i].t);
		bare(&w, name);
		for (int st = KT_SS_HELLO; st <= KT_SS_STREAM; st++) {
			char want = matrix[i].in[st];
			const char *why;
			kt_session *s;
			int rc = dispatch_refusal(dispatch_find(matrix[i].t), st, st >= KT_SS_READY, &why);
			if (want == '+') {
				if (rc)
					fail_msg("%s refused in state %d (%s), expected handled", name, st, kt_err_name(rc));
				continue;
			}
			s = session_in(st);
			assert_int_equal(send_msg(s, &w), 1);
			switch (want) {
			case 'U': assert_error(0, "unauthenticated", kt_strerror(KT_EUNAUTH), name, false); break;
			case 'B': assert_error(0, "busy", "a sign-in is being checked", name, false); break;
			case 'S': assert_error(0, "bad_state", "message not allowed now", name, false); break;
			case 'T': assert_error(0, "unknown_type", "a server-to-device message type", name, false); break;
			default: fail_msg("matrix: %c", want);
			}
			assert_int_equal(s->state, st);
			assert_false(s->close_now);
			session_done(s);
			refused++;
		}
	}
	print_message("%d refusals checked\n", refused);
	kt_mpw_free(&w);
}

/* Once a fatal error is queued nothing more is answered, whatever comes. */
static void test_closing_answers_nothing(void **state)
{
	kt_mpw w;
	(void)state;
	kt_mpw_init(&w);
	for (int t = 1; t < KT_MSG_COUNT; t++) {
		kt_session *s = session_in(KT_SS_CLOSING);
		bare(&w, proto_msg_name(t));
		assert_int_equal(send_msg(s, &w), 0);
		assert_int_equal(s->state, KT_SS_CLOSING);
		session_done(s);
	}
	kt_mpw_free(&w);
}

/* The handler of each type, as the table holds it. */
static void test_each_type_has_its_handler(void **state)
{
	static const struct {
		kt_msgtype t;
		kt_handler h;
	} want[] = {
		{KT_MSG_HELLO, handle_hello},
		{KT_MSG_LOGIN, handle_login},
		{KT_MSG_RESUME, handle_resume},
		{KT_MSG_SYNC, handle_sync},
		{KT_MSG_ACK, handle_ack},
		{KT_MSG_PUSH, handle_push},
		{KT_MSG_AUDIT_QUERY, handle_audit_query},
		{KT_MSG_LOGOUT, handle_logout},
		{KT_MSG_MANAGE, handle_manage},
		{KT_MSG_PRIVACY, handle_privacy},
		{KT_MSG_PORTAL_INVITE, handle_portal_invite},
		{KT_MSG_PORTAL_FORGOT, handle_portal_forgot},
		{KT_MSG_PORTAL_SET_PASSWORD, handle_portal_set_password},
		{KT_MSG_PORTAL_CONFIRM_EMAIL, handle_portal_confirm_email},
		{KT_MSG_CHANGE_PASSWORD, handle_change_password},
		{KT_MSG_LINK, handle_link},
	};
	(void)state;
	for (int t = 1; t < KT_MSG_COUNT; t++) {
		const kt_dispatch *d = dispatch_find(t);
		kt_handler h = NULL;
		assert_int_equal(d->type, t);
		for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
			if (want[i].t == (kt_msgtype)t)
				h = want[i].h;
		if (d->handle != h)
			fail_msg("message %s goes to the wrong handler", proto_msg_name(t));
		/* a row accepted in some state has a handler to go to */
		assert_true(!d->states || d->handle);
	}
	/* a type without a row is accepted nowhere */
	assert_int_equal(dispatch_find(KT_MSG_UNKNOWN)->states, 0);
	assert_int_equal(dispatch_find(KT_MSG_COUNT)->states, 0);
	assert_null(dispatch_find(KT_MSG_COUNT)->handle);
}

/* A hello goes to handle_hello: the welcome, and the session waits for a sign-in. */
static void test_hello_is_handled(void **state)
{
	kt_hello h = {.versions = 1u << KT_PROTO_VERSION};
	kt_mpw w;
	kt_msgtype t;
	(void)state;
	h.device.s = "01890000-0000-7000-8000-0000000000d1";
	h.device.len = strlen(h.device.s);
	h.app.s = "test_dispatch";
	h.app.len = strlen(h.app.s);
	kt_mpw_init(&w);
	proto_hello_encode(&w, &h);
	kt_session *s = session_in(KT_SS_HELLO);
	assert_int_equal(send_msg(s, &w), 1);
	assert_int_equal(proto_msg_peek_type(written[0], written_len[0], &t), KT_OK);
	assert_int_equal(t, KT_MSG_WELCOME);
	assert_int_equal(s->state, KT_SS_AUTH);
	session_done(s);
	kt_mpw_free(&w);
}

static kt_session *manager_session(kt_sess_state st)
{
	kt_session *s = session_in(st);
	s->rights_gen = store_rights_gen(srv.st);
	assert_true(s->rights_gen >= 0);
	assert_int_equal(store_principal_load(srv.st, false, manager, &s->principal), KT_OK);
	return s;
}

static void set_manager_active(int active)
{
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE staff SET active = %d WHERE id = '%s'", active, manager);
	assert_int_equal(sqlite3_exec(store_db(srv.st), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A signed-in request is judged with the rights of now: an account
 * deactivated since the session read it is ended before the handler runs;
 * with the rights unchanged the handler answers. */
static void test_rights_read_again_before_a_request(void **state)
{
	kt_mpw w;
	(void)state;
	kt_mpw_init(&w);
	bare(&w, "ack");

	kt_session *s = manager_session(KT_SS_READY);
	assert_int_equal(send_msg(s, &w), 1);
	assert_error(0, "malformed", "ack needs a cursor (bin)", "ack", false); /* handle_ack's own answer */
	session_done(s);

	s = manager_session(KT_SS_STREAM);
	set_manager_active(0);
	assert_int_equal(send_msg(s, &w), 1);
	assert_error(0, "revoked", "the account was deactivated", "ack", true);
	assert_int_equal(s->state, KT_SS_CLOSING);
	session_done(s);

	/* the state is checked first: a refused message is refused as such */
	s = manager_session(KT_SS_STREAM);
	s->rights_gen--; /* as if read before the deactivation */
	bare(&w, "sync");
	assert_int_equal(send_msg(s, &w), 1);
	assert_error(0, "bad_state", "message not allowed now", "sync", false);
	session_done(s);

	set_manager_active(1);
	kt_mpw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_names_every_type),
		cmocka_unit_test(test_refusals_by_state),
		cmocka_unit_test(test_closing_answers_nothing),
		cmocka_unit_test(test_each_type_has_its_handler),
		cmocka_unit_test(test_hello_is_handled),
		cmocka_unit_test(test_rights_read_again_before_a_request),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
