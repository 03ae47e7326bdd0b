/* keyring.h - encryption at rest with a key per client (README,
 * "Operations", "Encryption at rest").
 *
 * Three files belong to a database FILE:
 *   FILE        the data; personal fields are ciphertext (store.c seals them)
 *   FILE.keys   the keyring: each client's random data key, wrapped by the
 *               master key. Kept apart from FILE so that a backup of FILE
 *               holds no keys: destroying a client's key here makes every
 *               copy of their data unreadable, old backups included.
 *   FILE.key    the master key (32 random bytes, mode 0600; another path
 *               with keyring_set_key_file). Refused when group/others may
 *               read it.
 *
 * A sealed value is XChaCha20-Poly1305 with the owner's data key and, as
 * associated data, the table, column, row id, owner and key version, so a
 * value cannot be moved to another row or column unnoticed. Layout (bytes):
 *   'K' '1' | owner length (1) | owner | key version (4, big-endian) |
 *   nonce (24) | ciphertext + tag (16)
 * AD: "kartoteka" 0 table 0 column 0 row id 0 owner 0 version (4, BE).
 * A wrapped key: nonce (24) | key ciphertext + tag, AD "kartoteka-key" 0
 * owner 0 version (4, BE), under the master key.
 * tests/integration/ktcrypt.py reads the same format independently. */
#ifndef KT_KEYRING_H
#define KT_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "kt_err.h"

typedef struct kt_keyring kt_keyring;

/* The master key file for every keyring this process opens (NULL: FILE.key
 * next to each database). The string must outlive the process's stores. */
void keyring_set_key_file(const char *path);
/* Where the master key of db_path is: the override or db_path + ".key". */
void keyring_key_path(const char *db_path, char *buf, size_t cap);

/* The keyring file for every keyring this process opens (NULL: FILE.keys
 * next to each database), e.g. the copy that belongs to a backup. The
 * string must outlive the process's stores. */
void keyring_set_keys_file(const char *path);
/* Where the keyring of db_path is: the override or db_path + ".keys". */
void keyring_keys_path(const char *db_path, char *buf, size_t cap);

/* Open the keyring of db_path. create: make the master key file and the
 * keyring when missing (init). read_only: never writes; a missing key file
 * is then not an error (*out = NULL: sealed values read as absent).
 * Refuses a master key file others may read, or one that does not open
 * the keyring. Finishes an interrupted rotation. */
int keyring_open(const char *db_path, bool create, bool read_only, kt_keyring **out,
		 const char **errmsg) KT_MUST_CHECK;
void keyring_close(kt_keyring *kr); /* accepts NULL */

/* Data keys read from the keyring file and unwrapped so far: the misses of
 * the cache of unwrapped keys (CACHE_SLOTS in keyring.c). */
uint64_t keyring_unwraps(const kt_keyring *kr);

/* True when a stored value is sealed (and not plain text of old data). */
bool keyring_is_sealed(const void *blob, size_t len);

/* Seal plain under owner's key (created on first use and committed to the
 * keyring at once, before the caller's transaction uses it). *out is
 * malloc'd. */
int keyring_seal(kt_keyring *kr, const char *owner, const char *tbl, const char *col, const char *row_id,
		 const void *plain, size_t len, uint8_t **out, size_t *outlen) KT_MUST_CHECK;
/* Keys for many new owners at once, committed to the keyring in one
 * transaction (one sync instead of one per owner: a list of 50,000 imported
 * clients). An owner who has a key keeps it; KT_ENOT_FOUND (nothing
 * created) when one was erased. */
int keyring_create_keys(kt_keyring *kr, const char *const *owners, int n) KT_MUST_CHECK;
/* Open a sealed value: *plain is malloc'd and NUL-terminated. KT_ENOT_FOUND
 * when the owner's key was destroyed (the client was erased), KT_EINVALID
 * when the value is not ours or was altered. */
int keyring_unseal(kt_keyring *kr, const char *tbl, const char *col, const char *row_id, const void *blob,
		   size_t len, char **plain, size_t *plen) KT_MUST_CHECK;

/* Destroy owner's key for good (crypto-shredding): the row is deleted with
 * secure_delete on and the keyring's WAL truncated. KT_OK when it had none. */
int keyring_destroy(kt_keyring *kr, const char *owner) KT_MUST_CHECK;
/* Does owner still have a key? */
bool keyring_has(kt_keyring *kr, const char *owner);

/* The erasure ledger: the master key file's name + ".erased", one line
 * per erased owner (id, tab, UTC date). It lives with the master key, not
 * in the keyring, so copying an older keyring into place does not undo an
 * erasure: keyring_destroy lists the owner there (synced) before deleting
 * the key, a listed owner's key is never used or created again even when
 * a keyring copy still holds it, and keyring_apply_ledger deletes such
 * keys for good (restore). */
bool keyring_erased(const kt_keyring *kr, const char *owner);
size_t keyring_erased_count(const kt_keyring *kr);
const char *keyring_erased_at(const kt_keyring *kr, size_t i); /* borrowed, sorted order */
/* Delete the keys of every listed owner still in the keyring; *destroyed
 * gets how many there were. KT_EDENIED on a read-only keyring. */
int keyring_apply_ledger(kt_keyring *kr, int *destroyed) KT_MUST_CHECK;

/* Does the master key of db_path open the keyring file keys_path (a copy
 * about to be restored)? Reads it only. */
int keyring_check_copy(const char *db_path, const char *keys_path, const char **errmsg) KT_MUST_CHECK;

/* Why a value of owner can or cannot be opened here. */
typedef enum kt_key_state {
	KT_KEY_PRESENT,    /* the key is here */
	KT_KEY_ERASED,     /* destroyed by an erasure (the ledger lists it) */
	KT_KEY_ABSENT,     /* this keyring has no key for it (not the keyring of this data?) */
	KT_KEY_NO_KEYRING, /* no keyring opened at all (read-only, no master key or keyring file) */
} kt_key_state;
kt_key_state keyring_key_state(kt_keyring *kr, const char *owner);

/* Keyed hash of an e-mail address (lower-cased) for login lookups, as 64
 * hex digits. Its key lives in the keyring like a client's. */
int keyring_email_hash(kt_keyring *kr, const char *email, char out[65]) KT_MUST_CHECK;

/* Replace the master key of db_path's keyring: every data key is re-wrapped
 * in one transaction, then the new key file replaces the old one. A crash
 * in between is finished by the next keyring_open. */
int keyring_rotate(const char *db_path, FILE *out) KT_MUST_CHECK;

#endif
