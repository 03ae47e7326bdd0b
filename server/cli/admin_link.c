/* admin_link.c - `kartoteka-server admin --db FILE link issue ...`: the
 * operator makes a one-purpose link by hand (to send it themselves, or to
 * try a link's page), the same kind the messages carry (links.h), and
 * prints its URL. The token is printed once, here, to the operator who
 * asked; the database keeps only its keyed hash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "domain/link_actions.h"
#include "domain/portal.h"
#include "kt_text.h"
#include "kt_time.h"

#define DAY_MS 86400000LL

static int usage(const char *what)
{
	fprintf(stderr,
		"kartoteka-server admin: %s\n"
		"usage: kartoteka-server admin --db FILE link issue --kind KIND --client C --target T\n"
		"                          [--expires TIME|+N(s|m|h|d)] [--config FILE]\n"
		"KIND and T: confirm (T: the appointment's id; expires at its start),\n"
		"  unsubscribe or reconsent (T: marketing_email, marketing_sms, birthday_greetings or\n"
		"  review_requests; 365 / 30 days), review (T: the visit's id), survey (T: VISIT:csat|nps|ces)\n"
		"  (30 days; when the server answers those kinds)\n"
		"prints the link's URL on its own last line\n",
		what);
	return 2;
}

/* --expires: a local time (the client's organisation's zone) or +N with a unit. */
static int expiry(const char *text, const char *zone, int64_t now, int64_t *out)
{
	char why[160];
	if (text[0] == '+') {
		char *end;
		errno = 0;
		long long n = strtoll(text + 1, &end, 10);
		long long unit = !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000 : !strcmp(end, "h") ? 3600000
							: !strcmp(end, "d") ? DAY_MS : 0;
		if (errno || end == text + 1 || n < 1 || n > 3650 || !unit)
			return usage("--expires +N with s, m, h or d (at most 3650)");
		*out = now + n * unit;
		return 0;
	}
	if (kt_time_parse(zone, text, out, why, sizeof why)) {
		fprintf(stderr, "kartoteka-server admin: --expires: %s\n", why);
		return 2;
	}
	return 0;
}

/* The appointment's start, when it is the client's. */
static int appointment_start(kt_store *st, const char *id, const char *client, int64_t *start)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT start_at FROM appointment WHERE id = ?1 AND client_id = ?2");
	int rc = KT_ENOT_FOUND;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, client, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*start = sqlite3_column_int64(q, 0);
		rc = KT_OK;
	}
	store_finish(st, q);
	return rc;
}

int admin_link(kt_store *st, int argc, char **argv)
{
	enum { KIND, CLIENT, TARGET, EXPIRES };
	admin_opt o[] = {{"--kind"}, {"--client"}, {"--target"}, {"--expires"}};
	const char *pos[1];
	char client[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE], base[1024], url[1200];
	char token[KT_LINK_TOKEN_LEN + 1], name[256], until[KT_TEXT_TIME], err[256];
	int64_t now = kt_now_ms(), expires = 0;
	int npos, rc;

	if (argc < 1 || strcmp(argv[0], "issue"))
		return usage("link issue is the only link command");
	if ((rc = admin_parse(argc - 1, argv + 1, o, 4, pos, 0, &npos)))
		return rc;
	if (!o[KIND].value || !o[CLIENT].value || !o[TARGET].value)
		return usage("link issue needs --kind, --client and --target");
	const char *kind = o[KIND].value, *target = o[TARGET].value;
	if (!link_actions_known(kind))
		return usage("--kind: confirm, unsubscribe, reconsent (review and survey when served)");
	if ((rc = admin_want(st, RESOLVE_CLIENT, NULL, "--client", o[CLIENT].value, client)))
		return rc;
	if (resolve_org_of(st, "client", client, org))
		return admin_say_fail("the client's organisation could not be read", NULL);
	resolve_org_zone(st, org, zone);
	if (!strcmp(kind, KT_LINK_CONFIRM)) {
		if ((rc = appointment_start(st, target, client, &expires)))
			return rc == KT_ENOT_FOUND ? usage("--target: an appointment id of this client")
						   : admin_say_fail("cannot read the appointment", kt_strerror(rc));
	} else if (!strcmp(kind, KT_LINK_UNSUBSCRIBE) || !strcmp(kind, KT_LINK_RECONSENT)) {
		if (strcmp(target, "marketing_email") && strcmp(target, "marketing_sms") &&
		    strcmp(target, "birthday_greetings") && strcmp(target, "review_requests"))
			return usage("--target: marketing_email, marketing_sms, birthday_greetings or review_requests");
		expires = now + (!strcmp(kind, KT_LINK_UNSUBSCRIBE) ? 365 : 30) * DAY_MS;
	} else {
		if (strlen(target) > 63)
			return usage("--target: at most 63 characters");
		expires = now + 30 * DAY_MS;
	}
	if (o[EXPIRES].value && (rc = expiry(o[EXPIRES].value, zone[0] ? zone : "UTC", now, &expires)))
		return rc;
	if (portal_base_url(st, admin_portal_config(), base, sizeof base))
		return admin_say_fail("link issue", KT_PORTAL_NO_URL);
	if ((rc = store_begin(st)))
		return admin_say_fail("cannot write the link", kt_strerror(rc));
	rc = links_issue(st, kind, org, client, target, expires, token);
	if ((rc = store_end(st, rc, err, sizeof err)))
		return admin_say_fail("cannot write the link", err[0] ? err : kt_strerror(rc));
	rc = links_url(base, token, url, sizeof url);
	memset(token, 0, sizeof token);
	if (rc)
		return admin_say_fail("the portal address is too long for a link", NULL);
	resolve_name(st, RESOLVE_CLIENT, client, name, sizeof name);
	kt_text_time(zone, expires, until);
	printf("%s link for %s, valid until %s:\n%s\n", kind, name, until, url);
	return 0;
}
