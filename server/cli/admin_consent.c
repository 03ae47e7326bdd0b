/* admin_consent.c - `kartoteka-server admin --db F consent ...`: the
 * operator records a consent given outside any device (a signed paper form,
 * an e-mail link) and reads a client's history and state. Same rules as the
 * device path (consent_check), recorded as the operator. Never changes or
 * deletes a consent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "domain/consent.h"

static const char *const purposes[] = {"marketing_email", "marketing_sms", "birthday_greetings",
				       "review_requests", "photo_use",     "health_data"};

static int usage(const char *what)
{
	fprintf(stderr,
		"kartoteka-server admin: %s\n"
		"usage: kartoteka-server admin --db FILE consent CLIENT_ID PURPOSE grant|withdraw\n"
		"                          --text-version V [--source in_salon|email_link] [--at MS]\n"
		"       kartoteka-server admin --db FILE consent show CLIENT_ID\n"
		"PURPOSE: " KT_CONSENT_PURPOSES "\n",
		what);
	return 2;
}

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "kartoteka-server admin: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	return 1;
}

/* History (oldest first), then the state of every purpose. */
static int consent_show(kt_store *st, const char *client_id)
{
	static const char sql[] = "SELECT id, purpose, granted, at, source, text_version, recorded_kind, "
				  "coalesce(recorded_by, '') FROM consent WHERE client_id = ? ORDER BY at, id";
	sqlite3_stmt *q;
	int rc;

	if (!kt_uuid_valid(client_id, strlen(client_id)))
		return usage("CLIENT_ID is a client's id");
	if (!(q = store_prepare(st, sql)))
		return fail("cannot read consents", NULL);
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	printf("history\tid\tpurpose\tgranted\tat\tsource\ttext_version\trecorded_kind\trecorded_by\n");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		printf("entry\t%s\t%s\t%s\t%lld\t%s\t%s\t%s\t%s\n", sqlite3_column_text(q, 0),
		       sqlite3_column_text(q, 1), sqlite3_column_int(q, 2) ? "granted" : "withdrawn",
		       (long long)sqlite3_column_int64(q, 3), sqlite3_column_text(q, 4), sqlite3_column_text(q, 5),
		       sqlite3_column_text(q, 6), sqlite3_column_text(q, 7));
	store_finish(st, q);
	if (rc != SQLITE_DONE)
		return fail("cannot read consents", NULL);
	for (size_t i = 0; i < sizeof purposes / sizeof purposes[0]; i++) {
		bool granted = false;
		rc = consent_latest(st, client_id, purposes[i], &granted, NULL);
		if (rc && rc != KT_ENOT_FOUND)
			return fail("cannot read consents", kt_strerror(rc));
		printf("state\t%s\t%s\n", purposes[i], rc ? "none" : granted ? "granted" : "withdrawn");
	}
	return 0;
}

int admin_consent(kt_store *st, int argc, char **argv)
{
	kt_consent c;
	char why[160], id[KT_UUID_LEN + 1];
	int rc;

	if (argc == 2 && !strcmp(argv[0], "show"))
		return consent_show(st, argv[1]);
	if (argc < 3)
		return usage("consent CLIENT_ID PURPOSE grant|withdraw --text-version V, or consent show CLIENT_ID");
	memset(&c, 0, sizeof c);
	if (strlen(argv[0]) >= sizeof c.client_id || strlen(argv[1]) >= sizeof c.purpose)
		return usage("CLIENT_ID is a client's id; PURPOSE one of the list");
	strcpy(c.client_id, argv[0]);
	strcpy(c.purpose, argv[1]);
	if (!strcmp(argv[2], "grant"))
		c.granted = 1;
	else if (!strcmp(argv[2], "withdraw"))
		c.granted = 0;
	else
		return usage("the third argument is grant or withdraw");
	bool seen_source = false, seen_tv = false, seen_at = false;
	for (int i = 3; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool *seen = !strcmp(o, "--source") ? &seen_source : !strcmp(o, "--text-version") ? &seen_tv
							: !strcmp(o, "--at") ? &seen_at : NULL;
		if (!seen)
			return usage("unknown option or argument");
		if (*seen)
			return usage("an option given twice");
		if (!v)
			return usage("an option needs a value");
		*seen = true;
		i++;
		if (seen == &seen_source) {
			if (strlen(v) >= sizeof c.source)
				return usage("--source is in_salon or email_link");
			strcpy(c.source, v);
		} else if (seen == &seen_tv) {
			if (strlen(v) >= sizeof c.text_version)
				return usage("--text-version is at most 64 bytes");
			strcpy(c.text_version, v);
			c.text_version_given = true;
		} else {
			char *end;
			c.at = strtoll(v, &end, 10);
			if (*end || end == v || c.at <= 0)
				return usage("--at is milliseconds since 1970");
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
	printf("%s\n", id);
	return 0;
}
