/* sqlite_ro.c - see sqlite_ro.h. */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db/sqlite_ro.h"

/* "file:" + path with every byte a URI could take for syntax escaped. */
static char *file_uri(const char *path, const char *query)
{
	size_t n = strlen(path), o = 0;
	char *u = malloc(5 + 3 * n + strlen(query) + 1);
	if (!u)
		return NULL;
	memcpy(u, "file:", 5);
	o = 5;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/._-~", *p))
			u[o++] = (char)*p;
		else
			o += (size_t)sprintf(u + o, "%%%02X", *p);
	}
	strcpy(u + o, query);
	return u;
}

int sqlite_open_ro(const char *path, int flags, sqlite3 **db)
{
	char wal[4200], journal[4200];
	bool live;
	char *uri;
	int rc;
	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(journal, sizeof journal, "%s-journal", path);
	/* a -journal left by a crash must be rolled back by a normal open */
	live = access(wal, F_OK) == 0 || access(journal, F_OK) == 0;
	/* immutable: no locks, no -shm, no -wal. A server that starts while we
	 * read writes to its own new WAL, which we do not look at; a command
	 * that only reads takes a moment. */
	if (!(uri = file_uri(path, live ? "?mode=ro" : "?mode=ro&immutable=1"))) {
		*db = NULL;
		return SQLITE_NOMEM;
	}
	rc = sqlite3_open_v2(uri, db, flags | SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	return rc;
}
