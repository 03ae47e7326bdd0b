/* table.h - how every listing command prints: a header row and tab-separated
 * rows for people and shell pipes, or (--json) one JSON array of objects for
 * scripts, keyed by the header's names. Times go in as instants and come out
 * local with the zone's name (TSV) or as ISO 8601 UTC instants (JSON), so no
 * listing prints milliseconds since 1970. Writes to stdout only. */
#ifndef KT_CLI_TABLE_H
#define KT_CLI_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

typedef struct cli_table {
	bool json;
	const char *const *cols; /* borrowed, ncols names */
	int ncols, col;
	json_t *rows, *row; /* JSON only */
} cli_table;

/* Start a table: prints the header row unless json. */
int cli_table_begin(cli_table *t, bool json, const char *const *cols, int ncols) __attribute__((warn_unused_result));
/* The next cell of the current row: text (NULL: empty / null), a number, a
 * time (ms <= 0: "-" / null) shown in zone (NULL or "": UTC, so labelled),
 * or a yes/no. */
void cli_table_str(cli_table *t, const char *s);
void cli_table_int(cli_table *t, long long v);
void cli_table_time(cli_table *t, const char *zone, int64_t ms);
void cli_table_bool(cli_table *t, bool v);
/* End the current row. */
void cli_table_row_end(cli_table *t);
/* Print the JSON array (json) and free. 0, or -1 when out of memory. */
int cli_table_end(cli_table *t);

/* JSON only: end the table without printing; the caller owns the array. */
json_t *cli_table_take(cli_table *t);

#endif
