/* setup.h - `kartoteka-server setup --db FILE ...` (setup.c). */
#ifndef KT_SETUP_H
#define KT_SETUP_H

#include <stdio.h>
#include "domain/portal.h"

/* argv: the arguments after "setup". Returns the exit status (0, 1, 2). */
int setup_main(const kt_portal_config *cfg, int argc, char **argv);
void setup_usage(FILE *f);

#endif
