/* handle_link.c - the message `link` before sign-in (PROTOCOL-links.md):
 * a one-purpose link's page asks what to show ("open") and does the link's
 * one action ("act"); and the one-click unsubscribe POST of web.c. The
 * kinds are domain/link_actions.c's. A link signs nothing in: the session
 * stays where it was. Limits by client address, like portal_forgot.
 * Never logs a token. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "sync/after_commit.h"
#include "domain/link_actions.h"
#include "server.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

#define RATE_SLOTS 1024
_Static_assert(KT_LINK_TOKEN_LEN == KT_LINK_TOKEN_CHARS, "links.h and kt_limits.h name one token length");

typedef struct rate_slot {
	uint8_t key[16];
	int count;
	int64_t start;
} rate_slot;

/* Per-address counts of link requests and of unknown tokens. Loop thread
 * only (the WebSocket handler and web.c's POST both run there); one server
 * per process, so the table is this file's. Old addresses are pushed out
 * by new ones (oldest window first), which forgets, never blocks. */
static rate_slot slots[RATE_SLOTS];

static rate_slot *rate(const char *kind, const char *addr, int64_t now)
{
	uint8_t h[16];
	crypto_generichash_state gs;
	rate_slot *oldest = NULL;
	crypto_generichash_init(&gs, NULL, 0, sizeof h);
	crypto_generichash_update(&gs, (const uint8_t *)kind, strlen(kind));
	crypto_generichash_update(&gs, (const uint8_t *)addr, strlen(addr));
	crypto_generichash_final(&gs, h, sizeof h);
	uint32_t start = ((uint32_t)h[0] << 8 | h[1]) % RATE_SLOTS;
	for (int i = 0; i < 16; i++) {
		rate_slot *r = &slots[(start + (uint32_t)i) % RATE_SLOTS];
		if (!memcmp(r->key, h, sizeof h)) {
			if (now - r->start >= KT_LINK_ADDR_WINDOW_MS) {
				r->count = 0;
				r->start = now;
			}
			return r;
		}
		if (!oldest || r->start < oldest->start)
			oldest = r;
	}
	memset(oldest, 0, sizeof *oldest);
	memcpy(oldest->key, h, sizeof h);
	oldest->start = now;
	return oldest;
}

/* KT_OK and one more request counted, or KT_ERATE_LIMITED with *retry_ms.
 * all: count the request against the address's budget of requests too
 * (people's pages); the one-click POSTs come from mail providers' servers,
 * many people's from one address, and are held only by the budget of
 * unknown tokens (guessing). */
static int rate_take(const char *addr, int64_t now, bool all_count, int64_t *retry_ms)
{
	rate_slot *bad = rate("lb:", addr, now), *all = all_count ? rate("la:", addr, now) : NULL;
	*retry_ms = 0;
	if (bad->count >= KT_LINK_BAD_PER_ADDR)
		*retry_ms = bad->start + KT_LINK_ADDR_WINDOW_MS - now;
	else if (all && all->count >= KT_LINK_PER_ADDR)
		*retry_ms = all->start + KT_LINK_ADDR_WINDOW_MS - now;
	if (*retry_ms > 0)
		return KT_ERATE_LIMITED;
	if (all)
		all->count++;
	return KT_OK;
}

static void count_bad(const char *addr, int64_t now)
{
	rate("lb:", addr, now)->count++;
}

/* The token as a C string; false when it cannot be one of ours. */
static bool token_copy(const kt_str *t, char out[KT_LINK_TOKEN_LEN + 1])
{
	if (t->len != KT_LINK_TOKEN_LEN)
		return false;
	memcpy(out, t->s, t->len);
	out[t->len] = 0;
	return true;
}

static void answer(kt_session *s, const char *op, const char *kind, const kt_link_out *out)
{
	kt_server *srv = s->srv;
	frame_begin(srv);
	proto_link_result_encode(&srv->frame, op, kind, out->npairs, out->w.sb.data, out->w.sb.size);
	if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, "link", false);
}

int handle_link(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_server *srv = s->srv;
	kt_link_msg m;
	kt_link_out out;
	char token[KT_LINK_TOKEN_LEN + 1], kind[KT_LINK_KIND_MAX + 1], err[256] = "";
	int64_t now = kt_now_ms(), retry = 0;
	int rc = proto_link_decode(buf, len, &m);

	if (rc) {
		if (rc == KT_ETOO_LARGE)
			snprintf(err, sizeof err, "%s: at most %d bytes", m.bad, KT_LINK_MAX_TEXT);
		else if (!strcmp(m.bad, "op") || !strcmp(m.bad, "token") || !strcmp(m.bad, "text"))
			snprintf(err, sizeof err, "%s: a string is required", m.bad);
		else if (!strcmp(m.bad, "granted") || !strcmp(m.bad, "public_ok"))
			snprintf(err, sizeof err, "%s: true or false", m.bad);
		else if (m.bad[0])
			snprintf(err, sizeof err, "%s: a whole number", m.bad);
		else
			snprintf(err, sizeof err, "link needs op and token (strings), each key once");
		session_error(s, rc, err, "link", false);
		return 0;
	}
	bool act = kt_mp_str_eq(m.op.s, m.op.len, "act");
	if (!act && !kt_mp_str_eq(m.op.s, m.op.len, "open")) {
		session_error(s, KT_EINVALID, "op: open or act", "link", false);
		return 0;
	}
	if ((rc = rate_take(s->addr, now, true, &retry))) {
		session_error_retry(s, rc, "too many link requests from this address; retry later", "link", false, retry);
		return 0;
	}
	link_out_init(&out);
	if (!token_copy(&m.token, token)) {
		rc = kt_fail(err, sizeof err, KT_ETOKEN_INVALID, "token: the %d characters after /l/ in the link",
			     KT_LINK_TOKEN_LEN);
		kind[0] = 0;
	} else if (act) {
		kt_link_args a = {m.has_granted, m.granted, m.has_stars, m.stars, m.has_score, m.score,
				  m.has_public_ok, m.public_ok, m.text.s, m.text.len};
		rc = link_act(srv->st, token, &a, now, &out, kind, err, sizeof err);
	} else {
		rc = link_open(srv->st, token, now, &out, kind, err, sizeof err);
	}
	sodium_memzero(token, sizeof token);
	if (rc == KT_ETOKEN_INVALID) {
		count_bad(s->addr, now);
		s->auth_fails++;
		session_error(s, rc, err, "link", s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
	} else if (rc) {
		session_error(s, rc, err[0] ? err : NULL, "link", false);
	} else {
		kt_info("session %llu: %s link %s", (unsigned long long)s->id, kind, act ? "used" : "opened");
		answer(s, act ? "act" : "open", kind, &out);
	}
	link_out_free(&out);
	if (!rc && act)
		after_commit(srv); /* staff devices see the confirmation or the consent now */
	return 0;
}

int link_one_click(kt_server *srv, const char *addr, const char *token, int64_t *retry_ms)
{
	int64_t now = kt_now_ms();
	int rc = rate_take(addr, now, false, retry_ms);
	if (rc)
		return rc;
	rc = strlen(token) == KT_LINK_TOKEN_LEN ? link_unsubscribe_one_click(srv->st, token, now) : KT_ETOKEN_INVALID;
	if (rc == KT_ETOKEN_INVALID)
		count_bad(addr, now);
	if (!rc) {
		kt_info("one-click unsubscribe done");
		after_commit(srv);
	}
	return rc;
}
