/* auth_workers.h - sign-in: password checks on worker threads, token resume on the loop. */
#ifndef KT_AUTH_WORKERS_H
#define KT_AUTH_WORKERS_H

#include "server.h"

/* Why a sign-in with a device id that another person holds is refused
 * (KT_EDEVICE_TAKEN), and what to do about it. */
#define KT_DEVICE_TAKEN_MSG                                                                                    \
	"device: this device id is signed in as another person; sign out on that device first, or have an " \
	"owner or manager sign it out (manage sign_out_device), or sign in with a new device id"
int auth_start(kt_server *srv);
void auth_stop(kt_server *srv);
/* Queue a password check; KT_EBUSY when the queue is full, KT_ETHROTTLED when locked out. */
int auth_submit_login(kt_server *srv, kt_session *s, const char *email, size_t elen, const char *pw,
		      size_t plen);
/* Verify a session token on the loop thread (a keyed hash lookup, no KDF). */
int auth_resume(kt_server *srv, kt_session *s, const char *token, size_t len, bool *is_client,
		char principal_id[KT_UUID_LEN + 1], int64_t *expires_at);
/* Deliver finished password checks (loop thread). */
void auth_deliver(kt_server *srv);
/* Token hashing shared by login and resume. */
void auth_token_hash(const kt_server *srv, const uint8_t *token, size_t len, uint8_t out[32]);

/* Called when a sign-in succeeded (login on a worker, or resume). */
void session_signed_in(kt_session *s, bool is_client, const char *principal_id, const char *token,
		       int64_t expires_at);

#endif
