/* test_alloc.c - allocation failure at the Nth allocation, N = 1, 2, ...
 * until an attempt needs no more: the message decoders and the MessagePack
 * reader never allocate; the pieces of the sync path that do (loading a
 * row, a snapshot page, the change log, kt_mpw building a page) return an
 * error and leak nothing (the ASan build's LeakSanitizer checks that).
 * malloc, calloc, realloc, strdup and strndup of the code under test go
 * through the wrappers below (linked with -Wl,--wrap=...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "cli/init_demo.h"
#include "fake_lws.h"
#include "kt_proto.h"
#include "domain/policy.h"
#include "server.h"
#include "db/store.h"
#include "sync/fanout.h"
#include "sync/sync.h"
#include "net/session.h"

/* ---- the allocation hook ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strndup(const char *s, size_t n);
char *__wrap_strdup(const char *s);

static long fail_at;     /* 0: never fail */
static bool fail_after;  /* every allocation from the fail_at-th on fails, not only that one */
static long nalloc;      /* allocations since arm() */
static long nfailed;
static bool paused;      /* set-up inside an attempt: neither counted nor failed */

static void arm(long n, bool persistent)
{
	fail_at = n;
	fail_after = persistent;
	nalloc = nfailed = 0;
}

static void disarm(void) { fail_at = 0; }

static bool fail_now(void)
{
	if (paused)
		return false;
	long k = ++nalloc;
	if (fail_at && (k == fail_at || (fail_after && k > fail_at))) {
		nfailed++;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

char *__wrap_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = fail_now() ? NULL : __real_malloc(len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = 0;
	}
	return p;
}

char *__wrap_strdup(const char *s) { return __wrap_strndup(s, strlen(s)); }

/* Runs op with the Nth allocation failing, N = 1, 2, ... (each once alone,
 * once with every later one failing too) until an attempt fails nothing;
 * op asserts its own outcome from nfailed: an error when one failed. Returns
 * the allocations op makes. */
static long each_failure(void (*op)(void *), void *arg)
{
	/* once without failures first: the statement cache fills (a statement
	 * it could not cache still runs, so that failure is no error) */
	arm(0, false);
	op(arg);
	for (long n = 1;; n++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			arm(n, persistent);
			op(arg);
			disarm();
		}
		if (n > 100000)
			fail_msg("op never finishes without a failure");
		arm(0, false); /* count only */
		op(arg);
		long total = nalloc;
		if (total < n)
			return total;
	}
}

/* ---- decoders and the reader: no allocation at all ---- */

static int op_cb(void *u, const kt_op *op) { return 0; }
static int mut_cb(void *u, const kt_mut *m) { return 0; }
static int event_cb(void *u, const kt_event *e) { return 0; }
static int raw_cb(void *u, const uint8_t *map, size_t len) { return 0; }

static void decode_all(const uint8_t *b, size_t n)
{
	union {
		kt_hello hello;
		kt_welcome welcome;
		kt_login login;
		kt_resume resume;
		kt_auth_ok auth_ok;
		kt_cursor_msg cursor;
		kt_snapshot_begin snap;
		kt_error_msg error;
		kt_audit_query audit;
		kt_manage manage;
		kt_privacy privacy;
		kt_portal_invite invite;
		kt_portal_forgot forgot;
		kt_portal_set_password set_password;
		kt_change_password change_password;
		kt_portal_result portal_result;
	} m;
	kt_msgtype type;
	kt_str cursor;
	uint32_t count;
	kt_mp r;
	int rc = 0;

	rc |= proto_msg_type(b, n, 1024, &type);
	rc |= proto_msg_peek_type(b, n, &type);
	rc |= proto_find_key(b, n, "t", &r);
	rc |= proto_hello_decode(b, n, &m.hello);
	rc |= proto_welcome_decode(b, n, &m.welcome);
	rc |= proto_login_decode(b, n, &m.login);
	rc |= proto_resume_decode(b, n, &m.resume);
	rc |= proto_auth_ok_decode(b, n, &m.auth_ok);
	rc |= proto_sync_decode(b, n, &m.cursor);
	rc |= proto_ack_decode(b, n, &m.cursor);
	rc |= proto_snapshot_end_decode(b, n, &m.cursor);
	rc |= proto_synced_decode(b, n, &m.cursor);
	rc |= proto_snapshot_begin_decode(b, n, &m.snap);
	rc |= proto_error_decode(b, n, &m.error);
	rc |= proto_page_decode(b, n, op_cb, NULL);
	rc |= proto_changes_decode(b, n, op_cb, NULL, &cursor);
	rc |= proto_push_decode(b, n, mut_cb, NULL, &count);
	rc |= proto_push_events_decode(b, n, event_cb, NULL);
	rc |= proto_push_result_decode(b, n, raw_cb, NULL);
	rc |= proto_audit_query_decode(b, n, &m.audit);
	rc |= proto_audit_result_decode(b, n, raw_cb, NULL);
	rc |= proto_manage_decode(b, n, &m.manage);
	rc |= proto_manage_result_decode(b, n, raw_cb, NULL);
	rc |= proto_privacy_decode(b, n, &m.privacy);
	rc |= proto_portal_invite_decode(b, n, &m.invite);
	rc |= proto_portal_forgot_decode(b, n, &m.forgot);
	rc |= proto_portal_set_password_decode(b, n, &m.set_password);
	rc |= proto_change_password_decode(b, n, &m.change_password);
	rc |= proto_portal_result_decode(b, n, &m.portal_result);
	rc |= kt_mp_validate(b, n, 32, 1 << 20);
	kt_mp_init(&r, b, n);
	while (!kt_mp_at_end(&r) && kt_mp_skip(&r, 32) == KT_OK)
		;
	(void)rc; /* most inputs are not the message a decoder wants */
}

/* Every input of the proto fuzz corpus (valid messages of every type and
 * the hostile shapes) through every decoder, with every allocation failing:
 * none is attempted. */
static void test_decoders_never_allocate(void **state)
{
	char dir[512], path[1024];
	snprintf(dir, sizeof dir, "%s/../fuzz/corpus/proto", KT_TEST_DATA);
	DIR *d = opendir(dir);
	assert_non_null(d);
	uint8_t *buf = __real_malloc(1 << 20);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		size_t n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		arm(1, true);
		decode_all(buf, n);
		if (n)
			decode_all(buf + 1, n - 1); /* without the fuzz target's option byte */
		disarm();
		assert_int_equal(nalloc, 0);
		files++;
	}
	closedir(d);
	free(buf);
	assert_true(files > 100);
}

/* ---- the sync path ---- */

static char db_path[64];
static kt_store *st;
static char ids[5][37]; /* client, appointment, visit, staff (manager), location */
static const char *const id_tables[5] = {"client", "appointment", "visit", "staff", "location"};
static kt_principal mgr;

static int setup(void **state)
{
	const char *msg;
	sqlite3 *db;
	snprintf(db_path, sizeof db_path, "/tmp/kt-test-alloc-%d.db", getpid());
	unlink(db_path);
	if (store_open(db_path, KT_STORE_CREATE, &st, &msg))
		return -1;
	FILE *out = fopen("/dev/null", "w");
	int rc = demo_populate(st, 1, out);
	fclose(out);
	if (rc || sqlite3_open(db_path, &db) != SQLITE_OK)
		return -1;
	static const char *const q[5] = {
		"SELECT id FROM client ORDER BY id LIMIT 1", "SELECT id FROM appointment ORDER BY id LIMIT 1",
		"SELECT id FROM visit ORDER BY id LIMIT 1", "SELECT id FROM staff WHERE role = 'manager' ORDER BY id LIMIT 1",
		"SELECT id FROM location ORDER BY id LIMIT 1"};
	for (int i = 0; i < 5; i++) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(db, q[i], -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
			return -1;
		snprintf(ids[i], sizeof ids[i], "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return store_principal_load(st, false, ids[3], &mgr) ? -1 : 0;
}

static int teardown(void **state)
{
	kt_principal_free(&mgr);
	store_close(st);
	char p[80];
	static const char *const suffix[] = {"", "-wal", "-shm", ".key", ".keys", ".keys-wal", ".keys-shm"};
	for (int i = 0; i < 7; i++) {
		snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
		unlink(p);
	}
	return 0;
}

static void op_row_load(void *arg)
{
	int i = *(int *)arg;
	kt_row row;
	int rc = store_row_load(st, kt_table_find(id_tables[i], strlen(id_tables[i])), ids[i], &row);
	if (nfailed) {
		if (rc == KT_OK)
			fail_msg("store_row_load(%s) succeeded with allocation %ld failed (%s)", id_tables[i], fail_at,
				 fail_after ? "and all later" : "alone");
		assert_null(row.v);
		assert_null(row.locs);
	} else {
		assert_int_equal(rc, KT_OK);
		assert_string_equal(row.v[0].s, ids[i]);
		assert_non_null(row.locs);
	}
	kt_row_free(&row);
}

static void test_row_load_under_oom(void **state)
{
	for (int i = 0; i < 5; i++) {
		long n = each_failure(op_row_load, &i);
		print_message("store_row_load(%s): %ld allocations, each failed in turn\n", id_tables[i], n);
		assert_true(n > 0);
	}
}

struct page {
	kt_mpw body;
	uint32_t n;
};

static int page_row(void *user, const kt_row *row)
{
	struct page *p = user;
	proto_put_begin(&p->body, false, row->t->name, row->v[0].s, row->version, 1);
	kt_mpw_str(&p->body, row->t->cols[0].name);
	kt_mpw_str(&p->body, row->v[0].s);
	p->n++;
	return 0;
}

/* One snapshot page of clients for a manager, as sync.c builds it. */
static void op_snapshot_page(void *arg)
{
	const kt_table *t = kt_table_find("client", 6);
	struct page p = {.n = 0};
	kt_mpw frame;
	char last[KT_UUID_LEN + 1];
	int n = 0;
	kt_mpw_init(&p.body);
	kt_mpw_init(&frame);
	int rc = store_snapshot_page(st, t, policy_snapshot_where(&mgr, t), mgr.id, mgr.org, "", 50, page_row, &p,
				     last, &n);
	if (!rc) {
		proto_page_encode(&frame, p.n, p.body.sb.data, p.body.sb.size);
		rc = frame.err ? frame.err : p.body.err;
	}
	if (nfailed)
		assert_int_not_equal(rc, KT_OK);
	else {
		assert_int_equal(rc, KT_OK);
		assert_int_equal(p.n, 50);
		kt_mpw_reset(&p.body);
	}
	kt_mpw_free(&p.body);
	kt_mpw_free(&frame);
}

static void test_snapshot_page_under_oom(void **state)
{
	long n = each_failure(op_snapshot_page, NULL);
	print_message("a snapshot page of 50 clients: %ld allocations, each failed in turn\n", n);
}

static void op_log_read(void *arg)
{
	kt_log_entry es[64];
	int n = 0;
	int rc = store_log_read(st, 0, es, 64, &n);
	if (nfailed && rc == KT_OK)
		fail_msg("store_log_read succeeded with allocation %ld failed (%s)", fail_at,
			 fail_after ? "and all later" : "alone");
	if (nfailed)
		assert_int_not_equal(rc, KT_OK);
	else {
		assert_int_equal(rc, KT_OK);
		assert_int_equal(n, 64);
	}
	for (int i = 0; i < n; i++)
		kt_log_entry_free(&es[i]);
}

static void test_log_read_under_oom(void **state)
{
	long n = each_failure(op_log_read, NULL);
	print_message("store_log_read of 64 entries: %ld allocations, each failed in turn\n", n);
}

/* kt_mpw: a failed allocation sticks as KT_ENOMEM, the buffer stays valid */
static void op_mpw(void *arg)
{
	kt_mpw w;
	kt_mpw_init(&w);
	for (int i = 0; i < 2000; i++) {
		kt_mpw_str(&w, "a value long enough to make the buffer grow");
		kt_mpw_int(&w, i);
	}
	assert_int_equal(w.err, nfailed ? KT_ENOMEM : KT_OK);
	kt_mpw_free(&w);
}

static void test_mpw_under_oom(void **state)
{
	long n = each_failure(op_mpw, NULL);
	print_message("kt_mpw, 2000 values: %ld allocations, each failed in turn\n", n);
}

/* ---- a session streaming the change log (sync.c, fan-out, row cache) ---- */

static kt_server srv;
static long stream_ops = -1; /* what the stream sends when nothing fails */

static int count_op(void *user, const kt_op *op)
{
	(*(long *)user)++;
	return 0;
}

/* A manager's device 80 entries behind: the first entries come from SQLite
 * (the ring holds only the last 32), the rest from the ring; each row once
 * through the fan-out row cache. An error ends the connection (session.c),
 * so what counts is: no crash, no leak, no frame when it failed. */
static void op_stream(void *arg)
{
	kt_session *s = arg;
	bool have = true;
	int rc = KT_OK, frames = 0;
	long ops = 0;
	kt_str cur;
	paused = true;
	sync_rowcache_clear(&srv);
	sync_start_stream(s, srv.head_seq - 80);
	paused = false;
	while (have && frames < 8) {
		if ((rc = sync_next_frame(s, &have)))
			break;
		if (!have)
			break;
		/* a whole valid message, or whole WebSocket frames of them (sync.c) */
		bool raw;
		size_t len, at = 0;
		const unsigned char *data = sync_frame_data(&srv, &len, &raw);
		assert_true(len > 0);
		while (at < len) {
			const char *msg = (const char *)data + at;
			size_t mlen = len;
			kt_msgtype t;
			if (raw) {
				const unsigned char *h = data + at;
				size_t n, hl = sync_ws_frame(h, len - at, &n);
				assert_int_equal(h[0], 0x82);
				assert_true(hl > 0);
				msg = (const char *)h + hl;
				mlen = n;
				at += hl + n;
			} else
				at = len;
			assert_int_equal(kt_mp_validate(msg, mlen, KT_MAX_DEPTH, KT_MAX_OUT_FRAME), KT_OK);
			assert_int_equal(proto_msg_peek_type(msg, mlen, &t), KT_OK);
			assert_true(t == KT_MSG_CHANGES || t == KT_MSG_SYNCED);
			paused = true;
			if (t == KT_MSG_CHANGES)
				assert_int_equal(proto_changes_decode(msg, mlen, count_op, &ops, &cur), KT_OK);
			paused = false;
			frames++;
		}
	}
	if (!nfailed) {
		assert_int_equal(rc, KT_OK);
		assert_true(s->sent_seq == srv.head_seq && frames == 2); /* changes, synced */
		if (stream_ops < 0)
			stream_ops = ops;
	}
	/* a failure either ends it with an error or changes nothing the device gets */
	if (!rc && s->sent_seq == srv.head_seq)
		assert_int_equal(ops, stream_ops);
}

static kt_session *server_up(bool is_client, const char *who)
{
	const char *msg;
	kt_store *lst; /* cursors signed with a zero key: init made none here */
	assert_int_equal(store_open(db_path, 0, &lst, &msg), KT_OK);
	memset(&srv, 0, sizeof srv);
	srv.st = lst;
	srv.watch_fd = -1;
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	assert_int_equal(fanout_init(&srv, 32, 1024), KT_OK);
	fanout_ingest(&srv);
	assert_true(srv.head_seq > 100);
	kt_session *s = session_new(&srv, fake_wsi);
	assert_non_null(s);
	s->signed_in = true;
	assert_int_equal(store_principal_load(lst, is_client, who, &s->principal), KT_OK);
	return s;
}

static void server_down(kt_session *s)
{
	session_free(s);
	fake_clear_timers();
	sync_rowcache_clear(&srv);
	fanout_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
}

static void test_stream_under_oom(void **state)
{
	kt_session *s = server_up(false, mgr.id);
	long n = each_failure(op_stream, s);
	print_message("a manager's stream of 80 log entries: %ld allocations, each failed in turn\n", n);
	server_down(s);
}

static long snapshot_rows = -1; /* what the snapshot sends when nothing fails */

/* A client's whole snapshot (their own card, appointments, visits...):
 * pages, then snapshot_end; an error or exactly the rows of a clean run. */
static void op_snapshot(void *arg)
{
	kt_session *s = arg;
	bool have = true;
	int rc = KT_OK, frames = 0;
	long rows = 0;
	bool ended = false;
	paused = true;
	sync_start_snapshot(s);
	paused = false;
	while (have && !ended && frames < 16) {
		if ((rc = sync_next_frame(s, &have)))
			break;
		if (have) {
			const char *msg = srv.frame.sb.data + LWS_PRE;
			size_t len = srv.frame.sb.size - LWS_PRE;
			kt_msgtype t;
			assert_true(srv.frame.sb.size > LWS_PRE);
			assert_int_equal(kt_mp_validate(msg, len, KT_MAX_DEPTH, KT_MAX_OUT_FRAME), KT_OK);
			assert_int_equal(proto_msg_peek_type(msg, len, &t), KT_OK);
			assert_true(t == KT_MSG_PAGE || t == KT_MSG_SNAPSHOT_END);
			paused = true;
			if (t == KT_MSG_PAGE)
				assert_int_equal(proto_page_decode(msg, len, count_op, &rows), KT_OK);
			paused = false;
			ended = t == KT_MSG_SNAPSHOT_END;
			frames++;
		}
	}
	if (!nfailed) {
		assert_int_equal(rc, KT_OK);
		assert_true(ended && rows > 0);
		if (snapshot_rows < 0)
			snapshot_rows = rows;
	}
	if (!rc && ended)
		assert_int_equal(rows, snapshot_rows);
}

static void test_snapshot_under_oom(void **state)
{
	kt_session *s = server_up(true, ids[0]);
	long n = each_failure(op_snapshot, s);
	print_message("a client's snapshot (%ld rows): %ld allocations, each failed in turn\n", snapshot_rows, n);
	server_down(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoders_never_allocate),
		cmocka_unit_test(test_mpw_under_oom),
		cmocka_unit_test(test_row_load_under_oom),
		cmocka_unit_test(test_snapshot_page_under_oom),
		cmocka_unit_test(test_log_read_under_oom),
		cmocka_unit_test(test_stream_under_oom),
		cmocka_unit_test(test_snapshot_under_oom),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
