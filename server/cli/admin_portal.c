/* admin_portal.c - `kartoteka-server admin --db FILE portal ...`:
 *   invite CLIENT_ID [--config FILE]  the operator sends a client a
 *       password-setup link. The mail goes into the outbox; a running
 *       server's mail worker delivers it (it looks every second).
 *   outbox [--limit N]  the newest mail and how its delivery went.
 * Prints no token, address or mail body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "domain/outbox.h"
#include "domain/portal.h"

static int print_mail(void *user, int64_t id, const char *purpose, const char *state, int attempts,
		      int64_t created_at, int64_t sent_at, const char *last_error)
{
	(void)user;
	printf("%lld\t%s\t%s\t%d\t%lld\t%lld\t%s\n", (long long)id, purpose, state, attempts, (long long)created_at,
	       (long long)sent_at, last_error);
	return 0;
}

static int list_outbox(const char *db, int argc, char **argv)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	int limit = 50, rc;
	for (int i = 1; i < argc - 1; i++)
		if (!strcmp(argv[i], "--limit"))
			limit = atoi(argv[i + 1]);
	if (limit < 1 || limit > 100000) {
		fprintf(stderr, "kartoteka-server admin: portal outbox: --limit wants 1..100000\n");
		return 2;
	}
	if (store_open(db, KT_STORE_READONLY, &st, &msg)) {
		fprintf(stderr, "kartoteka-server admin: %s: %s\n", db, msg);
		return 1;
	}
	printf("id\tpurpose\tstate\tattempts\tcreated_at\tsent_at\tlast_error\n");
	rc = outbox_list(st, limit, print_mail, NULL);
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
	int rc;

	if (argc >= 1 && !strcmp(argv[0], "outbox"))
		return list_outbox(db, argc, argv);
	if (argc < 2 || strcmp(argv[0], "invite") || !kt_uuid_valid(argv[1], strlen(argv[1]))) {
		fprintf(stderr, "usage: kartoteka-server admin --db FILE portal invite CLIENT_ID [--config FILE]\n"
				"       kartoteka-server admin --db FILE portal outbox [--limit N]\n");
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
	store_set_actor(st, "operator", NULL, NULL, 0);
	rc = portal_issue(st, cfg, key, argv[1], KT_SETUP_INVITE, &expires, &mail_id);
	sodium_memzero(key, sizeof key);
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
	printf("setup link queued as mail %lld; valid until %lld (ms since epoch)\n", (long long)mail_id,
	       (long long)expires);
	return 0;
}
