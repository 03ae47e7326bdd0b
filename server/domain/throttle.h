/* throttle.h - the sign-in throttle (loop thread only). */
#ifndef KT_THROTTLE_H
#define KT_THROTTLE_H

#include "kt_limits.h"
#include "db/store.h"

typedef struct kt_throttle kt_throttle;
typedef struct kt_signin_keys {
	uint8_t acc[16], ip[16], pair[16]; /* keyed hashes: account, address, (account, address) */
	bool known;                        /* the account signed in from this address before */
} kt_signin_keys;
/* Allocates the whole table at once (KT_THROTTLE_ENTRIES) and loads the
 * lock-outs a previous run left in meta; *out is the caller's (throttle_close). */
int throttle_open(kt_store *st, const uint8_t key[32], kt_throttle **out) __attribute__((warn_unused_result));
void throttle_close(kt_throttle *t); /* NULL is fine */
void throttle_keys(kt_throttle *t, const char *email, size_t elen, const char *addr, kt_signin_keys *k);
/* KT_OK and !*wait: the attempt is in flight and counts as a failure until
 * throttle_login_done. KT_OK and *wait: as many attempts are in flight as
 * the free failures allow; ask again when one is done (nothing counted).
 * KT_ETHROTTLED: locked out, or no room in the table to count it. */
int throttle_login_begin(kt_throttle *t, kt_signin_keys *k, bool *wait) __attribute__((warn_unused_result));
/* The attempt's outcome: KT_OK, KT_EAUTH_FAILED (counted) or another error (not counted). */
void throttle_login_done(kt_throttle *t, const kt_signin_keys *k, int rc);
int throttle_resume_check(kt_throttle *t, const char *addr); /* KT_OK or KT_ETHROTTLED */
void throttle_resume_failed(kt_throttle *t, const char *addr);

#endif
