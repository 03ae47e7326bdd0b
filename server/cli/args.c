/* args.c - see args.h. */
#include <string.h>
#include "cli/args.h"
#include "cli/say.h"

int cli_args(const char *cmd, void (*usage)(FILE *), int argc, char **argv, cli_opt *opts, int nopts,
	     const char **pos, int max, int *npos)
{
	bool only_pos = false;
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		cli_opt *o = NULL;
		if (!only_pos && !strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (only_pos || strncmp(a, "--", 2) != 0) {
			if (*npos == max)
				return cli_say(cmd, 2, usage, "unexpected argument '%.60s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		for (int k = 0; k < nopts && !o; k++)
			if (!strcmp(a, opts[k].name))
				o = &opts[k];
		if (!o)
			return cli_say(cmd, 2, usage, "unknown option %.60s", a);
		if (o->seen && !o->many)
			return cli_say(cmd, 2, usage, "%s given twice", o->name);
		o->seen = true;
		if (o->flag)
			continue;
		if (i + 1 >= argc)
			return cli_say(cmd, 2, usage, "%s needs a value", o->name);
		o->value = argv[++i];
		if (o->many)
			o->many[o->nmany++] = o->value;
	}
	return 0;
}
