/* import.h - `kartoteka-server import clients --db FILE --location L FILE.csv
 * ...`: a client list from other salon software (the rules are
 * domain/import.c; this file reads arguments and the file, prints). */
#ifndef KT_IMPORT_CLI_H
#define KT_IMPORT_CLI_H

#include <stdio.h>

/* argv[0] is "clients" (borrowed). Output to stdout, errors to stderr as
 * "kartoteka-server import: <message>". Exit status: 0 done, 1 failed
 * (nothing created), 2 usage. */
int import_main(int argc, char **argv);
void import_usage(FILE *f);

#endif
