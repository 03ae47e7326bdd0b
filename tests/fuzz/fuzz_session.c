/* fuzz_session.c - the server's handling of one whole connection, in
 * process, from the bytes after the WebSocket layer: a kt_server over a demo
 * database (made once per process by `kartoteka-server init --demo`), one
 * kt_session per input, the input's frames (fuzz_common.h) to
 * session_on_message and the answers drained through session_on_writeable.
 * Uses only what server.h and store.h declare; the lws calls are fake_lws.c.
 * Checks every frame the server writes: one valid server-to-device message.
 *
 * What it leaves out, and why: a `login` that decodes is not delivered (its
 * Argon2id check runs ~0.1 s on worker threads; proto_login_decode is in
 * fuzz_proto); frames over listener.c's size caps end the connection as listener.c
 * would. Seeds sign in with `resume` and tokens planted here for five
 * principals of the demo (gen_corpus.py knows them). */
#include <stdbool.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "fake_lws.h"
#include "fuzz_common.h"
#include "kt_util.h"
#include "server.h"
#include "write/writer.h"
#include "sync/fanout.h"
#include "handlers/auth_workers.h"
#include "handlers/handlers.h"
#include "net/session.h"

#ifndef KT_SERVER_BIN
#define KT_SERVER_BIN "kartoteka-server"
#endif

#define DEVICE "01890000-0000-7000-8000-000000000001" /* gen_corpus.py DEVICE */
#define WRITES_PER_MESSAGE 4 /* frames drained after each message (a snapshot is many pages) */
#define NROLES 5
static const char *const roles[NROLES] = {"owner", "manager", "reception", "specialist", "client"};

static kt_server srv;
static char dir[256], db[300];
static bool verbose; /* KT_FUZZ_VERBOSE: say what each frame did (for triage) */
static unsigned long inputs;

static void cleanup(void)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char path[sizeof db + 8];
	auth_stop(&srv);
	writer_stop(&srv);
	portal_stop(&srv);
	fanout_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
	free(srv.db_path);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", db, suffix[i]);
		unlink(path);
	}
	{ /* setup mails the portal wrote */
		char spool[sizeof dir + 8], f[sizeof spool + 300];
		snprintf(spool, sizeof spool, "%s/spool", dir);
		DIR *d = opendir(spool);
		for (struct dirent *e; d && (e = readdir(d));)
			if (e->d_name[0] != '.') {
				snprintf(f, sizeof f, "%s/%s", spool, e->d_name);
				unlink(f);
			}
		if (d)
			closedir(d);
		rmdir(spool);
	}
	rmdir(dir);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_session: %s\n", what);
	abort();
}

/* Create the demo database; emails[i] gets the first sign-in of roles[i]
 * from the accounts list the server prints. */
static void make_demo(char emails[NROLES][256])
{
	const char *bin = getenv("KT_FUZZ_SERVER") ? getenv("KT_FUZZ_SERVER") : KT_SERVER_BIN;
	char cmd[1024], line[1024];
	FILE *p;

	snprintf(cmd, sizeof cmd, "'%s' init --db '%s' --demo --seed 1 2>/dev/null", bin, db);
	if (!(p = popen(cmd, "r")))
		die("cannot run kartoteka-server init");
	while (fgets(line, sizeof line, p)) {
		char *role = strtok(line, "\t"), *loc = strtok(NULL, "\t"), *email = strtok(NULL, "\t");
		if (!role || !loc || !email)
			continue;
		for (int i = 0; i < NROLES; i++)
			if (!strcmp(role, roles[i]) && !emails[i][0])
				snprintf(emails[i], 256, "%s", email);
	}
	if (pclose(p) != 0)
		die("kartoteka-server init --demo failed (set KT_FUZZ_SERVER to the binary)");
}

/* Session tokens the seeds resume with: 32 bytes of value i + 1. */
static void plant_tokens(char emails[NROLES][256])
{
	for (int i = 0; i < NROLES; i++) {
		uint8_t tok[32], th[32];
		char id[KT_UUID_LEN + 1], *hash = NULL;
		bool is_client = false;
		if (!emails[i][0] || store_credentials_find(srv.st, emails[i], &is_client, id, &hash))
			die("a demo account is missing");
		free(hash);
		memset(tok, i + 1, sizeof tok);
		auth_token_hash(&srv, tok, sizeof tok, th);
		if (store_session_create(srv.st, th, sizeof th, is_client, id, DEVICE,
					 kt_now_ms() + 10LL * 365 * 24 * 3600 * 1000))
			die("cannot plant a session token");
	}
}

static void setup(void)
{
	const char *tmp = fuzz_tmpdir(), *msg = NULL;
	char emails[NROLES][256] = {{0}};
	size_t len;

	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	kt_log_level = KT_LOG_ERR;
	verbose = getenv("KT_FUZZ_VERBOSE") != NULL;
	snprintf(dir, sizeof dir, "%s/kt-fuzz-session-XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp failed");
	snprintf(db, sizeof db, "%s/k.db", dir);
	atexit(cleanup);
	make_demo(emails);
	if (store_open(db, 0, &srv.st, &msg))
		die(msg ? msg : "store_open failed");
	if (store_meta_get(srv.st, "cursor_key", srv.cursor_key, sizeof srv.cursor_key, &len) ||
	    len != sizeof srv.cursor_key ||
	    store_meta_get(srv.st, "token_key", srv.token_key, sizeof srv.token_key, &len) || len != sizeof srv.token_key)
		die("server keys missing");
	srv.db_path = strdup(db);
	srv.watch_fd = -1;
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	if (fanout_init(&srv, 8192, 65536) || auth_start(&srv) || writer_start(&srv))
		die("cannot start the server state");
	/* portal accounts: setup mails go to a spool inside dir */
	static kt_portal_config portal;
	portal_config_defaults(&portal);
	snprintf(portal.spool_dir, sizeof portal.spool_dir, "%s/spool", dir);
	srv.portal_cfg = &portal;
	if (portal_start(&srv))
		die("cannot start the portal workers");
	plant_tokens(emails);
}

/* A push goes to the writer thread; its answer comes back through
 * writer_deliver, as the event loop would do it on the wake-up. */
static void wait_for_writer(kt_session *s)
{
	int64_t until = kt_mono_us() + 20 * 1000000;
	while (s->pushes_inflight > 0 && kt_mono_us() < until) {
		if (kt_wake_take(&srv.wake) & KT_WAKE_PUSH)
			writer_deliver(&srv);
		else
			usleep(100);
	}
	if (s->pushes_inflight > 0)
		die("the writer did not answer a push within 20 s");
}

/* Every frame the server writes is one whole valid message of a
 * server-to-device type, within the size the client accepts. */
static void check_written(const unsigned char *buf, size_t len)
{
	kt_msgtype t;
	FUZZ_CHECK(len > 0 && len <= KT_MAX_OUT_FRAME);
	FUZZ_CHECK(kt_mp_validate(buf, len, KT_MAX_DEPTH, KT_MAX_OUT_FRAME) == KT_OK);
	FUZZ_CHECK(proto_msg_peek_type(buf, len, &t) == KT_OK);
	FUZZ_CHECK(t == KT_MSG_WELCOME || t == KT_MSG_AUTH_OK || t == KT_MSG_SNAPSHOT_BEGIN || t == KT_MSG_PAGE ||
		   t == KT_MSG_SNAPSHOT_END || t == KT_MSG_CHANGES || t == KT_MSG_SYNCED || t == KT_MSG_ERROR ||
		   t == KT_MSG_PUSH_RESULT || t == KT_MSG_AUDIT_RESULT || t == KT_MSG_MANAGE_RESULT ||
		   t == KT_MSG_PORTAL_RESULT);
	if (verbose)
		fprintf(stderr, "fuzz_session:   <- %s (%zu bytes)\n", proto_msg_name(t), len);
}

/* Write while the session asks for it, at most n frames. Returns -1 when
 * the session closed the connection. */
static int drain(kt_session *s, int n)
{
	while (fake_writable_requests > 0 && n-- > 0) {
		fake_writable_requests = 0;
		if (session_on_writeable(s) < 0 || fake_killed)
			return -1;
	}
	return 0;
}

/* A login whose password would be checked: not delivered (see the top). */
static bool skip_login(const kt_session *s, const unsigned char *buf, size_t len)
{
	kt_msgtype t;
	kt_login m;
	return s->state == KT_SS_AUTH &&
	       proto_msg_type(buf, len, s->signed_in ? KT_MAX_STR : KT_MAX_STR_PREAUTH, &t) == KT_OK &&
	       t == KT_MSG_LOGIN && proto_login_decode(buf, len, &m) == KT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames in = {data, size};
	const uint8_t *frame;
	size_t len;
	kt_session *s;
	bool closed = false;

	if (!srv.st)
		setup();
	/* a fresh peer address per input: sign-in throttling is per address and
	 * must not carry one input's failures into the next */
	inputs++;
	snprintf(fake_peer, sizeof fake_peer, "10.%lu.%lu.%lu", (inputs >> 16) & 255, (inputs >> 8) & 255,
		 inputs & 255);
	fake_on_write = check_written;
	fake_writable_requests = 0;
	fake_killed = 0;
	if (!(s = session_new(&srv, fake_wsi)))
		die("session_new failed");

	while (!closed && fuzz_next_frame(&in, &frame, &len)) {
		unsigned char *buf;
		int rc;
		if (len > (s->signed_in ? (size_t)KT_MAX_FRAME : (size_t)KT_MAX_FRAME_PREAUTH))
			break; /* listener.c refuses it and closes */
		buf = fuzz_copy(frame, len);
		if (skip_login(s, buf, len)) {
			free(buf);
			continue;
		}
		if (verbose)
			fprintf(stderr, "fuzz_session: -> frame of %zu bytes (state %d)\n", len, (int)s->state);
		rc = session_on_message(s, buf, len);
		free(buf);
		wait_for_writer(s);
		closed = rc < 0 || drain(s, WRITES_PER_MESSAGE) < 0;
	}
	if (!closed) {
		fake_fire_timers(); /* the sign-in deadline passes */
		drain(s, WRITES_PER_MESSAGE);
	}
	fake_clear_timers();
	session_free(s);
	/* an input may have signed its device out, revoked it or deactivated
	 * someone: undo it, so the next input can sign in with the planted tokens */
	if (sqlite3_exec(store_db(srv.st), "UPDATE auth_session SET revoked = 0 WHERE revoked = 1; "
					   "UPDATE device SET revoked = 0 WHERE revoked = 1; "
					   "UPDATE staff SET active = 1 WHERE active = 0", NULL, NULL, NULL) != SQLITE_OK)
		die("cannot undo the input's revocations");
	fake_on_write = NULL;
	return 0;
}
