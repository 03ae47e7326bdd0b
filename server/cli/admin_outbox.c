/* admin_outbox.c - `kartoteka-server admin --db FILE outbox ...`:
 *   list [--state S] [--limit N] [--json]  the newest messages: kind,
 *       channel, state, times local to the message's branch (else the
 *       organisation's first location), why it was dropped or failed.
 *   resend ID  an 'unknown' message (a server stopped while sending it)
 *       goes back to the queue: it may then arrive twice.
 * Prints no address, number, subject or body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "cli/table.h"
#include "domain/outbox.h"
#include "domain/resolve.h"

static const char *const states[] = {"queued", "sending", "sent", "failed", "dropped", "unknown"};

struct ctx {
	cli_table *t;
	kt_store *st;
	char loc[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE];
};

static const char *zone_of(struct ctx *c, const kt_outbox_row *r)
{
	/* the rows of one branch come together: look up a zone once per run */
	if (strcmp(c->loc, r->location) || strcmp(c->org, r->org)) {
		snprintf(c->loc, sizeof c->loc, "%s", r->location);
		snprintf(c->org, sizeof c->org, "%s", r->org);
		c->zone[0] = 0;
		if (r->location[0])
			resolve_location_zone(c->st, r->location, c->zone);
		if (!c->zone[0])
			resolve_org_zone(c->st, r->org, c->zone);
	}
	return c->zone;
}

static int print_row(void *user, const kt_outbox_row *r)
{
	struct ctx *c = user;
	const char *zone = zone_of(c, r);
	cli_table_int(c->t, r->id);
	cli_table_str(c->t, r->purpose);
	cli_table_str(c->t, r->channel);
	cli_table_str(c->t, r->state);
	cli_table_int(c->t, r->attempts);
	cli_table_time(c->t, zone, r->created_at);
	cli_table_time(c->t, zone, !strcmp(r->state, "queued") ? r->next_at : 0);
	cli_table_time(c->t, zone, r->sent_at);
	cli_table_str(c->t, r->drop_reason[0] ? r->drop_reason : r->last_error);
	cli_table_row_end(c->t);
	return 0;
}

static int outbox_list_cmd(kt_store *st, int argc, char **argv)
{
	static const char *const cols[] = {"id", "kind", "channel", "state", "attempts", "created", "due", "sent", "reason"};
	admin_opt o[] = {{"--state"}, {"--limit"}, {"--json", true}};
	const char *pos[1], *state = o[0].value;
	long limit = 50;
	int npos, rc;
	bool known = false;
	cli_table t;
	if ((rc = admin_parse(argc, argv, o, 3, pos, 0, &npos)))
		return rc;
	state = o[0].value;
	for (size_t i = 0; state && i < sizeof states / sizeof states[0]; i++)
		known |= !strcmp(state, states[i]);
	if (state && !known) {
		fprintf(stderr, "kartoteka-server admin: outbox list --state: one of queued, sending, sent, failed, "
				"dropped, unknown\n");
		return 2;
	}
	if (o[1].value) {
		char *end;
		limit = strtol(o[1].value, &end, 10);
		if (*end || end == o[1].value || limit < 1 || limit > 100000) {
			fprintf(stderr, "kartoteka-server admin: outbox list --limit: a whole number 1..100000\n");
			return 2;
		}
	}
	struct ctx c = {&t, st, "-", "-", ""};
	if (cli_table_begin(&t, o[2].seen, cols, 9))
		return admin_say_fail("out of memory", NULL);
	rc = outbox_list_rows(st, state, (int)limit, print_row, &c);
	if (cli_table_end(&t) && !rc)
		rc = KT_ENOMEM;
	return rc ? admin_say_fail("cannot read the outbox", kt_strerror(rc)) : 0;
}

static int outbox_resend_cmd(kt_store *st, int argc, char **argv)
{
	char *end, state[16] = "";
	long long id;
	int rc;
	if (argc != 1) {
		fprintf(stderr, "kartoteka-server admin: usage: outbox resend ID (an id from outbox list --state unknown)\n");
		return 2;
	}
	id = strtoll(argv[0], &end, 10);
	if (*end || end == argv[0] || id < 1) {
		fprintf(stderr, "kartoteka-server admin: outbox resend ID: ID is the number in outbox list's id column\n");
		return 2;
	}
	rc = outbox_resend(st, id, state);
	if (rc == KT_ENOT_FOUND) {
		fprintf(stderr, "kartoteka-server admin: outbox resend: no message %lld\n", id);
		return 1;
	}
	if (rc == KT_ECONFLICT) {
		fprintf(stderr, "kartoteka-server admin: outbox resend: message %lld is '%s'; only an 'unknown' one is "
				"sent again\n", id, state);
		return 1;
	}
	if (rc)
		return admin_say_fail("cannot queue it again", kt_strerror(rc));
	printf("message %lld queued again: a running server sends it within a second (it may arrive twice)\n", id);
	return 0;
}

int admin_outbox(kt_store *st, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "list"))
		return outbox_list_cmd(st, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "resend"))
		return outbox_resend_cmd(st, argc - 1, argv + 1);
	fprintf(stderr, "usage: kartoteka-server admin --db FILE outbox list [--state S] [--limit N] [--json]\n"
			"       kartoteka-server admin --db FILE outbox resend ID\n");
	return 2;
}
