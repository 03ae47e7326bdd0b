/* admin_client.c - `kartoteka-server admin --db F client create|edit|merge|find`
 * through domain/clients.c and ops.c (the same code the protocol uses).
 * Cards are named as everywhere (resolve.h), across the database; a card
 * is created in the organisation of its --location, --org's, or the only
 * one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "domain/clients.h"
#include "domain/ops.h"

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

/* The cards of one organisation that match, until the end or the limit:
 * the operator waits for the whole search. */
static int find_in(kt_store *st, const char *org, const char *text, struct found *f, char next[KT_UUID_LEN + 1])
{
	char err[256];
	next[0] = 0;
	do {
		char after[KT_UUID_LEN + 1];
		memcpy(after, next, sizeof after);
		if (client_find(st, NULL, org, text, f->limit - f->n, after, 5000, print_found, f, next, err, sizeof err))
			return admin_say_fail("client find", err);
	} while (next[0] && f->n < f->limit);
	return 0;
}

static int find(kt_store *st, const char *org, const char *text, const char *limit)
{
	char next[KT_UUID_LEN + 1] = "";
	struct found f = {0, limit ? atoi(limit) : 20};
	sqlite3_stmt *q;
	int rc = 0;
	if (f.limit < 1 || f.limit > 100) {
		fprintf(stderr, "kartoteka-server admin: client find: --limit wants 1 to 100\n");
		return 2;
	}
	if (!(q = store_prepare(st, "SELECT id FROM organisation WHERE ?1 IS NULL OR id = ?1 ORDER BY name, id")))
		return admin_say_fail("client find", "cannot read the organisations");
	if (org)
		sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	printf("name\tid\n");
	while (!rc && f.n < f.limit && sqlite3_step(q) == SQLITE_ROW)
		rc = find_in(st, (const char *)sqlite3_column_text(q, 0), text, &f, next);
	store_finish(st, q);
	if (!rc && next[0])
		printf("(more may match: narrow the search or raise --limit)\n");
	return rc;
}

int admin_client_more(kt_store *st, int argc, char **argv)
{
	enum { NAME, EMAIL, PHONE, LOC, BIRTHDAY, ADDRESS, LIMIT, ORG };
	admin_opt o[] = {{"--name"}, {"--email"}, {"--phone"}, {"--location"}, {"--birthday"}, {"--address"},
			 {"--limit"}, {"--org"}};
	const char *pos[2], *sub = argv[0];
	char org[KT_UUID_LEN + 1], id[KT_UUID_LEN + 1], id2[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1], err[256];
	bool create = !strcmp(sub, "create"), edit = !strcmp(sub, "edit"), merge = !strcmp(sub, "merge"),
	     find_ = !strcmp(sub, "find");
	int npos, rc;

	if (!create && !edit && !merge && !find_) {
		fprintf(stderr, "kartoteka-server admin: client create, edit, merge, find or set?\n");
		return 2;
	}
	if ((rc = admin_parse(argc - 1, argv + 1, o, merge ? 0 : 8, pos, create ? 0 : merge ? 2 : 1, &npos)))
		return rc;
	if ((merge && npos != 2) || ((edit || find_) && npos != 1)) {
		fprintf(stderr, "kartoteka-server admin: %s\n",
			merge  ? "client merge KEEP DUPLICATE (names or ids)"
			: edit ? "client edit CLIENT [--name N] [--email E] [--phone P] [--birthday D] [--address A]"
			       : "client find TEXT [--limit N] [--org NAME]");
		return 2;
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (o[ORG].value && (rc = admin_want_org(st, o[ORG].value, org)))
		return rc;
	if (find_)
		return find(st, o[ORG].value ? org : NULL, pos[0], o[LIMIT].value);
	resolve_scope sc = {o[ORG].value ? org : NULL, NULL};
	if (create) {
		if (!o[NAME].value) {
			fprintf(stderr, "kartoteka-server admin: client create needs --name\n");
			return 2;
		}
		/* the organisation: --org's, else the location's, else the only one */
		if (o[LOC].value && (rc = admin_want(st, RESOLVE_LOCATION, &sc, "--location", o[LOC].value, loc)))
			return rc;
		if (!o[ORG].value &&
		    (o[LOC].value ? resolve_org_of(st, "location", loc, org) : (rc = admin_want_org(st, NULL, org))))
			return rc ? rc : admin_say_fail("client create", "cannot read the location");
		kt_client_args a = {o[NAME].value, o[EMAIL].value, o[PHONE].value, o[LOC].value ? loc : NULL};
		if ((rc = client_create(st, NULL, org, &a, id, err, sizeof err)))
			return admin_say_fail("client create", err);
		printf("created client %s%s%s %s\n", o[NAME].value, o[LOC].value ? " at " : "",
		       o[LOC].value ? o[LOC].value : "", id);
		return 0;
	}
	if ((rc = admin_want(st, RESOLVE_CLIENT, &sc, "client", pos[0], id)))
		return rc;
	if (merge) {
		/* the duplicate is looked for in the kept card's organisation */
		if (resolve_org_of(st, "client", id, org))
			return admin_say_fail("client merge", "cannot read the card");
		sc.org = org;
		if ((rc = admin_want(st, RESOLVE_CLIENT, &sc, "client", pos[1], id2)))
			return rc;
		if ((rc = client_merge(st, NULL, org, id, id2, err, sizeof err)))
			return admin_say_fail("client merge", err);
		printf("merged client card %s into %s (%s); the duplicate card is removed, its history moved\n", id2,
		       pos[0], id);
		return 0;
	}
	static const char *const fields[] = {"name", "email", "phone", NULL, "birthday", "address"};
	int changed = 0;
	for (int i = 0; i < 6; i++) {
		if (!fields[i] || !o[i].value)
			continue;
		if ((rc = ops_client_set(st, id, fields[i], o[i].value[0] ? o[i].value : NULL, err, sizeof err)))
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
