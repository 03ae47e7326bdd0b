/* import.c - `kartoteka-server import clients` (see cli/import.h): reads the
 * arguments and the file, asks domain/import.c for the plan, prints it for a
 * person (column mapping, what is created, duplicates, rejected rows with
 * their lines) and, unless --dry-run, applies it in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/args.h"
#include "cli/import.h"
#include "cli/say.h"
#include "domain/import.h"
#include "domain/phone.h"
#include "domain/resolve.h"

#define SHOWN_ROWS 20 /* rows listed of what a dry run would create */

void import_usage(FILE *f)
{
	fprintf(f, "usage: kartoteka-server import clients --db FILE --location L FILE.csv\n"
		   "         [--map COLUMN=FIELD ...] [--dry-run] [--skip-invalid]\n"
		   "         [--country CC] [--encoding E] [--date-format DMY|MDY]\n"
		   "  L: the location's id, name, or the start of its name; every card is linked to it\n"
		   "  --map COLUMN=FIELD  COLUMN a header or a column number from 1; FIELD one of\n"
		   "                      " IMPORT_FIELDS "\n"
		   "  --dry-run           print the mapping, what would be created, duplicates and rejected\n"
		   "                      rows; change nothing (exit 1 when the real run would refuse)\n"
		   "  --skip-invalid      import the good rows even when some are rejected (the rejected\n"
		   "                      are listed); without it one bad row imports nothing\n"
		   "  --country CC        local phone numbers are read in this country's plan (default SI)\n"
		   "  --encoding E        utf-8, windows-1250 or windows-1252 (default: detected)\n"
		   "  --date-format F     how to read birthdays written 03/04/1985: DMY or MDY\n"
		   "                      (D.M.YYYY and YYYY-MM-DD need none)\n"
		   "A client whose e-mail or phone is already on a card, or on an earlier line, is skipped\n"
		   "and listed. Consents come only from explicit columns (source import).\n"
		   "exit status: 0 done, 1 failed (nothing created), 2 usage\n");
}

#define fail(...) cli_say("import", 1, NULL, __VA_ARGS__)
#define usage_error(...) cli_say("import", 2, import_usage, __VA_ARGS__)

/* The whole file, bounded. */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat sb;
	FILE *f = fopen(path, "rb");
	*buf = NULL;
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
		fclose(f);
		return fail("%s: not a regular file", path);
	}
	if ((uint64_t)sb.st_size > IMPORT_MAX_FILE) {
		fclose(f);
		return fail("%s: larger than %u MB: split the file", path, IMPORT_MAX_FILE >> 20);
	}
	if (!(*buf = malloc((size_t)sb.st_size + 1))) {
		fclose(f);
		return fail("out of memory");
	}
	*len = fread(*buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return fail("%s: cannot read", path);
	}
	fclose(f);
	return 0;
}

/* A cell of a table: no tabs or line breaks, cut to width bytes. */
static void cell(const char *s, int width)
{
	int n = 0;
	for (; s && *s && (width <= 0 || n < width); s++, n++)
		putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
	if (width > 0)
		for (; n < width; n++)
			putchar(' ');
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void print_plan(const import_plan *p, const char *file, const resolve_place *loc, const char *country,
		       bool dry)
{
	char delim[8];
	snprintf(delim, sizeof delim, p->delim == '\t' ? "tab" : "'%c'", p->delim);
	printf("file %s: %s, delimiter %s, %d row(s); location %s (%s); local phone numbers read as %s\n", file,
	       import_encoding_name(p->encoding), delim, p->nrows, loc->name, loc->zone, country);
	printf("\ncolumn\theader\tfield\n");
	for (int i = 0; i < p->ncols; i++) {
		printf("%d\t", i + 1);
		cell(p->headers[i], 0);
		printf("\t%s%s\n", import_field_name(p->map[i]), p->mapped_by_hand[i] ? " (--map)" : "");
	}
	if (dry) {
		int shown = 0;
		printf("\nwould create %d client(s)%s\n", p->ncreate, p->ncreate > SHOWN_ROWS ? ", the first 20:" : ":");
		if (p->ncreate)
			printf("line\tname\temail\tphone\tbirthday\tconsents\n");
		for (int i = 0; i < p->nrows && shown < SHOWN_ROWS; i++) {
			const import_row *r = &p->rows[i];
			if (r->status != IMPORT_ROW_OK)
				continue;
			shown++;
			printf("%d\t", r->line);
			cell(r->v[IF_NAME], 0);
			printf("\t%s\t%s\t%s\t", r->v[IF_EMAIL] ? r->v[IF_EMAIL] : "-", r->v[IF_PHONE] ? r->v[IF_PHONE] : "-",
			       r->v[IF_BIRTHDAY] ? r->v[IF_BIRTHDAY] : "-");
			bool any = false;
			for (int f = IF_CONSENT_EMAIL; f <= IF_CONSENT_REVIEW; f++)
				if (r->consent[f] >= 0) {
					printf("%s%s=%s", any ? "," : "", import_field_name(f) + 8, r->consent[f] ? "yes" : "no");
					any = true;
				}
			printf("%s\n", any ? "" : "-");
		}
	}
	printf("\nduplicates, skipped: %d\n", p->nduplicate);
	if (p->nduplicate)
		printf("line\tsame\tas\n");
	for (int i = 0; i < p->nrows; i++) {
		const import_row *r = &p->rows[i];
		if (r->status != IMPORT_ROW_DUPLICATE)
			continue;
		printf("%d\t%s\t", r->line, r->dup_by);
		if (r->dup_line) {
			printf("line %d (", r->dup_line);
			cell(r->dup_name, 0);
			printf(")\n");
		} else {
			printf("existing client ");
			cell(r->dup_name, 0);
			printf(" (%s)\n", r->dup_client);
		}
	}
	printf("\nrejected: %d\n", p->nrejected);
	if (p->nrejected)
		printf("line\treason\n");
	for (int i = 0; i < p->nrows; i++)
		if (p->rows[i].status == IMPORT_ROW_REJECTED) {
			printf("%d\t", p->rows[i].line);
			cell(p->rows[i].reason, 0);
			putchar('\n');
		}
}

int import_main(int argc, char **argv)
{
	const char *db = NULL, *location = NULL, *file = NULL, *country = "SI", *encoding = NULL, *date_format = NULL;
	const char **maps = NULL;
	bool dry = false, skip = false;
	int nmaps = 0, rc = 1;
	import_opts o = {0};
	import_plan *plan = NULL;
	resolve_place loc;
	unsigned char *buf = NULL;
	size_t len = 0;
	kt_store *st = NULL;
	const char *msg = NULL;
	char err[4096];

	if (argc < 1 || strcmp(argv[0], "clients"))
		return usage_error("import what? clients");
	if (!(maps = calloc((size_t)argc, sizeof *maps)))
		return fail("out of memory");
	enum { DB, LOCATION, COUNTRY, ENCODING, DATE_FORMAT, DRY_RUN, SKIP, MAP };
	cli_opt opt[] = {{"--db"}, {"--location"}, {"--country"}, {"--encoding"}, {"--date-format"},
			 {"--dry-run", true}, {"--skip-invalid", true}, {"--map", .many = maps}};
	const char *pos[1];
	int npos;
	if ((rc = cli_args("import", import_usage, argc - 1, argv + 1, opt, 8, pos, 1, &npos)))
		goto out;
	rc = 1;
	db = opt[DB].value;
	location = opt[LOCATION].value;
	if (opt[COUNTRY].value)
		country = opt[COUNTRY].value;
	encoding = opt[ENCODING].value;
	date_format = opt[DATE_FORMAT].value;
	dry = opt[DRY_RUN].seen;
	skip = opt[SKIP].seen;
	nmaps = opt[MAP].nmany;
	file = npos ? pos[0] : NULL;
	if (!db || !location || !file) {
		rc = usage_error("import clients needs --db FILE, --location L and the CSV file");
		goto out;
	}
	for (int k = 0; k < nmaps; k++) {
		const char *eq = strrchr(maps[k], '=');
		if (!eq || eq == maps[k] || import_field_parse(eq + 1) < 0) {
			rc = usage_error("--map %.60s: FIELD is one of " IMPORT_FIELDS, maps[k]);
			goto out;
		}
	}
	if (!phone_region_valid(country)) {
		rc = usage_error("--country wants a two-letter country code such as SI, DE, PL, FI, AT");
		goto out;
	}
	o.encoding = IMPORT_ENC_AUTO;
	if (encoding && (o.encoding = import_encoding_parse(encoding)) < IMPORT_UTF8) {
		rc = usage_error("--encoding is utf-8, windows-1250 or windows-1252");
		goto out;
	}
	if (date_format) {
		if (!strcasecmp(date_format, "DMY") || !strcasecmp(date_format, "DD/MM/YYYY"))
			o.date_format = IMPORT_DATE_DMY;
		else if (!strcasecmp(date_format, "MDY") || !strcasecmp(date_format, "MM/DD/YYYY"))
			o.date_format = IMPORT_DATE_MDY;
		else {
			rc = usage_error("--date-format is DMY (15/03/1985) or MDY (03/15/1985)");
			goto out;
		}
	}
	o.file_name = base_name(file);
	o.country = country;
	o.maps = maps;
	o.nmaps = nmaps;
	o.skip_invalid = skip;
	if ((rc = read_file(file, &buf, &len)))
		goto out;
	rc = 1;
	if (store_open(db, 0, &st, &msg)) {
		fail("%s: %s", db, msg ? msg : "cannot open");
		goto out;
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (resolve_location(st, NULL, "--location", location, &loc, err, sizeof err)) {
		fail("%s", err);
		goto out;
	}
	int e = import_read(buf, len, &o, &plan, err, sizeof err);
	if (e) {
		fail("%s: %s; nothing imported", file, e == KT_ENOMEM ? "out of memory" : err);
		goto out;
	}
	if ((e = import_find_duplicates(st, loc.org, plan, country))) {
		fail("cannot compare with the existing clients: %s", kt_strerror(e));
		goto out;
	}
	print_plan(plan, file, &loc, country, dry);
	if (dry) {
		bool refuse = plan->nrejected && !skip;
		printf("\ndry run: nothing was changed%s\n",
		       refuse ? "; the real run would import nothing while rows are rejected (fix them, or "
				"--skip-invalid)" : "");
		rc = refuse ? 1 : 0;
		goto out;
	}
	if ((e = import_apply(st, loc.org, loc.id, plan, &o, err, sizeof err))) {
		fail("%s", err);
		goto out;
	}
	printf("\nimported %d client(s) into %s from %s; %d duplicate(s) skipped, %d rejected row(s)%s\n",
	       plan->ncreate, loc.name, o.file_name, plan->nduplicate, plan->nrejected,
	       plan->nrejected ? " skipped" : "");
	rc = 0;
out:
	import_plan_free(plan);
	store_close(st);
	free(buf);
	free(maps);
	if (fflush(stdout) != 0 && rc == 0)
		rc = fail("cannot write the output");
	return rc;
}
