/* fuzz_client.c - the reference client's handling of server messages
 * (kc_sync_message in clients/reference-c/kc_sync.c) with a real cache in a
 * temporary directory per process. Input: one flags byte, then server
 * messages as frames (fuzz_common.h). A message the client refuses ends the
 * connection, as kc_conn.c does; the next frames arrive on a new one. With
 * F_WIRE the frames are instead reads from a ws:// connection after its
 * upgrade, WebSocket frames and all, through kc_ws_rx (kc_ws.c).
 * Checks: no transaction is left open after a message, and everything the
 * client queues for the server is one valid device-to-server message. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fake_lws.h"
#include "fuzz_common.h"
#include "kc_internal.h"

/* flags byte */
#define F_SIGNED_IN 0x01  /* signed in and sync sent (rows may come) */
#define F_SNAPSHOT 0x02   /* inside a snapshot */
#define F_PUSHING 0x04    /* a push (of the three queued edits) waits for its result */
#define F_LOGIN 0x08      /* kc_login's connection */
#define F_FOREVER 0x10    /* KC_FOREVER rather than KC_UNTIL_SYNCED */
#define F_CURSOR 0x20     /* the cache holds a cursor */
#define F_WIRE 0x40       /* frames are reads of a ws:// connection: kc_ws.c unframes them */
#define MAX_CONNECTIONS 8 /* reconnects per input */

/* The cache every input starts from: signed in as the principal the seeds'
 * auth_ok names, one row with a queued update, a queued create, a queued
 * update of a row the cache lacks, and a view event. The ids are those of
 * gen_corpus.py's made-up Ids. */
#define C1 "01890000-0000-7000-8000-0000000000c1"
#define NEW "01890000-0000-7000-8000-00000000f001"
#define APPT "01890000-0000-7000-8000-0000000000e1"
static const char reset_sql[] =
	"BEGIN IMMEDIATE;"
	"DELETE FROM rows; DELETE FROM queue; DELETE FROM events; DELETE FROM rejections;"
	"DELETE FROM meta WHERE key <> 'device_id';"
	"INSERT INTO meta VALUES('token', '" "0101010101010101010101010101010101010101010101010101010101010101" "'),"
	" ('principal_id', '01890000-0000-7000-8000-0000000000b1'), ('server', 'ws://127.0.0.1:9/');"
	"INSERT INTO rows VALUES('client', '" C1 "', 3, 0, '{\"name\":\"Ana\",\"phone\":\"1\"}'),"
	" ('client', '" NEW "', 0, 0, '{\"name\":\"New\"}');"
	"INSERT INTO queue(mid, tbl, id, op, base, fields, before, at) VALUES"
	" (1, 'client', '" C1 "', 'update', 3, '{\"phone\":\"2\",\"tags\":[\"x\"]}', '{\"name\":\"Ana\",\"phone\":\"1\"}', 0),"
	" (2, 'client', '" NEW "', 'create', 0, '{\"name\":\"New\"}', NULL, 0),"
	" (3, 'appointment', '" APPT "', 'update', 1, '{\"status\":\"cancelled\",\"n\":null,\"b\":true,\"r\":1.5}', NULL, 0);"
	"INSERT INTO events(n, kind, tbl, id, at) VALUES(1, 'viewed', 'client', '" C1 "', 0);"
	"COMMIT;";
/* the cursor of the seeds: bytes 0..40 */
static const char cursor_sql[] =
	"INSERT OR REPLACE INTO meta VALUES('cursor', "
	"'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728')";

static kc_client *c;
static char dir[256];
static bool verbose; /* KT_FUZZ_VERBOSE set: say what each frame did (for triage) */

static void on_op(void *user, int op, const char *tbl, const char *id, int64_t v)
{
	(void)user;
	FUZZ_CHECK(tbl && id && (op == KC_OP_PUT || v == 0));
}

static void on_progress(void *user, int64_t done, int64_t total)
{
	(void)user;
	FUZZ_CHECK(done >= 0 && total >= 0);
}

static void on_state(void *user, int state, const char *code, const char *msg)
{
	(void)user, (void)msg;
	FUZZ_CHECK(state >= KC_ST_CONNECTING && state <= KC_ST_ERROR);
	FUZZ_CHECK((state == KC_ST_ERROR) == (code != NULL));
}

static void cleanup(void)
{
	static const char *const files[] = {"cache.db", "cache.db-wal", "cache.db-shm", "lock"};
	char path[sizeof dir + 32];
	kc_close(c);
	c = NULL;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void setup(void)
{
	const char *tmp = fuzz_tmpdir();
	char err[512];
	kc_callbacks cb = {on_op, on_progress, on_state, NULL};
	snprintf(dir, sizeof dir, "%s/kt-fuzz-client-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		perror("fuzz_client: mkdtemp");
		abort();
	}
	if (!(c = kc_open(dir, err, sizeof err))) {
		fprintf(stderr, "fuzz_client: kc_open: %s\n", err);
		abort();
	}
	kc_set_callbacks(c, &cb);
	verbose = getenv("KT_FUZZ_VERBOSE") != NULL;
	atexit(cleanup);
}

/* What the client queued for the server: each must be one whole valid
 * message of a type a device sends. */
static void drain(void)
{
	while (c->out_head) {
		kc_outmsg *m = c->out_head;
		kt_msgtype t;
		c->out_head = m->next;
		if (m->op != 2) { /* a WebSocket control frame (kc_ws.c's pong) */
			FUZZ_CHECK((m->op == 9 || m->op == 10) && m->len <= 125);
			free(m);
			continue;
		}
		FUZZ_CHECK(proto_msg_type(m->data + LWS_PRE, m->len, KT_MAX_STR, &t) == KT_OK);
		FUZZ_CHECK(t == KT_MSG_HELLO || t == KT_MSG_LOGIN || t == KT_MSG_RESUME || t == KT_MSG_SYNC ||
			   t == KT_MSG_ACK || t == KT_MSG_PUSH);
		free(m);
	}
	c->out_tail = NULL;
}

/* A connection opens: what kc_conn.c's connect_once and ESTABLISHED do. */
static void open_connection(uint8_t flags)
{
	c->wsi = fake_wsi;
	c->in_len = 0;
	kc_ws_reset(c);
	c->ws.req_sent = true;
	c->ws.state = KC_WS_OPEN; /* the upgrade was answered */
	c->closing = false;
	c->conn_err = 0;
	c->done = false;
	c->result = KT_OK;
	kc_sync_start(c);
	drain();
	if (flags & F_SIGNED_IN) {
		c->authed = true;
		c->sync_sent = true;
		c->signin_deadline_us = 0;
	}
	c->in_snapshot = (flags & F_SNAPSHOT) != 0;
	if (flags & F_PUSHING) {
		c->pushing = true;
		c->events_sent = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames in = {data + 1, size ? size - 1 : 0};
	const uint8_t *frame;
	size_t len;
	uint8_t flags = size ? data[0] : 0;
	int connections = 1;

	if (!c)
		setup();
	if (kc_tx(c, reset_sql) || ((flags & F_CURSOR) && kc_tx(c, cursor_sql))) {
		fprintf(stderr, "fuzz_client: cannot reset the cache: %s\n", c->err);
		abort();
	}
	c->gen = 0;
	kc_cache_load_cursor(c);
	(void)kc_queue_count(c);
	c->mode = (flags & F_LOGIN) ? KC_MODE_LOGIN : (flags & F_FOREVER) ? KC_FOREVER : KC_UNTIL_SYNCED;
	c->login_email = "owner@example.com";
	c->login_password = "password";
	c->ack_last_us = 0;
	open_connection(flags);

	while (fuzz_next_frame(&in, &frame, &len)) {
		unsigned char *buf = fuzz_copy(frame, len);
		int rc = !(flags & F_WIRE) ? kc_sync_message(c, buf, len)
			 : kc_ws_rx(c, buf, len) ? (c->conn_err ? c->conn_err : KT_EIO)
						 : KT_OK;
		free(buf);
		if (verbose)
			fprintf(stderr, "fuzz_client: frame of %zu bytes: %s%s\n", len, kt_err_name(rc),
				c->done ? " (done)" : "");
		FUZZ_CHECK(sqlite3_get_autocommit(c->db)); /* every message commits or rolls back */
		FUZZ_CHECK(c->cursor_len <= sizeof c->cursor);
		if (c->ack_due_us)
			kc_sync_ack(c);
		if (c->queue_poll_us)
			kc_sync_poll_queue(c);
		drain();
		/* the connection ends on a refused message, on a drop the client
		 * asked for, or when the run's goal is reached; the next one
		 * starts afresh (a new kc_run for the last case) */
		if (rc || c->closing || c->done) {
			if (++connections > MAX_CONNECTIONS)
				break;
			c->wsi = NULL;
			open_connection(0);
		}
	}
	c->wsi = NULL;
	drain();
	return 0;
}
