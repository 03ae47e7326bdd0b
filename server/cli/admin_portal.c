/* admin_portal.c - `kartoteka-server admin --db FILE portal ...`:
 *   invite CLIENT [--config FILE]  the operator sends a client a
 *       password-setup link. The mail goes into the outbox; a running
 *       server's mail worker delivers it (it looks every second).
 *   outbox [--limit N] [--json]  the newest mail and how its delivery went,
 *       times local to the first location (mail has no place of its own).
 * Prints no token, address or mail body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "cli/admin.h"
#include "cli/table.h"
#include "domain/outbox.h"
#include "domain/portal.h"
#include "domain/resolve.h"
#include "kt_text.h"

struct mail_ctx {
	cli_table *t;
	const char *zone;
};

static int print_mail(void *user, int64_t id, const char *purpose, const char *state, int attempts,
		      int64_t created_at, int64_t sent_at, const char *last_error)
{
	struct mail_ctx *c = user;
	cli_table_int(c->t, id);
	cli_table_str(c->t, purpose);
	cli_table_str(c->t, state);
	cli_table_int(c->t, attempts);
	cli_table_time(c->t, c->zone, created_at);
	cli_table_time(c->t, c->zone, sent_at);
	cli_table_str(c->t, last_error);
	cli_table_row_end(c->t);
	return 0;
}

static int list_outbox(const char *db, int argc, char **argv)
{
	static const char *const cols[] = {"id", "purpose", "state", "attempts", "created_at", "sent_at", "last_error"};
	kt_store *st = NULL;
	const char *msg = NULL;
	char zone[RESOLVE_ZONE];
	cli_table t;
	bool json = false;
	long limit = 50;
	int rc;
	admin_opt o[] = {{"--limit"}, {"--json", true}};
	const char *pos[1];
	int npos;
	if ((rc = admin_parse(argc - 1, argv + 1, o, 2, pos, 0, &npos)))
		return rc;
	json = o[1].seen;
	if (o[0].value) {
		char *end;
		limit = strtol(o[0].value, &end, 10);
		if (*end || end == o[0].value)
			limit = 0;
	}
	if (limit < 1 || limit > 100000) {
		fprintf(stderr, "kartoteka-server admin: usage: portal outbox [--limit N] [--json]; --limit wants 1..100000\n");
		return 2;
	}
	if (store_open(db, KT_STORE_READONLY, &st, &msg)) {
		fprintf(stderr, "kartoteka-server admin: %s: %s\n", db, msg);
		return 1;
	}
	resolve_org_zone(st, NULL, zone);
	struct mail_ctx c = {&t, zone};
	if (cli_table_begin(&t, json, cols, 7)) {
		store_close(st);
		return 1;
	}
	rc = outbox_list(st, (int)limit, print_mail, &c);
	if (cli_table_end(&t))
		rc = KT_ENOMEM;
	store_close(st);
	return rc ? 1 : 0;
}

int portal_admin_main(const char *db, const kt_portal_config *cfg, int argc, char **argv)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	uint8_t key[32];
	size_t klen = 0;
	int64_t expires = 0, mail_id = 0;
	char client[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE] = "", name[256];
	char until[KT_TEXT_TIME];
	int rc;

	if (argc >= 1 && !strcmp(argv[0], "outbox"))
		return list_outbox(db, argc, argv);
	if (argc < 2 || strcmp(argv[0], "invite")) {
		fprintf(stderr, "usage: kartoteka-server admin --db FILE portal invite CLIENT [--config FILE]\n"
				"       kartoteka-server admin --db FILE portal outbox [--limit N] [--json]\n"
				"CLIENT: the client's id, name, or the start of it\n");
		return 2;
	}
	if (store_open(db, 0, &st, &msg)) {
		fprintf(stderr, "kartoteka-server admin: %s: %s\n", db, msg);
		return 1;
	}
	if (store_meta_get(st, "token_key", key, sizeof key, &klen) || klen != sizeof key) {
		fprintf(stderr, "kartoteka-server admin: %s: server keys missing\n", db);
		store_close(st);
		return 1;
	}
	if ((rc = admin_want(st, RESOLVE_CLIENT, NULL, "CLIENT", argv[1], client))) {
		sodium_memzero(key, sizeof key);
		store_close(st);
		return rc;
	}
	char base[sizeof cfg->portal_url];
	if (portal_base_url(st, cfg, base, sizeof base)) {
		fprintf(stderr, "kartoteka-server admin: portal invite: %s\n", KT_PORTAL_NO_URL);
		sodium_memzero(key, sizeof key);
		store_close(st);
		return 1;
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	rc = portal_issue(st, cfg, key, client, KT_SETUP_INVITE, &expires, &mail_id);
	sodium_memzero(key, sizeof key);
	if (resolve_org_of(st, "client", client, org) == KT_OK)
		resolve_org_zone(st, org, zone);
	resolve_name(st, RESOLVE_CLIENT, client, name, sizeof name);
	store_close(st);
	if (rc) {
		fprintf(stderr, "kartoteka-server admin: portal invite: %s\n",
			rc == KT_ENO_EMAIL   ? "the client has no e-mail address"
			: rc == KT_ENOT_FOUND ? "no such client"
			: rc == KT_EINVALID   ? "the client's e-mail address is not a single plain address"
			: rc == KT_ECONFLICT  ? "another account already signs in with this client's e-mail"
					      : kt_strerror(rc));
		return 1;
	}
	kt_text_time(zone, expires, until);
	printf("invited %s to the portal: setup link queued as mail %lld, valid until %s\n", name, (long long)mail_id,
	       until);
	return 0;
}
