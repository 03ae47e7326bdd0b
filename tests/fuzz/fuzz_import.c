/* fuzz_import.c - a client list as another program exported it
 * (domain/import.c, import_read): encoding detection and conversion, the
 * delimiter, libcsv fed line by line, header mapping, per-row normalisation.
 * Input: one option byte (bits 0-1: encoding auto, UTF-8, 1250, 1252; bit 2:
 * month-first dates; bit 3: skip-invalid), then the file. Beyond "no crash",
 * it checks what the plan promises: rows numbered upwards from line 2, every
 * row either rejected with a reason or with a name, an E.164 phone, an ISO
 * birthday and a lower-case e-mail, and the counts adding up. */
#include <ctype.h>
#include <string.h>
#include "domain/import.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int enc[4] = {IMPORT_ENC_AUTO, IMPORT_UTF8, IMPORT_CP1250, IMPORT_CP1252};
	import_opts o = {.country = "SI"};
	import_plan *p = NULL;
	char err[512];
	int prev = 1;
	if (size < 1)
		return 0;
	o.encoding = enc[data[0] & 3];
	o.date_format = data[0] & 4 ? IMPORT_DATE_MDY : IMPORT_DATE_AUTO;
	o.skip_invalid = data[0] & 8;
	err[0] = 0;
	int rc = import_read(data + 1, size - 1, &o, &p, err, sizeof err);
	if (rc) {
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(rc == KT_EINVALID || rc == KT_ENOMEM);
		FUZZ_CHECK(rc == KT_ENOMEM || err[0]);
		return 0;
	}
	FUZZ_CHECK(p && p->nrows > 0 && p->ncols > 0);
	FUZZ_CHECK(p->delim == ',' || p->delim == ';' || p->delim == '\t');
	FUZZ_CHECK(p->ncreate + p->nrejected == p->nrows && p->nduplicate == 0);
	for (int i = 0; i < p->nrows; i++) {
		const import_row *r = &p->rows[i];
		FUZZ_CHECK(r->line > prev);
		prev = r->line;
		if (r->status == IMPORT_ROW_REJECTED) {
			FUZZ_CHECK(r->reason && r->reason[0]);
			continue;
		}
		FUZZ_CHECK(r->status == IMPORT_ROW_OK);
		FUZZ_CHECK(r->v[IF_NAME] && r->v[IF_NAME][0]);
		if (r->v[IF_PHONE])
			FUZZ_CHECK(r->v[IF_PHONE][0] == '+' && strlen(r->v[IF_PHONE]) <= 16);
		if (r->v[IF_BIRTHDAY])
			FUZZ_CHECK(strlen(r->v[IF_BIRTHDAY]) == 10 && r->v[IF_BIRTHDAY][4] == '-');
		for (const char *c = r->v[IF_EMAIL]; c && *c; c++)
			FUZZ_CHECK(!isupper((unsigned char)*c));
	}
	import_plan_free(p);
	return 0;
}
