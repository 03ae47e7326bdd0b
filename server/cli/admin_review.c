/* admin_review.c - `kartoteka-server admin --db F review list|reply|hide|
 * show|highlight|unhighlight ...`: the operator reads a salon's reviews and
 * answers them through domain/feedback.c, the same rules the manage ops and
 * devices go through. A reply is signed by a staff member (--by) or, with
 * none, by the organisation's name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "cli/table.h"
#include "domain/feedback.h"

static int list_one(void *user, const kt_review_item *r)
{
	cli_table *t = user;
	char stars[6] = "";
	for (int i = 0; i < r->stars && i < 5; i++)
		stars[i] = '*';
	cli_table_str(t, r->id);
	cli_table_str(t, r->location);
	cli_table_str(t, r->visit_date);
	cli_table_str(t, r->specialist);
	cli_table_str(t, r->client_name);
	cli_table_str(t, stars);
	cli_table_str(t, r->text);
	cli_table_str(t, r->reply);
	cli_table_str(t, r->reply_name);
	cli_table_str(t, r->hidden ? "hidden" : r->highlighted ? "highlighted" : "shown");
	cli_table_bool(t, r->public_ok);
	cli_table_row_end(t);
	return 0;
}

static int review_list(kt_store *st, int argc, char **argv)
{
	static const char *const cols[] = {"id", "location", "visit", "specialist", "client", "stars", "text",
					   "reply", "reply_by", "state", "name_public"};
	admin_opt o[] = {{"--location"}, {"--limit"}, {"--json", true}, {"--org"}};
	const char *pos[1];
	char org[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1];
	cli_table t;
	int npos, rc;
	if ((rc = admin_parse(argc, argv, o, 4, pos, 0, &npos)) || (rc = admin_want_org(st, o[3].value, org)))
		return rc;
	if (o[0].value && (rc = admin_want(st, RESOLVE_LOCATION, &(resolve_scope){org, NULL}, "--location", o[0].value,
					   loc)))
		return rc;
	if (cli_table_begin(&t, o[2].seen, cols, 11))
		return admin_say_fail("review list", "out of memory");
	rc = feedback_review_list(st, NULL, org, o[0].value ? loc : NULL, o[1].value ? atoi(o[1].value) : 50,
				  list_one, &t);
	if (cli_table_end(&t) || rc)
		return admin_say_fail("review list", rc ? kt_strerror(rc) : "out of memory");
	return 0;
}

int admin_review(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--by"}, {"--clear", true}};
	const char *pos[2], *what = argc > 0 ? argv[0] : "";
	char by[KT_UUID_LEN + 1], err[320] = "";
	int npos, rc, hl = -1, hid = -1;
	const char *reply = NULL;

	if (!strcmp(what, "list"))
		return review_list(st, argc - 1, argv + 1);
	if ((rc = admin_parse(argc - (argc > 0), argv + (argc > 0), o, 2, pos, 2, &npos)))
		return rc;
	if (!strcmp(what, "reply")) {
		if (npos != 2 && !(npos == 1 && o[1].seen)) {
			fprintf(stderr, "kartoteka-server admin: review reply ID TEXT [--by STAFF] | review reply ID --clear\n");
			return 2;
		}
		reply = o[1].seen ? "" : pos[1];
	} else if (!strcmp(what, "hide") || !strcmp(what, "show"))
		hid = !strcmp(what, "hide");
	else if (!strcmp(what, "highlight") || !strcmp(what, "unhighlight"))
		hl = !strcmp(what, "highlight");
	else {
		fprintf(stderr, "kartoteka-server admin: review list | reply ID TEXT [--by STAFF] | hide ID | show ID | "
				"highlight ID | unhighlight ID\n");
		return 2;
	}
	if (npos < 1) {
		fprintf(stderr, "kartoteka-server admin: review %s needs the review's id\n", what);
		return 2;
	}
	kt_principal as = {.role = KT_ROLE_OWNER, .active = true};
	if (o[0].value) { /* the reply is signed by this staff member */
		if ((rc = admin_want(st, RESOLVE_STAFF, &(resolve_scope){NULL, NULL}, "--by", o[0].value, by)))
			return rc;
		snprintf(as.id, sizeof as.id, "%s", by);
		sqlite3_stmt *q = store_prepare(st, "SELECT org_id FROM staff WHERE id = ?1");
		if (q) {
			sqlite3_bind_text(q, 1, by, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				snprintf(as.org, sizeof as.org, "%s", (const char *)sqlite3_column_text(q, 0));
			store_finish(st, q);
		}
	}
	if ((rc = feedback_review_answer(st, o[0].value ? &as : NULL, pos[0], reply, hl, hid, err, sizeof err)))
		return admin_say_fail("review", err);
	printf("review %s: %s\n", pos[0],
	       reply ? (*reply ? "replied" : "reply removed")
	       : hid >= 0 ? (hid ? "hidden from the public feed" : "shown in the public feed")
			  : (hl ? "highlighted" : "no longer highlighted"));
	return 0;
}
