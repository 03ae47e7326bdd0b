/* say.c - see say.h. */
#include <stdarg.h>
#include "cli/say.h"

int cli_say(const char *cmd, int status, void (*usage)(FILE *), const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "kartoteka-server %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (usage)
		usage(stderr);
	return status;
}
