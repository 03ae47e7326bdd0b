/* export.h - `kartoteka-server export clients|appointments --db FILE --format
 * csv|json ...`: the owner takes the salon's data anywhere (the writing is
 * domain/table_export.c). */
#ifndef KT_EXPORT_CLI_H
#define KT_EXPORT_CLI_H

#include <stdio.h>

/* argv[0] is "clients" or "appointments" (borrowed). Exit status: 0 done,
 * 1 failed, 2 usage. */
int export_main(int argc, char **argv);
void export_usage(FILE *f);

#endif
