/* table.c - see table.h. The JSON is built with jansson, never by hand. */
#include <stdio.h>
#include <stdlib.h>
#include "cli/table.h"
#include "kt_text.h"

int cli_table_begin(cli_table *t, bool json, const char *const *cols, int ncols)
{
	*t = (cli_table){.json = json, .cols = cols, .ncols = ncols};
	if (json)
		return (t->rows = json_array()) ? 0 : -1;
	for (int i = 0; i < ncols; i++)
		printf("%s%s", i ? "\t" : "", cols[i]);
	putchar('\n');
	return 0;
}

static void put(cli_table *t, json_t *v, const char *text)
{
	if (t->json) {
		if (!t->row)
			t->row = json_object();
		if (t->row && t->col < t->ncols)
			json_object_set_new(t->row, t->cols[t->col], v ? v : json_null());
		else
			json_decref(v);
	} else {
		if (t->col)
			putchar('\t');
		/* tabs and line breaks inside values would break the columns */
		for (const char *p = text; p && *p; p++)
			putchar(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
	}
	t->col++;
}

void cli_table_str(cli_table *t, const char *s)
{
	put(t, t->json && s ? json_string(s) : NULL, s);
}

void cli_table_int(cli_table *t, long long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", v);
	put(t, t->json ? json_integer(v) : NULL, buf);
}

void cli_table_time(cli_table *t, const char *zone, int64_t ms)
{
	char buf[KT_TEXT_TIME];
	if (t->json) {
		kt_text_iso(ms, buf);
		put(t, ms > 0 ? json_string(buf) : NULL, NULL);
		return;
	}
	kt_text_time(zone, ms, buf);
	put(t, NULL, buf);
}

void cli_table_bool(cli_table *t, bool v)
{
	put(t, t->json ? json_boolean(v) : NULL, v ? "yes" : "no");
}

void cli_table_row_end(cli_table *t)
{
	if (t->json) {
		json_array_append_new(t->rows, t->row ? t->row : json_object());
		t->row = NULL;
	} else
		putchar('\n');
	t->col = 0;
}

int cli_table_end(cli_table *t)
{
	int rc = 0;
	if (t->json) {
		char *s = json_dumps(t->rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s) {
			puts(s);
			free(s);
		} else
			rc = -1;
		json_decref(t->rows);
		json_decref(t->row);
	}
	*t = (cli_table){0};
	return rc;
}

json_t *cli_table_take(cli_table *t)
{
	json_t *rows = t->rows;
	json_decref(t->row);
	*t = (cli_table){0};
	return rows;
}
