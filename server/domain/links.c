/* links.c - see links.h. The token is 16 random bytes; the table keeps
 * BLAKE2b(token) keyed with the server's token_key (meta), like setup
 * tokens, so a copy of the database does not hold usable links. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "domain/links.h"

#define RAW 16

static int link_key(kt_store *st, uint8_t key[32])
{
	size_t len = 0;
	if (store_meta_get(st, "token_key", key, 32, &len) != KT_OK || len != 32)
		return KT_EINTERNAL; /* serve and every command create it at start (ensure_keys) */
	return KT_OK;
}

static int token_hash(kt_store *st, const uint8_t raw[RAW], uint8_t out[32])
{
	uint8_t key[32];
	int rc = link_key(st, key);
	if (rc)
		return rc;
	crypto_generichash(out, 32, raw, RAW, key, sizeof key);
	sodium_memzero(key, sizeof key);
	return KT_OK;
}

static bool token_decode(const char *token, uint8_t raw[RAW])
{
	size_t n = 0;
	if (!token || strlen(token) != KT_LINK_TOKEN_LEN)
		return false;
	return sodium_base642bin(raw, RAW, token, KT_LINK_TOKEN_LEN, NULL, &n, NULL,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && n == RAW;
}

int links_issue(kt_store *st, const char *kind, const char *org, const char *client, const char *target,
		int64_t expires_at, char token[KT_LINK_TOKEN_LEN + 1])
{
	uint8_t raw[RAW], h[32];
	sqlite3_stmt *q;
	int rc;

	if (!kind || strlen(kind) > KT_LINK_KIND_MAX || !org)
		return KT_EINVALID;
	randombytes_buf(raw, sizeof raw);
	if ((rc = token_hash(st, raw, h)))
		return rc;
	sodium_bin2base64(token, KT_LINK_TOKEN_LEN + 1, raw, RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	if (!(q = store_prepare(st, "INSERT INTO link_token(token_hash, kind, org_id, client_id, target_id, "
				    "created_at, expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")))
		return KT_EIO;
	sqlite3_bind_blob(q, 1, h, sizeof h, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, org, -1, SQLITE_STATIC);
	if (client && *client)
		sqlite3_bind_text(q, 4, client, -1, SQLITE_STATIC);
	if (target && *target)
		sqlite3_bind_text(q, 5, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, kt_now_ms());
	sqlite3_bind_int64(q, 7, expires_at);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

static void col_copy(sqlite3_stmt *q, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int links_find(kt_store *st, const char *token, int64_t now, kt_link *out)
{
	uint8_t raw[RAW], h[32];
	sqlite3_stmt *q;
	int rc;

	memset(out, 0, sizeof *out);
	if (!token_decode(token, raw))
		return KT_ETOKEN_INVALID;
	rc = token_hash(st, raw, h);
	sodium_memzero(raw, sizeof raw);
	if (rc)
		return rc;
	if (!(q = store_prepare(st, "SELECT kind, org_id, client_id, target_id, created_at, expires_at, "
				    "coalesce(used_at, 0) FROM link_token WHERE token_hash = ?1")))
		return KT_EIO;
	sqlite3_bind_blob(q, 1, h, sizeof h, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		col_copy(q, 0, out->kind, sizeof out->kind);
		col_copy(q, 1, out->org, sizeof out->org);
		col_copy(q, 2, out->client, sizeof out->client);
		col_copy(q, 3, out->target, sizeof out->target);
		out->created_at = sqlite3_column_int64(q, 4);
		out->expires_at = sqlite3_column_int64(q, 5);
		out->used_at = sqlite3_column_int64(q, 6);
		rc = out->expires_at <= now ? KT_ETOKEN_EXPIRED : KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ETOKEN_INVALID : KT_EIO;
	store_finish(st, q);
	return rc;
}

int links_mark_used(kt_store *st, const char *token, int64_t now)
{
	uint8_t raw[RAW], h[32];
	sqlite3_stmt *q;
	int rc;
	if (!token_decode(token, raw))
		return KT_ETOKEN_INVALID;
	rc = token_hash(st, raw, h);
	sodium_memzero(raw, sizeof raw);
	if (rc)
		return rc;
	if (!(q = store_prepare(st, "UPDATE link_token SET used_at = coalesce(used_at, ?2) WHERE token_hash = ?1")))
		return KT_EIO;
	sqlite3_bind_blob(q, 1, h, sizeof h, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, now);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

int links_url(const char *base, const char *token, char *out, size_t cap)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	int w = snprintf(out, cap, "%.*s/l/%s", (int)n, base, token);
	return w < 0 || (size_t)w >= cap ? KT_ETOO_LARGE : KT_OK;
}

int links_drop_client(kt_store *st, const char *client)
{
	sqlite3_stmt *q = store_prepare(st, "DELETE FROM link_token WHERE client_id = ?1");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}
