/* admin_common.c - what every admin subcommand shares, so that each reads
 * options, names rows and says mistakes the same way: the usage text, the
 * option parser's admin face, and names resolved through domain/resolve.c
 * (the candidates listed when a name is ambiguous). Calls nothing of the
 * other admin files. */
#include <stdio.h>
#include "cli/admin.h"
#include "cli/say.h"

void admin_usage_print(FILE *f)
{
	fprintf(f, "usage: kartoteka-server admin --db FILE SUBCOMMAND\n"
			"  appointment create --location L --client C --specialist P --start TIME\n"
			"                     [--duration MIN] [--services S,S] [--status ST]\n"
			"                     [--note TEXT] [--internal-note TEXT]\n"
			"                     [--allow-overlap | --override RULE,RULE] [--reason TEXT]\n"
			"                     says what it booked; the last word is the new id\n"
			"  appointment move ID [--location L] [--specialist P] [--start TIME]\n"
			"                     [--allow-overlap | --override RULE,RULE] [--reason TEXT]\n"
			"  appointment cancel ID [--reason TEXT]   TEXT: why (staff see it, the client does not)\n"
			"  client set C FIELD VALUE | client set C FIELD --clear\n"
			"  client create --name NAME [--email E] [--phone P] [--location L] [--org O]   a new card\n"
			"  client edit C [--name N] [--email E] [--phone P] [--birthday YYYY-MM-DD] [--address A]\n"
			"  client merge KEEP DUPLICATE    the duplicate's appointments, visits and consents move\n"
			"                              to KEEP; the duplicate card is removed (audited)\n"
			"  client find TEXT [--limit N] [--org O]  by name, phone or e-mail; names and ids\n"
			"  location list [--org O]     with time zones and organisations; closed ones say so\n"
			"  location create --name N --time-zone ZONE [--address A] [--phone P] [--org O]\n"
			"  location edit L [--name N] [--time-zone ZONE] [--address A] [--phone P]\n"
			"  location close L            it keeps its history and takes no new bookings\n"
			"  org privacy-notice --file F | --show | --clear [--org O]\n"
			"                              the salon's privacy notice clients read in the portal:\n"
			"                              plain text, paragraphs apart by a blank line, 64 KiB\n"
			"  staff invite --name N --email E --role ROLE [--location L,L] [--phone P] [--org O]\n"
			"                              mails a link to choose a password [--config FILE]\n"
			"  staff reset-password P      mails a new password link [--config FILE]\n"
			"  list locations|staff|clients|services|appointments [--location L] [--limit N]\n"
			"       [--from DATE|TIME] [--to DATE|TIME] (appointments) [--json]\n"
			"                              a header row, then tab-separated rows, id first\n"
			"  device list [--json]        the device register, newest first\n"
			"  device sign-out ID          end the device's sessions (it may sign in again)\n"
			"  device revoke ID            a lost device: sessions end, it must wipe its data\n"
			"  device lost ID              revoke it and record that it will never come back:\n"
			"                              erasures stop waiting for its purge receipt\n"
			"  staff deactivate P          the person can no longer sign in; sessions end\n"
			"  staff location P add|remove L    where the person works\n"
			"  staff role P ROLE           owner, manager, reception or specialist\n"
			"  hours set L DAYS INTERVALS|closed    opening hours: mon-sat 09:00-12:00,13:00-19:00\n"
			"  hours show L                opening and working hours by weekday, local time\n"
			"  closed add L YYYY-MM-DD [--reason TEXT]   a closed day (holiday)\n"
			"  staff hours set P L DAYS INTERVALS|off   working hours there\n"
			"  staff time-off add P --from TIME --to TIME [--reason TEXT]\n"
			"                              TIME local to the person's first location\n"
			"  service create --name N --duration MIN --price 25.00 [--locations L,L]\n"
			"                 [--specialists P,P] [--buffer MIN] [--org O]    prints the new id\n"
			"  service edit S [the same options]\n"
			"  consent C PURPOSE grant|withdraw --text-version V [--source in_salon|email_link]\n"
			"                              [--at TIME]              says what it recorded\n"
			"  consent show C [--json]     history and state\n"
			"  review list [--location L] [--limit N] [--json]   clients' reviews, newest first\n"
			"  review reply ID TEXT [--by P] | review reply ID --clear   the reply the client reads,\n"
			"                              signed by P's name (none: the organisation's)\n"
			"  review hide|show|highlight|unhighlight ID   in the public feed of the branch\n"
			"  portal invite C [--config FILE]   send a portal password-setup link\n"
			"  portal outbox [--limit N] [--json]   outgoing mail and its delivery state\n"
			"  link issue --kind KIND --client C --target T [--expires TIME|+N(s|m|h|d)]\n"
			"                              a one-purpose link (confirm, unsubscribe, reconsent, ...):\n"
			"                              prints its URL\n"
			"  outbox list [--state S] [--limit N] [--json]   messages (e-mail, SMS): kind,\n"
			"                              channel, state, local times, why dropped or failed\n"
			"  outbox resend ID            queue an 'unknown' message again (may arrive twice)\n"
			"  retention show [--days N] [--json]   the change log and stored push answers kept,\n"
			"                              and how much is older than changelog_days (90)\n"
			"  retention run [--days N] [--outbox-days N]   delete that now, and sent appointment\n"
			"                              messages after outbox_days (90; counts kept); serve\n"
			"                              does it hourly; says what went\n"
			"  message settings|template|list|counts|unconfirmed|campaign|daily ...\n"
			"                              reminders, templates, a client's messages, campaigns\n"
			"                              (see: admin --db F message help)\n"
			"  help                        this text (also --help after any subcommand)\n"
			"L, P, C, S: a location, staff member, client or service by id, by name, or by\n"
			"  the start of its name or of a word in it (--location Maribor, --client \"Ana N\");\n"
			"  case does not matter, accents do; also by 4 or more leading characters of the id,\n"
			"  and a staff member by e-mail. An ambiguous name lists the candidates (with their\n"
			"  organisation when the database holds several). Names are looked up across the\n"
			"  database, the others of one command in the organisation of the first.\n"
			"O: an organisation by id or name, for what a command creates when neither a\n"
			"  location named nor the database (one organisation) tells which.\n"
			"TIME: local time at the appointment's location, 2027-01-15 09:30 (or with :SS);\n"
			"  an explicit offset is taken as given: 2027-01-15 09:30+01:00, 2027-01-15T08:30Z.\n"
			"  A time the clocks skip (daylight saving time starts) is refused.\n"
			"DATE: 2027-01-15, a whole day, local to --location (else to the first location).\n"
			"Times print local with the zone (2027-01-15 09:30 CET); --json prints ISO 8601\n"
			"  UTC instants (2027-01-15T08:30:00Z).\n"
			"ST: booked (default), confirmed, cancelled, no_show, done\n"
			"--allow-overlap: book the specialist even when busy then (the reason is audited)\n"
			"--override: book against the named booking rules (overlap, opening_hours, closed_day,\n"
			"   working_hours, time_off, specialist_service, location_service, buffer); the reason\n"
			"   is audited with each rule overridden\n"
			"exit status: 0 done, 1 failed, 2 usage (also: a name not found or ambiguous;\n"
			"  nothing is changed then)\n");
}

int admin_parse(int argc, char **argv, admin_opt *opts, int nopts, const char **pos, int max, int *npos)
{
	return cli_args("admin", admin_usage_print, argc, argv, opts, nopts, pos, max, npos);
}

/* Not found or ambiguous is a usage error (2): nothing was changed, and
 * the message lists the candidates to pick from. */
static int want_said(int rc, const char *err)
{
	if (!rc)
		return 0;
	fprintf(stderr, "kartoteka-server admin: %s\n", err);
	return rc == KT_EIO || rc == KT_ENOMEM ? 1 : 2;
}

int admin_want(kt_store *st, resolve_kind kind, const resolve_scope *sc, const char *opt, const char *text,
	       char id[KT_UUID_LEN + 1])
{
	char err[RESOLVE_ERR];
	return want_said(resolve_id(st, kind, sc, opt, text, id, err, sizeof err), err);
}

int admin_want_list(kt_store *st, resolve_kind kind, const resolve_scope *sc, const char *opt, const char *list,
		    char *out, size_t cap)
{
	char err[RESOLVE_ERR];
	return want_said(resolve_id_list(st, kind, sc, opt, list, out, cap, err, sizeof err), err);
}

int admin_want_org(kt_store *st, const char *text, char org[KT_UUID_LEN + 1])
{
	char err[RESOLVE_ERR];
	return want_said(resolve_org_arg(st, "--org", text, org, err, sizeof err), err);
}

int admin_say_fail(const char *what, const char *err)
{
	return cli_say("admin", 1, NULL, "%s%s%s", what, err ? ": " : "", err ? err : "");
}
