/* test_sync.c - what the sync stream packs (sync.c) for a manager over a
 * demo salon: a change it may see goes out as a put, one out of reach is
 * passed over, one that moved out of reach is evicted, a deletion is a
 * delete; frames are full until the last (batch ops or soft bytes) and
 * carry a cursor at the last entry they cover; a caught-up stream sends a
 * synced only when a cursor is owed (an erasure passed is one); a snapshot
 * is full pages, then its end at the position it started from. No sockets: sync_next_frame is called as the writeable
 * callback would; change-log entries are written into the log directly. */
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
#include "fake_lws.h"
#include "kt_testdb.h"
#include "server.h"
#include "sync/cursor.h"
#include "sync/fanout.h"
#include "sync/sync.h"
#include "net/session.h"

static char db_path[256];
static kt_server srv;
static kt_session *s;
static char org[KT_UUID_LEN + 1];
static char appt_in[KT_UUID_LEN + 1], appt_out[KT_UUID_LEN + 1]; /* at a location of the manager's, and not */
static char loc_in[KT_UUID_LEN + 1], loc_out[KT_UUID_LEN + 1];
static char client_out[KT_UUID_LEN + 1]; /* a client known only away from the manager's locations */

static void one(const char *sql, const char *arg, char out[KT_UUID_LEN + 1])
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(store_db(srv.st), sql, -1, &q, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		fail_msg("the demo has no row for: %s", sql);
	snprintf(out, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

static int setup(void **state)
{
	char manager[KT_UUID_LEN + 1];
	FILE *out;
	int rc;
	(void)state;
	if (kt_testdb_open(db_path, sizeof db_path, "sync", &srv.st))
		return -1;
	out = fopen("/dev/null", "w");
	rc = demo_populate(srv.st, 1, out);
	fclose(out);
	if (rc)
		return -1;
	srv.watch_fd = -1;
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	if (fanout_init(&srv, 4096, 1024))
		return -1;
	fanout_ingest(&srv);
	one("SELECT id FROM staff WHERE role = 'manager' ORDER BY id LIMIT 1", NULL, manager);
	s = session_new(&srv, fake_wsi);
	if (!s || store_principal_load(srv.st, false, manager, &s->principal))
		return -1;
	s->signed_in = true;
	s->state = KT_SS_READY;
	snprintf(org, sizeof org, "%s", s->principal.org);
	/* (manager locations are a comma list; instr over ",list," finds one) */
	static const char in[] = "instr(',' || ?1 || ',', ',' || location_id || ',') > 0";
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT id FROM appointment WHERE %s ORDER BY id LIMIT 1", in);
	one(sql, s->principal.locs, appt_in);
	snprintf(sql, sizeof sql, "SELECT id FROM appointment WHERE NOT %s ORDER BY id LIMIT 1", in);
	one(sql, s->principal.locs, appt_out);
	one("SELECT location_id FROM appointment WHERE id = ?1", appt_in, loc_in);
	one("SELECT location_id FROM appointment WHERE id = ?1", appt_out, loc_out);
	snprintf(sql, sizeof sql,
		 "SELECT client_id FROM client_location c WHERE NOT %s AND NOT EXISTS (SELECT 1 FROM"
		 " client_location d WHERE d.client_id = c.client_id AND instr(',' || ?1 || ',', ',' ||"
		 " d.location_id || ',') > 0) ORDER BY client_id LIMIT 1",
		 in);
	one(sql, s->principal.locs, client_out);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	session_free(s);
	fake_clear_timers();
	sync_rowcache_clear(&srv);
	fanout_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
	kt_testdb_remove(db_path);
	return 0;
}

/* One change-log entry, as the store writes it with a change. */
static void log_entry(const char *o, const char *tbl, const char *id, bool deleted, const char *loc_old,
		      const char *loc_new, const char *client_old, const char *client_new)
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(store_db(srv.st),
					    "INSERT INTO changelog(org_id, tbl, row_id, op, loc_old, loc_new, client_old,"
					    " client_new, at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 0)",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, o, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, deleted ? "delete" : "put", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, loc_old, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, loc_new, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, client_old, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, client_new, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
}

typedef struct frame {
	kt_msgtype t;
	int ops, puts, evicts, deletes;
	char id[KT_UUID_LEN + 1]; /* of the last op */
	int64_t seq;              /* the cursor's position; -1: none */
	size_t size;
} frame;

static int count_op(void *user, const kt_op *op)
{
	frame *f = user;
	f->ops++;
	f->puts += op->op == KT_OP_PUT;
	f->evicts += op->op == KT_OP_EVICT;
	f->deletes += op->op == KT_OP_DELETE;
	snprintf(f->id, sizeof f->id, "%.*s", (int)op->id.len, op->id.s);
	return 0;
}

static void cursor_seq(frame *f, const kt_str *c)
{
	assert_int_equal(cursor_check(&srv, s, c->s, c->len, &f->seq), KT_OK);
}

/* What the writeable callback writes may be whole WebSocket frames (an
 * audience's changes and the synced after them, sync.c): the messages in
 * them, one per next(). */
static unsigned char pending[KT_MAX_OUT_FRAME + 64];
static size_t pending_len, pending_at;

static bool pending_message(const char **msg, size_t *len)
{
	if (pending_at + 2 > pending_len)
		return false;
	const unsigned char *h = pending + pending_at;
	size_t n, hl = sync_ws_frame(h, pending_len - pending_at, &n);
	assert_int_equal(h[0], 0x82); /* binary, final, unmasked */
	assert_true(hl > 0);
	*msg = (const char *)h + hl;
	*len = n;
	pending_at += hl + n;
	return true;
}

/* The next data message, as the writeable callback would write it; false
 * when there is none. */
static bool next(frame *f)
{
	bool have = false, raw;
	const char *msg;
	memset(f, 0, sizeof *f);
	f->seq = -1;
	if (!pending_message(&msg, &f->size)) {
		assert_int_equal(sync_next_frame(s, &have), KT_OK);
		if (!have)
			return false;
		size_t len;
		const unsigned char *data = sync_frame_data(&srv, &len, &raw);
		if (raw) {
			assert_true(len <= sizeof pending);
			memcpy(pending, data, len);
			pending_len = len;
			pending_at = 0;
			assert_true(pending_message(&msg, &f->size));
		} else {
			msg = (const char *)data;
			f->size = len;
		}
	}
	assert_true(f->size <= KT_MAX_OUT_FRAME);
	assert_int_equal(proto_msg_peek_type(msg, f->size, &f->t), KT_OK);
	if (f->t == KT_MSG_CHANGES) {
		kt_str c;
		assert_int_equal(proto_changes_decode(msg, f->size, count_op, f, &c), KT_OK);
		cursor_seq(f, &c);
	} else if (f->t == KT_MSG_PAGE) {
		assert_int_equal(proto_page_decode(msg, f->size, count_op, f), KT_OK);
	} else if (f->t == KT_MSG_SYNCED || f->t == KT_MSG_SNAPSHOT_END) {
		kt_cursor_msg m;
		assert_int_equal(f->t == KT_MSG_SYNCED ? proto_synced_decode(msg, f->size, &m)
						       : proto_snapshot_end_decode(msg, f->size, &m),
				 KT_OK);
		assert_true(m.has_cursor);
		cursor_seq(f, &m.cursor);
	} else
		fail_msg("unexpected %s", proto_msg_name(f->t));
	return true;
}

/* Stream from the head as it is now (the device is up to date). */
static void caught_up(void)
{
	frame f;
	pending_len = pending_at = 0; /* (nothing left from the test before) */
	fanout_ingest(&srv);
	sync_start_stream(s, srv.head_seq);
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_SYNCED);
	assert_int_equal(f.seq, srv.head_seq);
	assert_false(next(&f));
	assert_false(sync_has_more(s));
}

/* New entries were committed: the fan-out reads them and marks us. */
static void committed(void)
{
	fanout_ingest(&srv);
	assert_true(s->dirty);
}

static void test_visible_change_is_a_put(void **state)
{
	frame f;
	(void)state;
	caught_up();
	log_entry(org, "appointment", appt_in, false, loc_in, loc_in, "", "");
	committed();
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_CHANGES);
	assert_int_equal(f.ops, 1);
	assert_int_equal(f.puts, 1);
	assert_string_equal(f.id, appt_in);
	assert_int_equal(f.seq, srv.head_seq);
	assert_true(next(&f)); /* the changes' cursor is confirmed as caught up */
	assert_int_equal(f.t, KT_MSG_SYNCED);
	assert_int_equal(f.seq, srv.head_seq);
	assert_false(next(&f));
}

/* Out of reach, or of another organisation: nothing is sent and nothing
 * is owed (the device's cursor moves on with its next frame). */
static void test_change_out_of_reach_is_passed_over(void **state)
{
	frame f;
	(void)state;
	caught_up();
	log_entry(org, "appointment", appt_out, false, loc_out, loc_out, "", "");
	log_entry("01890000-0000-7000-8000-0000000000ff", "appointment", appt_in, false, loc_in, loc_in, "", "");
	fanout_ingest(&srv);
	s->dirty = true; /* (the fan-out does not wake us for these; read anyway) */
	assert_false(next(&f));
	assert_int_equal(s->sent_seq, srv.head_seq);
	/* the next visible change carries a cursor past them */
	log_entry(org, "appointment", appt_in, false, loc_in, loc_in, "", "");
	committed();
	assert_true(next(&f));
	assert_int_equal(f.ops, 1);
	assert_int_equal(f.seq, srv.head_seq);
}

/* A row that moved out of reach is evicted; one that came into reach is put. */
static void test_moved_out_is_evicted(void **state)
{
	char sql[256];
	frame f;
	(void)state;
	caught_up();
	snprintf(sql, sizeof sql, "UPDATE appointment SET location_id = '%s' WHERE id = '%s'", loc_out, appt_in);
	assert_int_equal(sqlite3_exec(store_db(srv.st), sql, NULL, NULL, NULL), SQLITE_OK);
	log_entry(org, "appointment", appt_in, false, loc_in, loc_out, "", "");
	committed();
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_CHANGES);
	assert_int_equal(f.ops, 1);
	assert_int_equal(f.evicts, 1);
	assert_string_equal(f.id, appt_in);

	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_SYNCED);
	assert_false(next(&f));

	snprintf(sql, sizeof sql, "UPDATE appointment SET location_id = '%s' WHERE id = '%s'", loc_in, appt_in);
	assert_int_equal(sqlite3_exec(store_db(srv.st), sql, NULL, NULL, NULL), SQLITE_OK);
	log_entry(org, "appointment", appt_in, false, loc_out, loc_in, "", "");
	committed();
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_CHANGES);
	assert_int_equal(f.ops, 1);
	assert_int_equal(f.puts, 1);
}

static void test_deletion_is_a_delete(void **state)
{
	frame f;
	(void)state;
	caught_up();
	log_entry(org, "appointment", "01890000-0000-7000-8000-00000000dead", true, loc_in, "", "", "");
	committed();
	assert_true(next(&f));
	assert_int_equal(f.ops, 1);
	assert_int_equal(f.deletes, 1);
	assert_string_equal(f.id, "01890000-0000-7000-8000-00000000dead");
}

/* An erased client out of reach: no op, but a cursor past the erasure is
 * the device's purge receipt, so a synced goes out at once. */
static void test_erasure_passed_owes_a_cursor(void **state)
{
	frame f;
	(void)state;
	caught_up();
	log_entry(org, "client", client_out, true, loc_out, "", client_out, "");
	committed();
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_SYNCED);
	assert_int_equal(f.seq, srv.head_seq);
	assert_false(next(&f));
}

/* Many changes of one row committed together: one frame names the row
 * once, as it is now (a second op would repeat the same put), and its
 * cursor passes every entry. */
static void test_same_row_once_per_frame(void **state)
{
	frame f;
	(void)state;
	caught_up();
	assert_int_equal(sqlite3_exec(store_db(srv.st), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 40; i++)
		log_entry(org, "appointment", appt_in, false, loc_in, loc_in, "", "");
	assert_int_equal(sqlite3_exec(store_db(srv.st), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	committed();
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_CHANGES);
	assert_int_equal(f.ops, 1);
	assert_int_equal(f.puts, 1);
	assert_string_equal(f.id, appt_in);
	assert_int_equal(f.seq, srv.head_seq);
	assert_true(next(&f));
	assert_int_equal(f.t, KT_MSG_SYNCED);
	assert_false(next(&f));
}

/* Many changes: every frame but the last is full (KT_BATCH_OPS ops or past
 * the soft byte limit), cursors move forward, nothing is lost. Each entry
 * is another row in reach (one row is named once per frame, above). */
static void test_batches_are_full_until_the_last(void **state)
{
	enum { N = 2 * KT_BATCH_OPS + KT_BATCH_OPS / 3 };
	static char ids[N][KT_UUID_LEN + 1];
	frame f;
	int total = 0, frames = 0, nids = 0;
	int64_t last = -1;
	bool was_short = false;
	sqlite3_stmt *q;
	(void)state;
	assert_int_equal(sqlite3_prepare_v2(store_db(srv.st),
					    "SELECT id FROM appointment WHERE location_id = ? ORDER BY id LIMIT ?", -1,
					    &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, loc_in, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, N);
	while (sqlite3_step(q) == SQLITE_ROW)
		snprintf(ids[nids++], sizeof ids[0], "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	assert_int_equal(nids, N); /* the demo has about 2,500 appointments a location */
	caught_up();
	int64_t from = srv.head_seq;
	assert_int_equal(sqlite3_exec(store_db(srv.st), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < N; i++)
		log_entry(org, "appointment", ids[i], false, loc_in, loc_in, "", "");
	assert_int_equal(sqlite3_exec(store_db(srv.st), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	committed();
	while (next(&f) && f.t == KT_MSG_CHANGES) {
		assert_false(was_short); /* a short frame only at the end */
		assert_true(f.ops <= KT_BATCH_OPS);
		was_short = f.ops < KT_BATCH_OPS && f.size < KT_OUT_SOFT_BYTES;
		assert_true(f.seq > last);
		assert_int_equal(f.seq, from + total + f.ops); /* every entry here is one op */
		last = f.seq;
		total += f.ops;
		frames++;
	}
	assert_int_equal(f.t, KT_MSG_SYNCED);
	assert_int_equal(total, N);
	assert_int_equal(last, srv.head_seq);
	assert_true(frames >= 3);
}

/* A snapshot: pages full until the last (closed at the soft byte limit),
 * as many rows as its begin announced, then its end with a cursor at the
 * position it began. */
static void test_snapshot_pages_then_end(void **state)
{
	kt_snapshot_begin b;
	frame f;
	int64_t rows = 0, pages = 0;
	(void)state;
	fanout_ingest(&srv);
	int64_t at = srv.head_seq;
	while (s->ctl_head) { /* drop what waited */
		kt_frame *c = s->ctl_head;
		s->ctl_head = c->next;
		free(c);
	}
	s->ctl_tail = NULL;
	s->nctl = 0;
	sync_start_snapshot(s);
	assert_int_equal(s->state, KT_SS_SNAPSHOT);
	assert_non_null(s->ctl_head); /* snapshot_begin goes ahead as a control frame */
	assert_int_equal(proto_snapshot_begin_decode(s->ctl_head->data + LWS_PRE, s->ctl_head->len - LWS_PRE, &b),
			 KT_OK);
	bool was_short = false;
	while (next(&f) && f.t == KT_MSG_PAGE) {
		assert_false(was_short); /* a short page only at the end */
		assert_true(f.ops > 0 && f.ops <= KT_PAGE_ROWS);
		/* closed at the row that passed the soft limit (the demo's rows are
		 * far under 4 KiB; the row limit is never reached before it) */
		assert_true(f.size < KT_OUT_SOFT_BYTES + 4096);
		was_short = f.ops < KT_PAGE_ROWS && f.size < KT_OUT_SOFT_BYTES;
		rows += f.ops;
		pages++;
	}
	assert_int_equal(f.t, KT_MSG_SNAPSHOT_END);
	assert_int_equal(f.seq, at);
	assert_int_equal(rows, (int64_t)b.total);
	assert_true(pages >= 1);
	assert_int_equal(s->state, KT_SS_STREAM);
	assert_true(next(&f)); /* the stream goes on from there */
	assert_int_equal(f.t, KT_MSG_SYNCED);
	print_message("snapshot: %lld rows in %lld pages\n", (long long)rows, (long long)pages);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_visible_change_is_a_put),
		cmocka_unit_test(test_change_out_of_reach_is_passed_over),
		cmocka_unit_test(test_moved_out_is_evicted),
		cmocka_unit_test(test_deletion_is_a_delete),
		cmocka_unit_test(test_erasure_passed_owes_a_cursor),
		cmocka_unit_test(test_same_row_once_per_frame),
		cmocka_unit_test(test_batches_are_full_until_the_last),
		cmocka_unit_test(test_snapshot_pages_then_end),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
