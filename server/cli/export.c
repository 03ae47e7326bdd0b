/* export.c - `kartoteka-server export` (see cli/export.h): picks the
 * organisation and location by name, opens the target, and leaves the rows
 * to domain/table_export.c. A file that could not be written whole is
 * removed, so nobody mistakes half an export for all of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/args.h"
#include "cli/export.h"
#include "cli/say.h"
#include "domain/resolve.h"
#include "domain/table_export.h"

void export_usage(FILE *f)
{
	fprintf(f, "usage: kartoteka-server export clients|appointments --db FILE --format csv|json\n"
		   "         [--location L] [--organisation O] [--out FILE]\n"
		   "  clients: every card with its health fields, notes, locations and consent states\n"
		   "  appointments: start as local date and time at the location, with its zone\n"
		   "  --location L      only clients linked to / appointments at L (id, name or its start)\n"
		   "  --organisation O  which business (id or name); needed when the database holds several\n"
		   "  --out FILE        write there (mode 0600: it is personal data); default stdout\n"
		   "Each export is recorded in the audit log. exit status: 0 done, 1 failed, 2 usage\n");
}

#define say(rc, ...) cli_say("export", rc, (rc) == 2 ? export_usage : NULL, __VA_ARGS__)

int export_main(int argc, char **argv)
{
	const char *db = NULL, *format = NULL, *location = NULL, *orgname = NULL, *outpath = NULL, *msg = NULL;
	int what, fmt, rows = 0, rc = 1;
	kt_store *st = NULL;
	FILE *out = NULL;
	char err[4096], org[KT_UUID_LEN + 1], name[256];
	resolve_place loc;

	if (argc < 1 || (strcmp(argv[0], "clients") && strcmp(argv[0], "appointments")))
		return say(2, "export what? clients or appointments");
	what = !strcmp(argv[0], "clients") ? TABLE_EXPORT_CLIENTS : TABLE_EXPORT_APPOINTMENTS;
	cli_opt opt[] = {{"--db"}, {"--format"}, {"--location"}, {"--organisation"}, {"--out"}};
	const char *pos[1];
	int npos;
	if (cli_args("export", export_usage, argc - 1, argv + 1, opt, 5, pos, 0, &npos))
		return 2;
	db = opt[0].value;
	format = opt[1].value;
	location = opt[2].value;
	orgname = opt[3].value;
	outpath = opt[4].value;
	if (!db || !format)
		return say(2, "export needs --db FILE and --format csv|json");
	if (!strcmp(format, "csv"))
		fmt = TABLE_EXPORT_CSV;
	else if (!strcmp(format, "json"))
		fmt = TABLE_EXPORT_JSON;
	else
		return say(2, "--format is csv or json");
	if (store_open(db, 0, &st, &msg))
		return say(1, "%s: %s", db, msg ? msg : "cannot open");
	store_set_actor(st, "operator", NULL, NULL, 0);
	/* a location is looked for in the organisation named, else in all */
	if ((orgname && resolve_org_arg(st, "--organisation", orgname, org, err, sizeof err)) ||
	    (location && resolve_location(st, &(resolve_scope){orgname ? org : NULL, NULL}, "--location", location,
					  &loc, err, sizeof err)) ||
	    (!orgname && !location && resolve_org_arg(st, "--organisation", NULL, org, err, sizeof err))) {
		say(1, "%s", err);
		goto out;
	}
	if (location)
		memcpy(org, loc.org, sizeof org);
	resolve_name(st, RESOLVE_ORG, org, name, sizeof name);
	if (outpath && !(out = fopen(outpath, "wx"))) {
		say(1, "%s: %s%s", outpath, strerror(errno), errno == EEXIST ? " (an export never overwrites a file)" : "");
		goto out;
	}
	if (table_export(st, what, org, location ? loc.id : NULL, fmt, out ? out : stdout,
			 outpath ? outpath : "stdout", &rows, err, sizeof err)) {
		say(1, "%s", err);
		if (out) {
			fclose(out);
			out = NULL;
			unlink(outpath);
		}
		goto out;
	}
	if (out && fclose(out)) {
		out = NULL;
		unlink(outpath);
		say(1, "%s: cannot write", outpath);
		goto out;
	}
	out = NULL;
	/* what was done goes to stderr: stdout may be the export itself */
	fprintf(stderr, "kartoteka-server export: %d %s of %s%s%s written to %s (%s); recorded in the audit log\n", rows,
		what == TABLE_EXPORT_CLIENTS ? "client(s)" : "appointment(s)", name, location ? " at " : "",
		location ? loc.name : "", outpath ? outpath : "stdout", format);
	rc = 0;
out:
	if (out)
		fclose(out);
	store_close(st);
	return rc;
}
