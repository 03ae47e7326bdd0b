/* portal_admin.c - `kartoteka-server admin --db FILE portal invite CLIENT_ID
 * [--config FILE]`: the operator sends a client a password-setup link. The
 * mail goes into the outbox; a running server's mail worker delivers it
 * (it looks for new mail every second). Prints no token. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "portal.h"

int portal_admin_main(const char *db, const kt_portal_config *cfg, int argc, char **argv)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	uint8_t key[32];
	size_t klen = 0;
	int64_t expires = 0, mail_id = 0;
	int rc;

	if (argc < 2 || strcmp(argv[0], "invite") || !kt_uuid_valid(argv[1], strlen(argv[1]))) {
		fprintf(stderr, "usage: kartoteka-server admin --db FILE portal invite CLIENT_ID [--config FILE]\n");
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
			: rc == KT_ECONFLICT  ? "another account already signs in with this client's e-mail"
					      : kt_strerror(rc));
		return 1;
	}
	printf("setup link queued as mail %lld; valid until %lld (ms since epoch)\n", (long long)mail_id,
	       (long long)expires);
	return 0;
}
