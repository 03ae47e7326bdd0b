/* privacy.c - see privacy.h. The operator at the server acts as
 * "operator" in the audit log. Output is tab-separated where a script may
 * read it; the export is the JSON document itself. Never prints personal
 * data other than the export the operator asked for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "domain/erasure.h"
#include "domain/export.h"
#include "db/keyring.h"
#include "cli/privacy.h"
#include "domain/resolve.h"
#include "kt_text.h"
#include "kt_time.h"

void privacy_usage(FILE *f)
{
	fprintf(f, "usage: kartoteka-server privacy export --db FILE --client CLIENT\n"
		   "       kartoteka-server privacy erase --db FILE --client CLIENT --confirm\n"
		   "       kartoteka-server privacy pending --db FILE\n"
		   "       kartoteka-server privacy erasure-status --db FILE --client ID\n"
		   "       kartoteka-server privacy retention --db FILE [--config FILE] [--months N]\n"
		   "                                          [--erase --confirm]\n"
		   "CLIENT: the client's id, name or the start of it (an ambiguous name lists the\n"
		   "  candidates and changes nothing). Times print local to the salon's first\n"
		   "  location, with the zone.\n");
}

/* The store the command runs on, for the zone of the times it prints. */
static kt_store *shown_st;

/* A time for people: local to the organisation's first location (an
 * erasure or a device has no place of its own); "-" when it never was. */
static void show_time(const char *org, int64_t ms, char out[KT_TEXT_TIME])
{
	char zone[RESOLVE_ZONE] = "";
	if (shown_st)
		resolve_org_zone(shown_st, org, zone);
	kt_text_time(zone, ms, out);
}

static const char *why(int rc)
{
	switch (rc) {
	case KT_ENOT_FOUND: return "no such client";
	case KT_ECONFLICT: return "this client was erased already";
	case KT_EINVALID: return "not a client that can be erased (the id is malformed or names the placeholder "
				 "that kept appointments point to)";
	case KT_EBUSY: return "the database is busy; try again";
	default: return kt_strerror(rc);
	}
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "kartoteka-server privacy: %s: %s\n", what, why(rc));
	return 1;
}

static bool client_row_exists(kt_store *st, const char *client)
{
	sqlite3_stmt *q;
	bool found = false;
	if (sqlite3_prepare_v2(store_db(st), "SELECT 1 FROM client WHERE id = ?", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
		found = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
	}
	return found;
}

static int cmd_export(kt_store *st, const char *db, const char *client)
{
	char *doc = NULL;
	int rc;
	/* an export of nothing but empty fields would look like a client who
	 * told us nothing: say why their values cannot be read instead */
	if (client_row_exists(st, client)) {
		switch (keyring_key_state(store_keyring(st), client)) {
		case KT_KEY_PRESENT: break;
		case KT_KEY_ERASED:
			fprintf(stderr, "kartoteka-server privacy: export: client %s was erased: their key is destroyed, "
					"what %s still holds of them cannot be read (as intended)\n",
				client, db);
			return 1;
		case KT_KEY_NO_KEYRING:
			fprintf(stderr, "kartoteka-server privacy: export: the keys of %s are not available here (no "
					"keyring next to it: a backup?). Give the keyring copied with it, --keys FILE, and "
					"the master key, --key FILE\n",
				db);
			return 1;
		case KT_KEY_ABSENT:
			fprintf(stderr, "kartoteka-server privacy: export: the key of client %s is not in this keyring "
					"(not erased: is it the keyring that belongs to %s? --keys FILE)\n",
				client, db);
			return 1;
		}
	}
	if ((rc = export_client(st, client, &doc)))
		return fail("export", rc);
	if (store_read_only(st))
		fprintf(stderr, "kartoteka-server privacy: export: %s was opened read-only (a backup, or --keys "
				"given): this export is not in its audit log\n",
			db);
	fputs(doc, stdout);
	fputc('\n', stdout);
	free(doc);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int erase_one(kt_store *st, const char *client, const char *by)
{
	kt_erasure_result r;
	int rc = erasure_erase(st, client, by, &r);
	if (rc)
		return rc;
	printf("erased\t%s\tvisits deleted %d\tappointments kept without personal data %d\tother rows deleted %d\t"
	       "devices to purge %d\tseq %lld\tspooled mail files deleted %d\n",
	       client, r.visits, r.appointments, r.other_rows, r.devices, (long long)r.seq, r.spool_files);
	return KT_OK;
}

/* The due date as the salon's local date (the day the month ends there),
 * marked when it has passed. */
static int print_pending(void *user, const kt_erasure_info *e)
{
	char at[KT_TEXT_TIME], zone[RESOLVE_ZONE] = "", due[32];
	int64_t due_at = erasure_due_at(e->requested_at);
	(void)user;
	show_time(e->org_id, e->requested_at, at);
	if (shown_st)
		resolve_org_zone(shown_st, e->org_id, zone);
	if (kt_date_format(zone[0] ? zone : "UTC", due_at, due, sizeof due))
		kt_date_format("UTC", due_at, due, sizeof due);
	printf("%s\t%s\t%s\t%s%s\t%s\n", e->client_id, e->org_id, at, due, kt_now_ms() > due_at ? " OVERDUE" : "",
	       e->requested_by);
	return 0;
}

struct status_ctx {
	int devices, purged, wipe, lost;
	char org[KT_UUID_LEN + 1]; /* the erasure's, for the devices' times */
};

static int print_info(void *user, const kt_erasure_info *e)
{
	struct status_ctx *c = user;
	char req[KT_TEXT_TIME], done[KT_TEXT_TIME];
	kt_strcpy_cut(c->org, sizeof c->org, e->org_id);
	show_time(e->org_id, e->requested_at, req);
	show_time(e->org_id, e->done_at, done);
	printf("erasure\t%s\tstatus %s\trequested %s by %s\tdone %s by %s\tseq %lld\n", e->client_id, e->status, req,
	       e->requested_by, done, e->confirmed_by[0] ? e->confirmed_by : "-", (long long)e->seq);
	return 0;
}

static int print_device(void *user, const kt_erasure_device *d)
{
	struct status_ctx *c = user;
	char purged[KT_TEXT_TIME], seen[KT_TEXT_TIME], lost[KT_TEXT_TIME];
	const char *state = erasure_device_state(d);
	show_time(c->org[0] ? c->org : NULL, d->purged_at, purged);
	show_time(c->org[0] ? c->org : NULL, d->last_seen, seen);
	show_time(c->org[0] ? c->org : NULL, d->lost_at, lost);
	if (!c->devices++)
		printf("device\tkind\trole\tname\tprincipal\tstate\tpurged_at\tlast_seen\tlost\n");
	c->purged += !strcmp(state, "purged");
	c->lost += !strcmp(state, "lost");
	c->wipe += !strcmp(state, "wipe_ordered");
	char lostcol[160] = "-";
	if (d->lost_at)
		snprintf(lostcol, sizeof lostcol, "marked lost %s by %s", lost, d->lost_by[0] ? d->lost_by : "?");
	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d->device_id, d->kind, d->role, d->name[0] ? d->name : "-",
	       d->principal_id, state, purged, seen, lostcol);
	return 0;
}

static int cmd_status(kt_store *st, const char *client)
{
	struct status_ctx c = {0};
	int rc = erasure_status(st, client, NULL, print_info, print_device, &c);
	if (rc == KT_ENOT_FOUND) {
		fprintf(stderr, "kartoteka-server privacy: erasure-status: no erasure of client %s was requested or done\n",
			client);
		return 1;
	}
	if (rc)
		return fail("erasure-status", rc);
	printf("summary\t%d of %d devices purged\t%d not yet\t%d wipe ordered (revoked: told to wipe when they "
	       "connect)\t%d lost (marked lost: no receipt will come)\n",
	       c.purged, c.devices, c.devices - c.purged - c.wipe - c.lost, c.wipe, c.lost);
	return 0;
}

struct retention_ctx {
	kt_store *st;
	bool erase;
	int n, failed;
};

static int retention_one(void *user, const char *client, const char *org, const char *last)
{
	struct retention_ctx *c = user;
	c->n++;
	if (!c->erase) {
		printf("%s\t%s\t%s\n", client, org, last[0] ? last : "-");
		return 0;
	}
	int rc = erase_one(c->st, client, "retention");
	if (rc) {
		fprintf(stderr, "kartoteka-server privacy: retention: %s: %s\n", client, why(rc));
		c->failed++;
	}
	return 0;
}

static int cmd_retention(kt_store *st, int months, bool erase)
{
	struct retention_ctx c = {st, erase, 0, 0};
	if (!erase)
		printf("client\torganisation\tlast_visit\n");
	int rc = retention_list(st, NULL, months, retention_one, &c);
	if (rc)
		return fail("retention", rc);
	fprintf(stderr, "kartoteka-server privacy: %d client(s) without a visit in %d months%s\n", c.n, months,
		erase ? " erased" : "");
	return c.failed ? 1 : 0;
}

int privacy_main(const char *db, int retention_months, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "", *client = kt_arg_value(argc, argv, "--client");
	const char *months_s = kt_arg_value(argc, argv, "--months"), *msg = NULL;
	bool export = !strcmp(sub, "export"), erase = !strcmp(sub, "erase"), pending = !strcmp(sub, "pending");
	bool status = !strcmp(sub, "erasure-status"), retention = !strcmp(sub, "retention");
	bool confirm = kt_arg_flag(argc, argv, "--confirm"), ret_erase = kt_arg_flag(argc, argv, "--erase");
	int months = retention_months, rc;
	kt_store *st = NULL;

	if (!export && !erase && !pending && !status && !retention) {
		if (strcmp(sub, "help"))
			fprintf(stderr, "kartoteka-server privacy: unknown subcommand '%s'\n", sub);
		privacy_usage(stderr);
		return 2;
	}
	if (!db) {
		fprintf(stderr, "kartoteka-server privacy %s: --db FILE is required\n", sub);
		return 2;
	}
	if ((export || erase || status) && (!client || !*client)) {
		fprintf(stderr, "kartoteka-server privacy %s: --client CLIENT (an id or a name) is required\n", sub);
		return 2;
	}
	if ((erase || ret_erase) && !confirm) {
		fprintf(stderr, "kartoteka-server privacy %s: erasure cannot be undone; add --confirm\n", sub);
		return 2;
	}
	if (months_s) {
		char *end;
		errno = 0;
		long m = strtol(months_s, &end, 10);
		if (errno || *end || end == months_s || m < 1 || m > 1200) {
			fprintf(stderr, "kartoteka-server privacy retention: --months wants 1 to 1200\n");
			return 2;
		}
		months = (int)m;
	}
	/* what only reads opens read-only: a backup stays as it is, nothing is
	 * created next to it. An export reads too, but is recorded in the audit
	 * log of a live database (one with its own keyring and no --keys). */
	char keys[4096 + 8], own_keys[4096 + 8];
	keyring_keys_path(db, keys, sizeof keys);
	snprintf(own_keys, sizeof own_keys, "%s.keys", db);
	bool live = !strcmp(keys, own_keys) && access(keys, F_OK) == 0;
	bool read_only = pending || status || (retention && !ret_erase) || (export && !live);
	if ((rc = store_open(db, read_only ? KT_STORE_READONLY : 0, &st, &msg))) {
		fprintf(stderr, "kartoteka-server privacy: %s: %s\n", db, msg);
		return 1;
	}
	shown_st = st;
	/* a name is looked up among the cards there are; an erased client's
	 * card is gone, so erasure-status of one is asked for by id */
	char client_id[KT_UUID_LEN + 1], err[RESOLVE_ERR];
	if (client && !kt_uuid_valid(client, strlen(client)) && (export || erase || status)) {
		if ((rc = resolve_id(st, RESOLVE_CLIENT, NULL, "--client", client, client_id, err, sizeof err))) {
			fprintf(stderr, "kartoteka-server privacy %s: %s\n", sub, err);
			store_close(st);
			return rc == KT_EIO ? 1 : 2;
		}
		client = client_id;
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (export)
		rc = cmd_export(st, db, client);
	else if (erase)
		rc = (rc = erase_one(st, client, "operator")) ? fail("erase", rc) : 0;
	else if (pending) {
		printf("client\torganisation\trequested_at\tdue\trequested_by\n");
		rc = erasure_list_pending(st, NULL, print_pending, NULL) ? fail("pending", KT_EIO) : 0;
	} else if (status)
		rc = cmd_status(st, client);
	else
		rc = cmd_retention(st, months, ret_erase);
	shown_st = NULL;
	store_close(st);
	return rc;
}
