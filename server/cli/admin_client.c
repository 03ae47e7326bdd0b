/* admin_client.c - `kartoteka-server admin --db F client create|edit|merge|find`
 * through domain/clients.c and ops.c (the same code the protocol uses).
 * Cards may be named by id, unique id prefix or exact name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "domain/clients.h"
#include "domain/ops.h"
#include "domain/org.h"

struct found {
	int n, limit;
};

static int print_found(void *user, const char *id, const char *name)
{
	struct found *f = user;
	f->n++;
	printf("%s\t%s\n", name, id);
	return 0;
}

int admin_client_more(kt_store *st, int argc, char **argv)
{
	static const char *const names[] = {"--name", "--email", "--phone", "--location", "--birthday", "--address",
					    "--limit"};
	const char *v[7], *pos[2], *sub = argv[0];
	char org[KT_UUID_LEN + 1], id[KT_UUID_LEN + 1], id2[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1], err[256];
	bool create = !strcmp(sub, "create"), edit = !strcmp(sub, "edit"), merge = !strcmp(sub, "merge"),
	     find = !strcmp(sub, "find");
	int npos, rc;

	if (!create && !edit && !merge && !find) {
		fprintf(stderr, "kartoteka-server admin: client create, edit, merge, find or set?\n");
		return 2;
	}
	if ((rc = admin_opts(argc - 1, argv + 1, names, v, merge ? 0 : 7, pos, create ? 0 : merge ? 2 : 1, &npos)))
		return rc;
	if ((merge && npos != 2) || ((edit || find) && npos != 1)) {
		fprintf(stderr, "kartoteka-server admin: %s\n",
			merge  ? "client merge KEEP DUPLICATE (names or ids)"
			: edit ? "client edit CLIENT [--name N] [--email E] [--phone P] [--birthday D] [--address A]"
			       : "client find TEXT [--limit N]");
		return 2;
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (org_the_one(st, org, err, sizeof err))
		return admin_say_fail("client", err);
	if (find) {
		char next[KT_UUID_LEN + 1] = "";
		struct found f = {0, v[6] ? atoi(v[6]) : 20};
		if (f.limit < 1 || f.limit > 100) {
			fprintf(stderr, "kartoteka-server admin: client find: --limit wants 1 to 100\n");
			return 2;
		}
		printf("name\tid\n");
		/* the operator waits for the whole search: go on until the end or the limit */
		do {
			char after[KT_UUID_LEN + 1];
			memcpy(after, next, sizeof after);
			if ((rc = client_find(st, NULL, org, pos[0], f.limit - f.n, after, 5000, print_found, &f, next,
					      err, sizeof err)))
				return admin_say_fail("client find", err);
		} while (next[0] && f.n < f.limit);
		if (next[0])
			printf("(more may match: narrow the search or raise --limit)\n");
		return 0;
	}
	if (create) {
		if (!v[0]) {
			fprintf(stderr, "kartoteka-server admin: client create needs --name\n");
			return 2;
		}
		if (v[3] && location_resolve(st, org, v[3], loc, err, sizeof err))
			return admin_say_fail("client create", err);
		kt_client_args a = {v[0], v[1], v[2], v[3] ? loc : NULL};
		if ((rc = client_create(st, NULL, org, &a, id, err, sizeof err)))
			return admin_say_fail("client create", err);
		printf("created client %s%s%s %s\n", v[0], v[3] ? " at " : "", v[3] ? v[3] : "", id);
		return 0;
	}
	if (client_resolve(st, org, pos[0], id, err, sizeof err))
		return admin_say_fail(sub, err);
	if (merge) {
		if (client_resolve(st, org, pos[1], id2, err, sizeof err))
			return admin_say_fail("client merge", err);
		if ((rc = client_merge(st, NULL, org, id, id2, err, sizeof err)))
			return admin_say_fail("client merge", err);
		printf("merged client card %s into %s (%s); the duplicate card is removed, its history moved\n", id2,
		       pos[0], id);
		return 0;
	}
	static const char *const fields[] = {"name", "email", "phone", NULL, "birthday", "address"};
	int changed = 0;
	for (int i = 0; i < 6; i++) {
		if (!fields[i] || !v[i])
			continue;
		if ((rc = ops_client_set(st, id, fields[i], v[i][0] ? v[i] : NULL, err, sizeof err)))
			return admin_say_fail("client edit", err);
		printf("changed %s of client %s\n", fields[i], id);
		changed++;
	}
	if (!changed) {
		fprintf(stderr, "kartoteka-server admin: client edit: nothing to change\n");
		return 2;
	}
	return 0;
}
