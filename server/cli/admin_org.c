/* admin_org.c - `kartoteka-server admin --db F org privacy-notice ...`: the
 * organisation's privacy notice, which clients read in the portal, set
 * from a file, shown, or cleared through domain/notice.c (the same
 * function the manage message calls). Each change says what it did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "db/validate.h"
#include "domain/notice.h"

/* The file's text (malloc'd) with Windows line ends made plain newlines, a
 * UTF-8 byte-order mark and trailing blank lines taken off: what an editor
 * writes. A file far over the limit is not read to its end. */
static char *read_notice(const char *path, char *err, size_t errlen)
{
	size_t cap = VALIDATE_MAX_NOTICE * 2 + 1, n = 0, o = 0;
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf;
	if (!f) {
		snprintf(err, errlen, "--file %s: cannot open it", path);
		return NULL;
	}
	if (!(buf = malloc(cap + 1))) {
		snprintf(err, errlen, "out of memory");
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, cap, f);
	bool bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		snprintf(err, errlen, "--file %s: cannot read it", path);
		free(buf);
		return NULL;
	}
	size_t i = n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
	for (; i < n; i++)
		if (!(buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n'))
			buf[o++] = buf[i];
	while (o > 0 && (buf[o - 1] == '\n' || buf[o - 1] == ' '))
		o--;
	buf[o] = 0;
	if (memchr(buf, 0, o)) {
		snprintf(err, errlen, "--file %s: plain text without NUL bytes", path);
		free(buf);
		return NULL;
	}
	return buf;
}

int admin_org(kt_store *st, int argc, char **argv)
{
	enum { FILE_, SHOW, CLEAR, ORG };
	admin_opt o[] = {{"--file"}, {"--show", true}, {"--clear", true}, {"--org"}};
	const char *pos[1];
	char org[KT_UUID_LEN + 1], name[256], err[320] = "", *text = NULL;
	int npos, rc;

	if (argc < 1 || strcmp(argv[0], "privacy-notice")) {
		fprintf(stderr, "kartoteka-server admin: org privacy-notice --file FILE | --show | --clear [--org O]\n");
		return 2;
	}
	if ((rc = admin_parse(argc - 1, argv + 1, o, 4, pos, 0, &npos)))
		return rc;
	if ((o[FILE_].value != NULL) + o[SHOW].seen + o[CLEAR].seen != 1) {
		fprintf(stderr, "kartoteka-server admin: org privacy-notice takes one of --file FILE (set it from a "
				"plain text file; - for stdin), --show or --clear\n");
		return 2;
	}
	if ((rc = admin_want_org(st, o[ORG].value, org)))
		return rc;
	resolve_name(st, RESOLVE_ORG, org, name, sizeof name);
	if (o[SHOW].seen) {
		if ((rc = notice_get(st, org, &text)))
			return admin_say_fail("org privacy-notice", "cannot read the organisation");
		if (!text)
			printf("%s has no privacy notice; set one with: kartoteka-server admin --db FILE org privacy-notice "
			       "--file NOTICE.txt\n",
			       name);
		else
			printf("%s\n", text);
		free(text);
		return 0;
	}
	if (o[FILE_].value && !(text = read_notice(o[FILE_].value, err, sizeof err)))
		return admin_say_fail("org privacy-notice", err);
	rc = notice_set(st, NULL, org, text, err, sizeof err);
	if (rc) {
		free(text);
		return admin_say_fail("org privacy-notice", err);
	}
	if (text) {
		int paras = 1;
		for (const char *p = text; (p = strstr(p, "\n\n")); p += 2) {
			while (p[2] == '\n')
				p++;
			paras++;
		}
		printf("set the privacy notice of %s: %d paragraph%s, %zu bytes; clients see it in the portal\n", name,
		       paras, paras == 1 ? "" : "s", strlen(text));
	} else
		printf("cleared the privacy notice of %s; clients see none until one is set\n", name);
	free(text);
	return 0;
}
