/* export.c - `kartoteka-server export` (see cli/export.h): picks the
 * organisation and location by name, opens the target, and leaves the rows
 * to domain/table_export.c. A file that could not be written whole is
 * removed, so nobody mistakes half an export for all of it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/export.h"
#include "domain/import.h"
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

static int say(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(int rc, const char *fmt, ...)
{
	va_list ap;
	fputs("kartoteka-server export: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (rc == 2)
		export_usage(stderr);
	return rc;
}

int export_main(int argc, char **argv)
{
	const char *db = NULL, *format = NULL, *location = NULL, *orgname = NULL, *outpath = NULL, *msg = NULL;
	int what, fmt, rows = 0, rc = 1;
	kt_store *st = NULL;
	FILE *out = NULL;
	char err[4096], org[KT_UUID_LEN + 1], name[128];
	import_location loc;

	if (argc < 1 || (strcmp(argv[0], "clients") && strcmp(argv[0], "appointments")))
		return say(2, "export what? clients or appointments");
	what = !strcmp(argv[0], "clients") ? TABLE_EXPORT_CLIENTS : TABLE_EXPORT_APPOINTMENTS;
	for (int i = 1; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--db") ? &db : !strcmp(argv[i], "--format") ? &format
			: !strcmp(argv[i], "--location") ? &location : !strcmp(argv[i], "--organisation") ? &orgname
			: !strcmp(argv[i], "--out") ? &outpath : NULL;
		if (!slot)
			return say(2, "unknown argument '%.60s'", argv[i]);
		if (*slot)
			return say(2, "%s given twice", argv[i]);
		if (i + 1 >= argc)
			return say(2, "%s needs a value", argv[i]);
		*slot = argv[++i];
	}
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
	if (location) {
		if (import_location_find(st, location, &loc, err, sizeof err)) {
			say(1, "%s", err);
			goto out;
		}
		if (orgname && table_export_org_find(st, orgname, org, name, err, sizeof err) == KT_OK &&
		    strcmp(org, loc.org)) {
			say(1, "location %s is not one of %s's", loc.name, name);
			goto out;
		}
		if (table_export_org_find(st, loc.org, org, name, err, sizeof err)) {
			say(1, "%s", err);
			goto out;
		}
	} else if (table_export_org_find(st, orgname, org, name, err, sizeof err)) {
		say(1, "%s", err);
		goto out;
	}
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
