/* args.h - the one option parser of the server's commands: options by
 * exact name ("--start"), each at most once (unless it collects many, such
 * as --map), flags without a value, and
 * positionals; "--" ends the options (for values that start with "--").
 * An unknown, repeated or valueless option is a usage error, never
 * silently ignored. */
#ifndef KT_CLI_ARGS_H
#define KT_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>

typedef struct cli_opt {
	const char *name;  /* "--start" */
	bool flag;         /* takes no value */
	const char *value; /* set by cli_args (borrowed from argv) */
	bool seen;
	const char **many; /* not NULL: may be repeated; the values go here (room for argc) */
	int nmany;
} cli_opt;

/* Sort argv into the options of opts and at most max positionals (pos,
 * *npos). 0, or 2 after saying the mistake as `kartoteka-server CMD: ...`
 * and then usage(stderr) when usage is not NULL. */
int cli_args(const char *cmd, void (*usage)(FILE *), int argc, char **argv, cli_opt *opts, int nopts,
	     const char **pos, int max, int *npos);

#endif
