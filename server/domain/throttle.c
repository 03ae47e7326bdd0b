/* throttle.c - the sign-in throttle: failed sign-ins counted per account,
 * per address and per (account, address the account signed in from
 * before), with lock-outs that double from 1 s to KT_THROTTLE_MAX_LOCK_S.
 * Loop thread only. It must never forget a lock-out to make room (a full
 * table refuses new attempts instead), never let parallel attempts pass the
 * limit (an attempt in flight counts as a failure until it succeeds), and
 * never hold an e-mail or address in the clear (entries are keyed hashes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "domain/throttle.h"
#include "db/store.h"

typedef struct entry {
	uint8_t key[16];      /* keyed hash of "a:" e-mail, "i:" address or "k:" e-mail "\n" address */
	uint32_t next;        /* the bucket's chain: index + 1, 0 ends it */
	bool used;
	bool stored;          /* a lock-out of it is in meta (lockout_save) */
	bool known;           /* a (account, address) that signed in: exempt from the account's lock-out */
	int fails;
	int inflight;         /* attempts queued or being checked, each a failure until it succeeds */
	int64_t locked_until;
	int64_t last;         /* last failure, or for a known pair its last sign-in */
} entry;

_Static_assert(sizeof(entry) == 48, "README and PROTOCOL.md state the table's size");

struct kt_throttle {
	kt_store *st;          /* where lock-outs outlive a restart (meta); NULL: memory only */
	uint8_t key[32];       /* keys the hashes */
	entry *e;             /* KT_THROTTLE_ENTRIES, allocated once: the memory bound */
	uint32_t *bucket;     /* KT_THROTTLE_ENTRIES heads, index + 1 */
	uint32_t free_head;   /* index + 1 of the first free entry, chained through next */
	int nused, nknown;
	int64_t last_sweep;
};

#define NBUCKET KT_THROTTLE_ENTRIES
/* Known pairs take at most half the table, so that remembering where people
 * signed in from can never leave no room to count an attack. */
#define MAX_KNOWN (KT_THROTTLE_ENTRIES / 2)
#define FORGET_MS (24LL * 3600 * 1000)                 /* an idle, unlocked count is dropped after this */
#define KNOWN_MS ((int64_t)KT_SESSION_TTL_S * 1000)    /* a pair not signed in from for this long is dropped */
#define LOCKOUT_PREFIX "lockout:"
#define KNOWN_PREFIX "signin:"

static void key_of(const kt_throttle *t, const char *kind, const char *a, size_t alen, const char *b,
		   uint8_t out[16])
{
	crypto_generichash_state st;
	/* keyed with a server secret: nobody can choose e-mails that share a
	 * bucket, and the lock-outs kept in meta name no e-mail or address */
	crypto_generichash_init(&st, t->key, sizeof t->key, 16);
	crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind));
	for (int part = 0; part < 2; part++) {
		const char *s = part ? b : a;
		size_t n = part ? (b ? strlen(b) : 0) : alen;
		if (part && b)
			crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)s[i];
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + 32); /* e-mails compare case-insensitively */
			crypto_generichash_update(&st, &c, 1);
		}
	}
	crypto_generichash_final(&st, out, 16);
}

static uint32_t bucket_of(const uint8_t key[16])
{
	uint32_t h;
	memcpy(&h, key, sizeof h);
	return h % NBUCKET;
}

static entry *find(kt_throttle *t, const uint8_t key[16])
{
	for (uint32_t i = t->bucket[bucket_of(key)]; i; i = t->e[i - 1].next)
		if (!memcmp(t->e[i - 1].key, key, 16))
			return &t->e[i - 1];
	return NULL;
}

static bool locked(const entry *e, int64_t now)
{
	return e && e->locked_until > now;
}

/* Whether an entry may be dropped to make room: nothing in flight, not
 * locked, and nothing left to remember (no failures, or an old count). */
static bool idle(const entry *e, int64_t now)
{
	if (e->inflight || locked(e, now))
		return false;
	if (e->known)
		return now - e->last > KNOWN_MS;
	return e->fails == 0 || now - e->last > FORGET_MS;
}

static void drop(kt_throttle *t, entry *e)
{
	uint32_t idx = (uint32_t)(e - t->e) + 1, *p = &t->bucket[bucket_of(e->key)];
	while (*p != idx)
		p = &t->e[*p - 1].next;
	*p = e->next;
	t->nknown -= e->known;
	memset(e, 0, sizeof *e);
	e->next = t->free_head;
	t->free_head = idx;
	t->nused--;
}

static void drop_if_idle(kt_throttle *t, entry *e, int64_t now)
{
	if (e && idle(e, now))
		drop(t, e);
}

/* Find or add KEY; NULL when the table is full of entries that must be
 * kept. A full table is swept at most once a second: an attacker who keeps
 * it full cannot make every attempt walk it. */
static entry *get(kt_throttle *t, const uint8_t key[16], int64_t now)
{
	entry *e = find(t, key);
	if (e)
		return e;
	if (!t->free_head && now - t->last_sweep >= 1000) {
		t->last_sweep = now;
		for (int i = 0; i < KT_THROTTLE_ENTRIES; i++)
			if (t->e[i].used)
				drop_if_idle(t, &t->e[i], now);
		if (!t->free_head)
			kt_warn("sign-in throttle: all %d entries hold failures or lock-outs; new sign-ins are refused",
				KT_THROTTLE_ENTRIES);
	}
	if (!t->free_head)
		return NULL;
	uint32_t idx = t->free_head, b = bucket_of(key);
	e = &t->e[idx - 1];
	t->free_head = e->next;
	memset(e, 0, sizeof *e);
	memcpy(e->key, key, 16);
	e->used = true;
	e->next = t->bucket[b];
	t->bucket[b] = idx;
	t->nused++;
	return e;
}

/* ---- persistence: lock-outs and known pairs outlive a restart ---- */

static void meta_name(const char *prefix, const entry *e, char out[32 + 33])
{
	size_t n = strlen(prefix);
	memcpy(out, prefix, n);
	kt_hex(out + n, e->key, 16);
}

static void meta_delete(kt_throttle *t, const char *name)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(store_db(t->st), "DELETE FROM meta WHERE key = ?", -1, &q, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(q);
	sqlite3_finalize(q);
}

/* Small writes on the loop thread, as for the device register: only when an
 * entry gets locked (at most once a second per key for a guesser) or a
 * person signs in from a new address. */
static void lockout_save(kt_throttle *t, entry *e)
{
	char name[65], val[64];
	int n = snprintf(val, sizeof val, "%d %lld %lld", e->fails, (long long)e->locked_until, (long long)e->last);
	meta_name(LOCKOUT_PREFIX, e, name);
	if (store_meta_set(t->st, name, val, (size_t)n) == KT_OK)
		e->stored = true;
	else
		kt_warn("auth: a lock-out was not saved; it ends if the server restarts");
}

static void lockout_clear(kt_throttle *t, entry *e)
{
	char name[65];
	if (!e->stored)
		return;
	meta_name(LOCKOUT_PREFIX, e, name);
	meta_delete(t, name);
	e->stored = false;
}

static void known_save(kt_throttle *t, entry *e)
{
	char name[65], val[32];
	int n = snprintf(val, sizeof val, "%lld", (long long)e->last);
	meta_name(KNOWN_PREFIX, e, name);
	if (store_meta_set(t->st, name, val, (size_t)n) != KT_OK)
		kt_warn("auth: a sign-in address was not saved");
}

static void load(kt_throttle *t)
{
	sqlite3 *db = store_db(t->st);
	sqlite3_stmt *q;
	int64_t now = kt_now_ms();
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta WHERE (key >= 'lockout:' AND key < 'lockout;') OR "
				   "(key >= 'signin:' AND key < 'signin;')",
			       -1, &q, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(q, 0), *v = (const char *)sqlite3_column_text(q, 1);
		bool lock = k && !strncmp(k, LOCKOUT_PREFIX, strlen(LOCKOUT_PREFIX));
		const char *hex = k ? k + strlen(lock ? LOCKOUT_PREFIX : KNOWN_PREFIX) : NULL;
		uint8_t h[16];
		int fails = 0;
		long long until = 0, last = 0;
		entry *e;
		if (!k || !v || !kt_unhex(h, sizeof h, hex, strlen(hex)))
			continue;
		if (lock ? sscanf(v, "%d %lld %lld", &fails, &until, &last) != 3 || (until < now && last < now - FORGET_MS)
			 : sscanf(v, "%lld", &last) != 1 || last < now - KNOWN_MS)
			continue; /* (left in place: cleared by the next good sign-in, or harmless) */
		if ((!lock && t->nknown >= MAX_KNOWN) || !(e = get(t, h, now)))
			continue;
		if (lock) {
			e->fails = fails;
			e->locked_until = until;
			e->stored = true;
			if (!e->known)
				e->last = last;
		} else {
			e->known = true;
			e->last = last;
			t->nknown++;
		}
	}
	sqlite3_finalize(q);
}

int throttle_open(kt_store *st, const uint8_t key[32], kt_throttle **out)
{
	kt_throttle *t = calloc(1, sizeof *t);
	*out = NULL;
	if (!t || !(t->e = calloc(KT_THROTTLE_ENTRIES, sizeof *t->e)) ||
	    !(t->bucket = calloc(NBUCKET, sizeof *t->bucket))) {
		throttle_close(t);
		return KT_ENOMEM;
	}
	t->st = st;
	memcpy(t->key, key, sizeof t->key);
	for (uint32_t i = KT_THROTTLE_ENTRIES; i > 0; i--) {
		t->e[i - 1].next = t->free_head;
		t->free_head = i;
	}
	if (st)
		load(t);
	*out = t;
	return KT_OK;
}

void throttle_close(kt_throttle *t)
{
	if (!t)
		return;
	sodium_memzero(t->key, sizeof t->key);
	free(t->e);
	free(t->bucket);
	free(t);
}

/* ---- the rules ---- */

/* Whether one more attempt may start: not locked, and the attempts already
 * in flight, if they all failed, would not use up the free failures. Once
 * they are used up (a lock-out ended), one attempt at a time. */
static bool may_try(const entry *e, int free_fails, int64_t now)
{
	return !e || (!locked(e, now) && (e->inflight == 0 || e->fails + e->inflight < free_fails));
}

static void note_failure(kt_throttle *t, entry *e, int free_fails, int64_t now)
{
	e->fails++;
	e->last = now;
	if (e->fails >= free_fails) { /* the free failures are used up: lock, doubling each time */
		int shift = e->fails - free_fails;
		int64_t lock_s = shift >= 10 ? KT_THROTTLE_MAX_LOCK_S : (int64_t)1 << shift;
		if (lock_s > KT_THROTTLE_MAX_LOCK_S)
			lock_s = KT_THROTTLE_MAX_LOCK_S;
		e->locked_until = now + lock_s * 1000;
		lockout_save(t, e);
	}
}

void throttle_keys(kt_throttle *t, const char *email, size_t elen, const char *addr, kt_signin_keys *k)
{
	key_of(t, "a:", email, elen, NULL, k->acc);
	key_of(t, "i:", addr, strlen(addr), NULL, k->ip);
	key_of(t, "k:", email, elen, addr, k->pair);
	k->known = false;
}

int throttle_login_begin(kt_throttle *t, kt_signin_keys *k, bool *wait)
{
	int64_t now = kt_now_ms();
	entry *acc = find(t, k->acc), *ip = find(t, k->ip), *pair = find(t, k->pair);
	entry *own;

	/* From an address this account signed in from before, the account's own
	 * lock-out does not apply (that pair has its own count instead): a
	 * stranger who keeps the account locked cannot keep its owner out. */
	k->known = pair && pair->known;
	own = k->known ? pair : acc;
	*wait = false;
	if (locked(ip, now) || locked(own, now))
		return KT_ETHROTTLED;
	if (!may_try(ip, KT_THROTTLE_ADDR_FREE, now) || !may_try(own, KT_THROTTLE_ACCOUNT_FREE, now)) {
		*wait = true; /* the attempts in flight may use up the free failures: see how they end */
		return KT_OK;
	}
	if ((!acc && !(acc = get(t, k->acc, now))) || (!ip && !(ip = get(t, k->ip, now)))) {
		if (acc) /* the table is full: refuse rather than forget a count */
			drop_if_idle(t, acc, now);
		return KT_ETHROTTLED;
	}
	acc->inflight++;
	ip->inflight++;
	if (k->known)
		pair->inflight++;
	return KT_OK;
}

void throttle_login_done(kt_throttle *t, const kt_signin_keys *k, int rc)
{
	int64_t now = kt_now_ms();
	entry *acc = find(t, k->acc), *ip = find(t, k->ip), *pair = find(t, k->pair);
	if (acc)
		acc->inflight--;
	if (ip)
		ip->inflight--;
	if (pair && k->known)
		pair->inflight--;
	if (rc == KT_EAUTH_FAILED) { /* counted even when the peer has left meanwhile */
		if (acc)
			note_failure(t, acc, KT_THROTTLE_ACCOUNT_FREE, now);
		if (ip)
			note_failure(t, ip, KT_THROTTLE_ADDR_FREE, now);
		if (pair && k->known)
			note_failure(t, pair, KT_THROTTLE_ACCOUNT_FREE, now);
	} else if (rc == KT_OK) {
		/* a good sign-in clears the account's count, but not a lock-out it
		 * got through as a known address: that lock is a stranger's */
		if (acc && !locked(acc, now)) {
			acc->fails = 0;
			acc->locked_until = 0;
			lockout_clear(t, acc);
		}
		if (!pair && t->nknown < MAX_KNOWN)
			pair = get(t, k->pair, now);
		if (pair) {
			bool save = !pair->known || now - pair->last > 24LL * 3600 * 1000; /* one write a day at most */
			if (!pair->known)
				t->nknown++;
			pair->known = true;
			pair->fails = 0;
			pair->locked_until = 0;
			lockout_clear(t, pair);
			pair->last = now;
			if (save)
				known_save(t, pair);
		}
	}
	if (acc)
		drop_if_idle(t, acc, now);
	if (ip)
		drop_if_idle(t, ip, now);
}

int throttle_resume_check(kt_throttle *t, const char *addr)
{
	uint8_t key[16];
	key_of(t, "i:", addr, strlen(addr), NULL, key);
	/* a resume is checked at once, never in flight: only a lock-out refuses it */
	return locked(find(t, key), kt_now_ms()) ? KT_ETHROTTLED : KT_OK;
}

void throttle_resume_failed(kt_throttle *t, const char *addr)
{
	uint8_t key[16];
	int64_t now = kt_now_ms();
	entry *e;
	key_of(t, "i:", addr, strlen(addr), NULL, key);
	if ((e = get(t, key, now)))
		note_failure(t, e, KT_THROTTLE_ADDR_FREE, now);
}
