/* kc_chains.c - drives libkartoteka-client through chains of offline edits on
 * rows the device creates itself (create -> edit -> edit, create -> move ->
 * cancel, create -> visit -> visit edit), all queued before one sync, and
 * checks through the library that every edit applied in order: nothing
 * refused, nothing left queued, the cache holding the last values. Run by
 * tests/integration/test_offline_chains.py, which checks the server's rows.
 *
 * usage: kc_chains DIR SERVER_URL EMAIL LOCATION CLIENT SPECIALIST < password
 * Prints "client ID", "appointment ID", "visit ID" lines, then "ok". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sqlite3.h>
#include "kartoteka_client.h"

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "kc_chains: " __VA_ARGS__);                                                   \
			fprintf(stderr, " (%s)\n", kc_last_error(c));                                                  \
			goto out;                                                                                      \
		}                                                                                                      \
	} while (0)

static int print_rejection(void *user, int64_t mid, const char *tbl, const char *id, const char *code,
			   const char *msg, const char *fields, const char *current)
{
	(void)current;
	fprintf(stderr, "kc_chains: refused #%lld %s %s: %s: %s (%s)\n", (long long)mid, tbl, id, code, msg, fields);
	++*(int *)user;
	return 0;
}

/* The cached row's field, as text, is want (read with SQLite's JSON
 * functions, as the library reads its own cache). */
static int has(kc_client *c, const char *tbl, const char *id, const char *field, const char *want)
{
	char *json = NULL, path[64];
	sqlite3_stmt *s;
	int ok = 0;
	if (kc_get(c, tbl, id, &json) != KT_OK)
		return 0;
	snprintf(path, sizeof path, "$.%s", field);
	if (sqlite3_prepare_v2(kc_db(c), "SELECT CAST(json_extract(?, ?) AS TEXT) = ?", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, want, -1, SQLITE_STATIC);
		ok = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (!ok)
		fprintf(stderr, "kc_chains: %s %s: %s is not %s in %s\n", tbl, id, field, want, json);
	free(json);
	return ok;
}

int main(int argc, char **argv)
{
	char err[256], pw[256], client[37], appt[37], visit[37], f[512];
	kc_client *c = NULL;
	int rc = 1, refused = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: kc_chains DIR SERVER_URL EMAIL LOCATION CLIENT SPECIALIST < password\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!fgets(pw, sizeof pw, stdin))
		return 2;
	pw[strcspn(pw, "\r\n")] = 0;
	if (!(c = kc_open(argv[1], err, sizeof err))) {
		fprintf(stderr, "kc_chains: %s\n", err);
		return 1;
	}
	CHECK(kc_set_server(c, argv[2]) == KT_OK, "server url");
	CHECK(kc_login(c, argv[3], pw, 30000) == KT_OK, "login");
	CHECK(kc_run(c, KC_UNTIL_SYNCED, 60000) == KT_OK, "first sync");

	/* every edit below is queued offline, on rows created here */
	snprintf(f, sizeof f, "{\"name\":\"Chain Client\",\"phone\":\"+386 1 000 001\"}");
	CHECK(kc_mutate(c, "client", NULL, f, client) == KT_OK, "client create");
	CHECK(kc_mutate(c, "client", client, "{\"phone\":\"+386 1 000 002\"}", NULL) == KT_OK, "client edit 1");
	CHECK(kc_mutate(c, "client", client, "{\"preferences\":\"chain tea\",\"phone\":\"+386 1 000 003\"}", NULL) ==
		      KT_OK,
	      "client edit 2");

	snprintf(f, sizeof f,
		 "{\"location_id\":\"%s\",\"client_id\":\"%s\",\"specialist_id\":\"%s\",\"start_at\":1932796800000,"
		 "\"duration_min\":45,\"services\":[],\"status\":\"booked\"}",
		 argv[4], argv[5], argv[6]);
	CHECK(kc_mutate(c, "appointment", NULL, f, appt) == KT_OK, "appointment create");
	CHECK(kc_mutate(c, "appointment", appt, "{\"start_at\":1932797700000}", NULL) == KT_OK, "appointment move");
	CHECK(kc_mutate(c, "appointment", appt, "{\"client_note\":\"bring the patch test form\"}", NULL) == KT_OK,
	      "appointment note");
	CHECK(kc_mutate(c, "appointment", appt, "{\"status\":\"cancelled\"}", NULL) == KT_OK, "appointment cancel");

	snprintf(f, sizeof f,
		 "{\"location_id\":\"%s\",\"client_id\":\"%s\",\"specialist_id\":\"%s\",\"appointment_id\":\"%s\","
		 "\"visit_date\":\"2027-01-15\",\"services\":[]}",
		 argv[4], argv[5], argv[6], appt);
	CHECK(kc_mutate(c, "visit", NULL, f, visit) == KT_OK, "visit create");
	CHECK(kc_mutate(c, "visit", visit, "{\"treatment_notes\":\"patch test negative\"}", NULL) == KT_OK,
	      "visit edit 1");
	CHECK(kc_mutate(c, "visit", visit, "{\"treatment_notes\":\"patch test negative, 48 h\"}", NULL) == KT_OK,
	      "visit edit 2");
	CHECK(kc_queue_count(c) == 10, "queued %lld, not 10", (long long)kc_queue_count(c));
	{ /* what the device saw of its own rows is their create: version 1 */
		sqlite3_stmt *q;
		int zero = -1;
		if (sqlite3_prepare_v2(kc_db(c), "SELECT count(*) FROM queue WHERE op = 'update' AND base <> 1", -1, &q,
				       NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
			zero = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		CHECK(zero == 0, "%d queued updates do not have base 1", zero);
	}

	CHECK(kc_run(c, KC_UNTIL_SYNCED, 60000) == KT_OK, "sync");
	CHECK(kc_rejections(c, print_rejection, &refused) == KT_OK && refused == 0, "%d edits refused", refused);
	CHECK(kc_queue_count(c) == 0, "%lld edits still queued", (long long)kc_queue_count(c));
	CHECK(has(c, "client", client, "phone", "+386 1 000 003") && has(c, "client", client, "preferences", "chain tea"),
	      "client not as last edited");
	CHECK(has(c, "appointment", appt, "status", "cancelled") && has(c, "appointment", appt, "start_at", "1932797700000"),
	      "appointment not as last edited");
	CHECK(has(c, "visit", visit, "treatment_notes", "patch test negative, 48 h"), "visit not as last edited");
	printf("client %s\nappointment %s\nvisit %s\nok\n", client, appt, visit);
	rc = 0;
out:
	kc_close(c);
	return rc;
}
