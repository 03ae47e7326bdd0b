/* admin_staff.c - `kartoteka-server admin --db F staff invite|reset-password`:
 * the operator invites a staff member or sends a new password link, through
 * domain/staff.c (the manage message calls the same). The link goes into
 * the outbox; a running server's mail worker sends it. Prints no token. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "cli/admin.h"
#include "domain/org.h"
#include "domain/resolve.h"
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

/* When a link expires, in the organisation's local time with its zone, as
 * every other time the commands print. */
static void until_text(kt_store *st, const char *org, int64_t ms, char out[KT_TEXT_TIME])
{
	char zone[RESOLVE_ZONE];
	resolve_org_zone(st, org, zone);
	kt_text_time(zone, ms, out);
}

static int token_key(kt_store *st, uint8_t key[32])
{
	size_t klen = 0;
	return store_meta_get(st, "token_key", key, 32, &klen) || klen != 32 ? KT_EIO : KT_OK;
}

/* --location Maribor,Ljubljana: names or ids into a comma list of ids. */
static int resolve_locations(kt_store *st, const char *org, const char *in, char *out, size_t cap, char *err,
			     size_t errlen)
{
	char buf[1024], id[KT_UUID_LEN + 1];
	size_t len = 0;
	int rc;
	snprintf(buf, sizeof buf, "%s", in);
	out[0] = 0;
	for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if ((rc = location_resolve(st, org, p, id, err, errlen)))
			return rc;
		if (len + KT_UUID_LEN + 2 > cap) {
			snprintf(err, errlen, "locations: too many");
			return KT_EINVALID;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", id);
	}
	return KT_OK;
}

static int invite(kt_store *st, const char *org, int argc, char **argv)
{
	static const char *const names[] = {"--name", "--email", "--role", "--location", "--phone"};
	const char *v[5], *pos[1];
	char locs[64 * (KT_UUID_LEN + 1)], id[KT_UUID_LEN + 1], err[256] = "", until[KT_TEXT_TIME];
	uint8_t key[32];
	int64_t exp = 0;
	int npos, rc;

	if ((rc = admin_opts(argc, argv, names, v, 5, pos, 0, &npos)))
		return rc;
	if (!v[0] || !v[1] || !v[2]) {
		fprintf(stderr, "kartoteka-server admin: staff invite needs --name, --email and --role "
				"(and --location unless the role is owner)\n");
		return 2;
	}
	locs[0] = 0;
	if (v[3] && resolve_locations(st, org, v[3], locs, sizeof locs, err, sizeof err))
		return admin_say_fail("staff invite", err);
	if (token_key(st, key))
		return admin_say_fail("staff invite", "server keys missing (run init)");
	kt_invite_args a = {v[0], v[1], v[2], v[4], locs[0] ? locs : NULL};
	rc = staff_invite(st, NULL, admin_portal_config(), key, org, &a, id, &exp, err, sizeof err);
	sodium_memzero(key, sizeof key);
	if (rc)
		return admin_say_fail("staff invite", err);
	until_text(st, org, exp, until);
	printf("invited %s <%s> as %s%s%s; setup link queued (valid until %s) %s\n", a.name, a.email, a.role,
	       v[3] ? " at " : "", v[3] ? v[3] : "", until, id);
	return 0;
}

static int reset(kt_store *st, const char *org, int argc, char **argv)
{
	const char *v[1], *pos[1];
	char id[KT_UUID_LEN + 1], err[256] = "", until[KT_TEXT_TIME], name[200];
	uint8_t key[32];
	int64_t exp = 0;
	int npos, rc;

	if ((rc = admin_opts(argc, argv, NULL, v, 0, pos, 1, &npos)))
		return rc;
	if (npos != 1) {
		fprintf(stderr, "kartoteka-server admin: staff reset-password needs the person (name, e-mail or id)\n");
		return 2;
	}
	if (staff_resolve(st, org, pos[0], id, err, sizeof err))
		return admin_say_fail("staff reset-password", err);
	if (token_key(st, key))
		return admin_say_fail("staff reset-password", "server keys missing (run init)");
	rc = staff_send_link(st, NULL, admin_portal_config(), key, id, KT_SETUP_RESET, &exp, err, sizeof err);
	sodium_memzero(key, sizeof key);
	if (rc)
		return admin_say_fail("staff reset-password", err);
	until_text(st, org, exp, until);
	resolve_name(st, RESOLVE_STAFF, id, name, sizeof name); /* whom it found, not what was typed */
	printf("password link queued for %s (valid until %s); the current password works until it is used\n",
	       name, until);
	return 0;
}

int admin_staff_more(kt_store *st, int argc, char **argv)
{
	char org[KT_UUID_LEN + 1], err[256];
	if (!admin_portal_config())
		return admin_say_fail("staff", "no mail settings");
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (org_the_one(st, org, err, sizeof err))
		return admin_say_fail("staff", err);
	if (!strcmp(argv[0], "invite"))
		return invite(st, org, argc - 1, argv + 1);
	return reset(st, org, argc - 1, argv + 1);
}
