/* cursor.c - opaque, MAC'd sync cursors. A cursor names a position in the
 * change log and is bound to the organisation, principal, device and the
 * principal's rights (role + locations), so it cannot be forged, moved to
 * another device, or used after a change of rights to skip evictions.
 * Layout: version(1) | seq(8) | issued_ms(8) | rights(8) | mac(16). */
#include <string.h>
#include <sodium.h>
#include "server.h"
#include "sync/cursor.h"

#define CURSOR_VERSION 1

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Fingerprint of what the principal may see now. */
static uint64_t rights_of(const kt_principal *p)
{
	uint8_t h[8];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const uint8_t *)kt_role_name(p->role), strlen(kt_role_name(p->role)));
	crypto_generichash_update(&st, (const uint8_t *)"|", 1);
	if (p->locs)
		crypto_generichash_update(&st, (const uint8_t *)p->locs, strlen(p->locs));
	crypto_generichash_final(&st, h, sizeof h);
	return get64(h);
}

uint64_t cursor_rights(const kt_principal *p)
{
	return rights_of(p);
}

static void mac(kt_server *srv, const kt_session *s, const uint8_t *body, size_t blen, uint8_t out[16])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, srv->cursor_key, sizeof srv->cursor_key, 16);
	crypto_generichash_update(&st, body, blen);
	crypto_generichash_update(&st, (const uint8_t *)s->principal.org, sizeof s->principal.org);
	crypto_generichash_update(&st, (const uint8_t *)s->principal.id, sizeof s->principal.id);
	crypto_generichash_update(&st, (const uint8_t *)s->device, sizeof s->device);
	crypto_generichash_final(&st, out, 16);
}

void cursor_make(kt_server *srv, const kt_session *s, int64_t seq, uint8_t out[KT_CURSOR_LEN])
{
	/* during a rights diff (sync.c) cursors name the old rights: one kept
	 * from then leads to a snapshot, never to a half-applied difference;
	 * so do they while the stream has not met a change a request saw */
	cursor_make_rights(srv, s, seq, rights_of(s->diff_active ? &s->diff_old : s->has_basis ? &s->basis : &s->principal),
			   out);
}

void cursor_make_rights(kt_server *srv, const kt_session *s, int64_t seq, uint64_t rights, uint8_t out[KT_CURSOR_LEN])
{
	out[0] = CURSOR_VERSION;
	put64(out + 1, (uint64_t)seq);
	put64(out + 9, (uint64_t)kt_now_ms());
	put64(out + 17, rights);
	mac(srv, s, out, 25, out + 25);
}

int cursor_check(kt_server *srv, const kt_session *s, const void *c, size_t len, int64_t *seq)
{
	const uint8_t *b = c;
	uint8_t want[16];
	int64_t q;

	if (len != KT_CURSOR_LEN || b[0] != CURSOR_VERSION)
		return KT_EBAD_CURSOR;
	mac(srv, s, b, 25, want);
	if (sodium_memcmp(want, b + 25, 16) != 0)
		return KT_EBAD_CURSOR; /* forged, or from another device/principal/org */
	if (get64(b + 17) != rights_of(s->diff_active ? &s->diff_old : &s->principal))
		return KT_EBAD_CURSOR; /* rights changed since: evictions may be owed (a diff's: as made) */
	q = (int64_t)get64(b + 1);
	if (q < 0 || q > srv->head_seq)
		return KT_EBAD_CURSOR; /* from a future this database never had (restored backup) */
	if (q + 1 < store_min_seq(srv->st))
		return KT_EBAD_CURSOR; /* older than the log we keep */
	*seq = q;
	return KT_OK;
}
