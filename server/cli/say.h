/* say.h - how every command tells a person what went wrong: one line
 * "kartoteka-server CMD: message" on stderr, for a usage error followed by
 * the command's usage, and the exit status to return. */
#ifndef KT_CLI_SAY_H
#define KT_CLI_SAY_H

#include <stdio.h>

/* Print the message (and usage(stderr) when usage is not NULL); returns
 * status, so that `return cli_say("admin", 1, NULL, "...")` ends a command. */
int cli_say(const char *cmd, int status, void (*usage)(FILE *), const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
