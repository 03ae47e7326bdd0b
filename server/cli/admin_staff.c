/* admin_staff.c - `kartoteka-server admin --db F staff invite|reset-password`:
 * the operator invites a staff member or sends a new password link, through
 * domain/staff.c (the manage message calls the same). The link goes into
 * the outbox; a running server's mail worker sends it. Prints no token. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "cli/admin.h"
#include "kt_text.h"
#include "domain/staff.h"
#include "kt_text.h"

/* The mail settings for the links these commands queue; set by main.c
 * from --config before any command runs. */
static const kt_portal_config *portal_cfg;

void admin_set_portal_config(const kt_portal_config *cfg)
{
	portal_cfg = cfg;
}

const kt_portal_config *admin_portal_config(void)
{
	return portal_cfg;
}

/* When a link stops working, in the local time of the person's business. */
static void until_text(kt_store *st, const char *org, int64_t ms, char until[KT_TEXT_TIME])
{
	char zone[RESOLVE_ZONE];
	resolve_org_zone(st, org, zone);
	kt_text_time(zone, ms, until);
}

static int token_key(kt_store *st, uint8_t key[32])
{
	size_t klen = 0;
	return store_meta_get(st, "token_key", key, 32, &klen) || klen != 32 ? KT_EIO : KT_OK;
}

static int invite(kt_store *st, int argc, char **argv)
{
	enum { NAME, EMAIL, ROLE, LOC, PHONE, ORG };
	admin_opt o[] = {{"--name"}, {"--email"}, {"--role"}, {"--location"}, {"--phone"}, {"--org"}};
	const char *pos[1];
	char locs[64 * (KT_UUID_LEN + 1)], id[KT_UUID_LEN + 1], err[256] = "", until[KT_TEXT_TIME], org[KT_UUID_LEN + 1];
	uint8_t key[32];
	int64_t exp = 0;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, o, 6, pos, 0, &npos)))
		return rc;
	if (!o[NAME].value || !o[EMAIL].value || !o[ROLE].value) {
		fprintf(stderr, "kartoteka-server admin: staff invite needs --name, --email and --role "
				"(and --location unless the role is owner)\n");
		return 2;
	}
	/* the organisation: --org's, else the first location's, else the only one */
	locs[0] = 0;
	if (o[ORG].value && (rc = admin_want_org(st, o[ORG].value, org)))
		return rc;
	resolve_scope sc = {o[ORG].value ? org : NULL, NULL};
	if (o[LOC].value && (rc = admin_want_list(st, RESOLVE_LOCATION, &sc, "--location", o[LOC].value, locs,
						   sizeof locs)))
		return rc;
	char first[KT_UUID_LEN + 1];
	kt_strcpy_cut(first, sizeof first, locs); /* the first id of the list */
	if (!o[ORG].value && (*locs ? resolve_org_of(st, "location", first, org) : (rc = admin_want_org(st, NULL, org))))
		return rc ? rc : admin_say_fail("staff invite", "cannot read the location");
	if (token_key(st, key))
		return admin_say_fail("staff invite", "server keys missing (run init)");
	kt_invite_args a = {o[NAME].value, o[EMAIL].value, o[ROLE].value, o[PHONE].value, locs[0] ? locs : NULL};
	rc = staff_invite(st, NULL, admin_portal_config(), key, org, &a, id, &exp, err, sizeof err);
	sodium_memzero(key, sizeof key);
	if (rc)
		return admin_say_fail("staff invite", err);
	until_text(st, org, exp, until);
	printf("invited %s <%s> as %s%s%s; setup link queued (valid until %s) %s\n", a.name, a.email, a.role,
	       o[LOC].value ? " at " : "", o[LOC].value ? o[LOC].value : "", until, id);
	return 0;
}

static int reset(kt_store *st, int argc, char **argv)
{
	const char *pos[1];
	char id[KT_UUID_LEN + 1], err[256] = "", until[KT_TEXT_TIME], name[256];
	uint8_t key[32];
	int64_t exp = 0;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, NULL, 0, pos, 1, &npos)))
		return rc;
	if (npos != 1) {
		fprintf(stderr, "kartoteka-server admin: staff reset-password needs the person (name, e-mail or id)\n");
		return 2;
	}
	if ((rc = admin_want(st, RESOLVE_STAFF, NULL, "staff", pos[0], id)))
		return rc;
	if (token_key(st, key))
		return admin_say_fail("staff reset-password", "server keys missing (run init)");
	rc = staff_send_link(st, NULL, admin_portal_config(), key, id, KT_SETUP_RESET, &exp, err, sizeof err);
	sodium_memzero(key, sizeof key);
	if (rc)
		return admin_say_fail("staff reset-password", err);
	char org[KT_UUID_LEN + 1] = "";
	if (resolve_org_of(st, "staff", id, org) != KT_OK)
		org[0] = 0;
	until_text(st, *org ? org : NULL, exp, until);
	resolve_name(st, RESOLVE_STAFF, id, name, sizeof name);
	printf("password link queued for %s (valid until %s); the current password works until it is used\n", name,
	       until);
	return 0;
}

int admin_staff_more(kt_store *st, int argc, char **argv)
{
	if (!admin_portal_config())
		return admin_say_fail("staff", "no mail settings");
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (!strcmp(argv[0], "invite"))
		return invite(st, argc - 1, argv + 1);
	return reset(st, argc - 1, argv + 1);
}
