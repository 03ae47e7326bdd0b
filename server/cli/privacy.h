/* privacy.h - `kartoteka-server privacy SUBCOMMAND --db FILE ...`: data
 * export, erasure, erasure status and retention for the operator at the
 * server (the same code paths as the protocol's privacy calls). */
#ifndef KT_PRIVACY_CLI_H
#define KT_PRIVACY_CLI_H

#include <stdio.h>

/* argv[0] is the subcommand (borrowed). retention_months: from the config
 * file, or KT_RETENTION_MONTHS_DEFAULT. Output to stdout, errors to stderr
 * as "kartoteka-server privacy: <message>". Returns the exit status: 0
 * success, 1 failure (e.g. no such client), 2 usage. */
int privacy_main(const char *db, int retention_months, int argc, char **argv);
void privacy_usage(FILE *f);

#endif
