/* admin_consent.c - `kartoteka-server admin --db F consent ...`: the
 * operator records a consent given outside any device (a signed paper form,
 * an e-mail link) and reads a client's history and state. Same rules as the
 * device path (consent_check), recorded as the operator. Never changes or
 * deletes a consent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli/admin.h"
#include "cli/table.h"
#include "domain/consent.h"
#include "domain/resolve.h"
#include "kt_text.h"

static const char *const purposes[] = {"marketing_email", "marketing_sms", "birthday_greetings",
				       "review_requests", "photo_use",     "health_data"};

static int usage(const char *what)
{
	fprintf(stderr,
		"kartoteka-server admin: %s\n"
		"usage: kartoteka-server admin --db FILE consent CLIENT PURPOSE grant|withdraw\n"
		"                          --text-version V [--source in_salon|email_link] [--at TIME]\n"
		"       kartoteka-server admin --db FILE consent show CLIENT [--json]\n"
		"CLIENT: the client's id, name or the start of it\n"
		"TIME: when it was given, local to the salon (2027-01-15 09:30) or with an offset\n"
		"PURPOSE: " KT_CONSENT_PURPOSES "\n",
		what);
	return 2;
}

#define fail admin_say_fail

/* The client typed (id, name or the start of it) into id, and the zone its
 * times are shown in (its organisation's first location). Returns 0, or the
 * exit status after saying why. */
static int which_client(kt_store *st, const char *typed, char id[KT_UUID_LEN + 1], char zone[RESOLVE_ZONE])
{
	char org[KT_UUID_LEN + 1];
	int rc = admin_want(st, RESOLVE_CLIENT, NULL, "CLIENT", typed, id);
	if (rc)
		return rc;
	zone[0] = 0;
	if (resolve_org_of(st, "client", id, org) == KT_OK)
		resolve_org_zone(st, org, zone);
	return 0;
}

/* History (oldest first), then the state of every purpose: two tables, or
 * one JSON object {"client", "history": [...], "state": {...}}. */
static int consent_show(kt_store *st, const char *typed, bool json)
{
	static const char sql[] = "SELECT id, purpose, granted, at, source, text_version, recorded_kind, "
				  "coalesce(recorded_by, '') FROM consent WHERE client_id = ? ORDER BY at, id";
	static const char *const cols[] = {"history", "id",           "purpose",       "granted",
					   "at",      "source",       "text_version",  "recorded_kind",
					   "recorded_by"};
	char client[KT_UUID_LEN + 1], zone[RESOLVE_ZONE], who[256];
	sqlite3_stmt *q;
	cli_table t;
	json_t *state = json ? json_object() : NULL;
	int rc;

	if ((rc = which_client(st, typed, client, zone)))
		return rc;
	if (!(q = store_prepare(st, sql)))
		return fail("cannot read consents", NULL);
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	/* the TSV's first column tells history rows from state rows; JSON has keys for that */
	if (cli_table_begin(&t, json, json ? cols + 1 : cols, json ? 8 : 9)) {
		store_finish(st, q);
		return fail("out of memory", NULL);
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *by = (const char *)sqlite3_column_text(q, 7), *kind = (const char *)sqlite3_column_text(q, 6);
		/* who recorded it, by name: a staff member or the client themself */
		if (!*by)
			snprintf(who, sizeof who, "-");
		else
			resolve_name(st, !strcmp(kind, "client") ? RESOLVE_CLIENT : RESOLVE_STAFF, by, who, sizeof who);
		if (!json)
			cli_table_str(&t, "entry");
		cli_table_str(&t, (const char *)sqlite3_column_text(q, 0));
		cli_table_str(&t, (const char *)sqlite3_column_text(q, 1));
		cli_table_str(&t, sqlite3_column_int(q, 2) ? "granted" : "withdrawn");
		cli_table_time(&t, zone, sqlite3_column_int64(q, 3));
		cli_table_str(&t, (const char *)sqlite3_column_text(q, 4));
		cli_table_str(&t, (const char *)sqlite3_column_text(q, 5));
		cli_table_str(&t, kind);
		cli_table_str(&t, who);
		cli_table_row_end(&t);
	}
	store_finish(st, q);
	/* JSON: the array goes into the object below, not to stdout alone */
	json_t *history = json ? cli_table_take(&t) : NULL;
	if (!json)
		(void)cli_table_end(&t);
	if (rc != SQLITE_DONE) {
		json_decref(history);
		json_decref(state);
		return fail("cannot read consents", NULL);
	}
	if (!json)
		printf("state\tpurpose\tstate\n");
	for (size_t i = 0; i < sizeof purposes / sizeof purposes[0]; i++) {
		bool granted = false;
		rc = consent_latest(st, client, purposes[i], &granted, NULL);
		if (rc && rc != KT_ENOT_FOUND) {
			json_decref(history);
			json_decref(state);
			return fail("cannot read consents", kt_strerror(rc));
		}
		const char *v = rc ? "none" : granted ? "granted" : "withdrawn";
		if (json)
			json_object_set_new(state, purposes[i], json_string(v));
		else
			printf("state\t%s\t%s\n", purposes[i], v);
	}
	if (json) {
		json_t *doc = json_pack("{s:s, s:o, s:o}", "client", client, "history", history, "state", state);
		char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		json_decref(doc);
		if (!text)
			return fail("out of memory", NULL);
		puts(text);
		free(text);
	}
	return 0;
}

int admin_consent(kt_store *st, int argc, char **argv)
{
	kt_consent c;
	char why[160], id[KT_UUID_LEN + 1];
	int rc;

	char zone[RESOLVE_ZONE], name[256], when[KT_TEXT_TIME];
	const char *at_text = NULL;

	enum { SOURCE, TEXT_VERSION, AT, JSON };
	admin_opt o[] = {{"--source"}, {"--text-version"}, {"--at"}, {"--json", true}};
	const char *pos[3];
	int npos;
	bool show = argc >= 1 && !strcmp(argv[0], "show");
	if ((rc = admin_parse(argc - show, argv + show, show ? o + JSON : o, show ? 1 : 3, pos, show ? 1 : 3, &npos)))
		return rc;
	if (show) {
		if (npos != 1)
			return usage("consent show CLIENT [--json]");
		return consent_show(st, pos[0], o[JSON].seen);
	}
	if (npos < 3)
		return usage("consent CLIENT PURPOSE grant|withdraw --text-version V, or consent show CLIENT");
	memset(&c, 0, sizeof c);
	if (strlen(pos[1]) >= sizeof c.purpose)
		return usage("PURPOSE is one of the list");
	if ((rc = which_client(st, pos[0], c.client_id, zone)))
		return rc;
	strcpy(c.purpose, pos[1]);
	if (!strcmp(pos[2], "grant"))
		c.granted = 1;
	else if (!strcmp(pos[2], "withdraw"))
		c.granted = 0;
	else
		return usage("the third argument is grant or withdraw");
	if (o[SOURCE].value) {
		if (strlen(o[SOURCE].value) >= sizeof c.source)
			return usage("--source is in_salon or email_link");
		strcpy(c.source, o[SOURCE].value);
	}
	if (o[TEXT_VERSION].value) {
		if (strlen(o[TEXT_VERSION].value) >= sizeof c.text_version)
			return usage("--text-version is at most 64 bytes");
		strcpy(c.text_version, o[TEXT_VERSION].value);
		c.text_version_given = true;
	}
	at_text = o[AT].value;
	if (at_text) { /* local to the salon, like every time typed here */
		char err[256];
		if (kt_text_time_arg("--at", zone, at_text, &c.at, err, sizeof err) || c.at <= 0) {
			fprintf(stderr, "kartoteka-server admin: %s\n", err);
			return 2;
		}
	}
	if ((rc = consent_check(st, NULL, &c, why, sizeof why)))
		return rc == KT_EIO ? fail("cannot read the client", NULL) : fail("not recorded", why);
	kt_uuid7(id);
	if ((rc = store_begin(st)))
		return fail("not recorded", kt_strerror(rc));
	if ((rc = consent_record(st, id, &c, NULL))) {
		store_rollback(st);
		return fail("not recorded", kt_strerror(rc));
	}
	if ((rc = store_commit(st)))
		return fail("not recorded", kt_strerror(rc));
	resolve_name(st, RESOLVE_CLIENT, c.client_id, name, sizeof name);
	kt_text_time(zone, c.at, when);
	printf("recorded: %s %s %s at %s (text %s, %s): consent %s\n", name, c.granted ? "granted" : "withdrew",
	       c.purpose, when, c.text_version, c.source, id);
	return 0;
}
