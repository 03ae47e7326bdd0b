/* stats.h - `kartoteka-server stats --db FILE --from DATE --to DATE ...`:
 * the owner's satisfaction figures as a table or JSON (domain/stats.c does
 * the counting). */
#ifndef KT_STATS_CLI_H
#define KT_STATS_CLI_H

#include <stdio.h>

/* Exit status: 0 done, 1 failed, 2 usage. argv borrowed. */
int stats_main(int argc, char **argv);
void stats_usage(FILE *f);

#endif
