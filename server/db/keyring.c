/* keyring.c - see keyring.h. One kt_keyring per store (per thread): its own
 * SQLite connection to FILE.keys and a small cache of unwrapped data keys,
 * emptied whenever another connection commits to the keyring (a key may
 * have been destroyed, or the master key rotated).
 * One file although past 800 lines: wrapping, the cache, sealing, erasure
 * and rotation all work on the same private state (master key, connection,
 * cache). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <sqlite3.h>
#include "db/keyring.h"
#include "kt_util.h"
#include "db/sqlite_ro.h"

#define KEY_LEN 32
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAPPED_LEN (NONCE_LEN + KEY_LEN + TAG_LEN)
#define MAX_OWNER 64
#define CACHE_SLOTS 2048
#define CACHE_WAYS 8
#define INDEX_OWNER "~email-index"
#define CHECK_OWNER "~master-check"

typedef struct slot {
	char owner[MAX_OWNER + 1];
	uint32_t version;
	uint8_t key[KEY_LEN];
} slot;

struct kt_keyring {
	sqlite3 *db;             /* NULL: read-only without a keyring (values read as absent) */
	char key_path[4096];
	uint8_t *master;         /* KEY_LEN bytes, sodium_malloc'd */
	slot *cache;             /* CACHE_SLOTS, sodium_malloc'd */
	int64_t data_version;
	bool read_only;
	sqlite3_stmt *dv, *sel; /* PRAGMA data_version, the key lookup */
	int64_t checked_us;     /* when data_version was last read */
	unsigned evictions;     /* picks the slot a full set gives up */
	uint64_t unwraps;       /* keys read from the file (cache misses) */
	char (*erased)[MAX_OWNER + 1]; /* the erasure ledger, sorted; NULL when empty */
	size_t nerased;
};

/* How long an unwrapped key may be used without asking whether another
 * connection changed the keyring. A destroyed key is gone from the file at
 * once; a reader in another thread may still open a value with it for this
 * long (the erased rows themselves are deleted in the same transaction). */
#define RECHECK_US 20000

/* set by main before any thread starts; every thread that opens a keyring reads them */
static const char *key_file_override, *keys_file_override;

void keyring_set_key_file(const char *path)
{
	key_file_override = path;
}

void keyring_set_keys_file(const char *path)
{
	keys_file_override = path;
}

void keyring_keys_path(const char *db_path, char *buf, size_t cap)
{
	if (keys_file_override)
		snprintf(buf, cap, "%s", keys_file_override);
	else
		snprintf(buf, cap, "%s.keys", db_path);
}

static void ledger_path(const kt_keyring *kr, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s.erased", kr->key_path);
}

static int owner_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Read the ledger of erased owners (one id per line, then a tab and the
 * date) into a sorted array. A missing file is an empty ledger. */
static int ledger_load(kt_keyring *kr)
{
	char path[sizeof kr->key_path + 8], line[256];
	char (*ids)[MAX_OWNER + 1] = NULL;
	size_t n = 0, cap = 0;
	FILE *f;
	ledger_path(kr, path, sizeof path);
	if (!(f = fopen(path, "r")))
		return errno == ENOENT ? KT_OK : KT_EIO;
	while (fgets(line, sizeof line, f)) {
		size_t l = strcspn(line, "\t\r\n");
		if (l == 0 || l > MAX_OWNER)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *more = realloc(ids, nc * sizeof *ids);
			if (!more) {
				free(ids);
				fclose(f);
				return KT_ENOMEM;
			}
			ids = more;
			cap = nc;
		}
		memcpy(ids[n], line, l);
		ids[n++][l] = 0;
	}
	fclose(f);
	if (n)
		qsort(ids, n, sizeof *ids, owner_cmp);
	free(kr->erased);
	kr->erased = ids;
	kr->nerased = n;
	return KT_OK;
}

bool keyring_erased(const kt_keyring *kr, const char *owner)
{
	return kr && kr->nerased && bsearch(owner, kr->erased, kr->nerased, sizeof *kr->erased, owner_cmp);
}

/* Add owner to the ledger, synced, before its key is destroyed: a keyring
 * copy from before cannot bring the key back unnoticed. */
static int ledger_add(kt_keyring *kr, const char *owner)
{
	char path[sizeof kr->key_path + 8], line[MAX_OWNER + 40], date[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, len;
	bool ok;
	if (keyring_erased(kr, owner))
		return KT_OK;
	ledger_path(kr, path, sizeof path);
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%SZ", &tm);
	len = snprintf(line, sizeof line, "%s\t%s\n", owner, date);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return KT_EIO;
	ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	return ok ? ledger_load(kr) : KT_EIO;
}

void keyring_key_path(const char *db_path, char *buf, size_t cap)
{
	if (key_file_override)
		snprintf(buf, cap, "%s", key_file_override);
	else
		snprintf(buf, cap, "%s.key", db_path);
}

static void be32(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* "label" 0 a 0 b 0 ... 0 version(4): associated data, built into buf. */
static size_t build_ad(uint8_t *buf, size_t cap, const char *const *parts, int n, uint32_t version)
{
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);
		if (len + l + 1 + 4 > cap)
			return 0;
		memcpy(buf + len, parts[i], l);
		len += l;
		buf[len++] = 0;
	}
	be32(buf + len, version);
	return len + 4;
}

static void wrap_key(const uint8_t *master, const char *owner, uint32_t version, const uint8_t key[KEY_LEN],
		     uint8_t out[WRAPPED_LEN])
{
	const char *parts[] = {"kartoteka-key", owner};
	uint8_t ad[128];
	size_t adlen = build_ad(ad, sizeof ad, parts, 2, version);
	randombytes_buf(out, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_LEN, NULL, key, KEY_LEN, ad, adlen, NULL, out, master);
}

static int unwrap_key(const uint8_t *master, const char *owner, uint32_t version, const uint8_t *w, size_t wlen,
		      uint8_t key[KEY_LEN])
{
	const char *parts[] = {"kartoteka-key", owner};
	uint8_t ad[128];
	size_t adlen = build_ad(ad, sizeof ad, parts, 2, version);
	if (wlen != WRAPPED_LEN)
		return KT_EINVALID;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL, w + NONCE_LEN, wlen - NONCE_LEN, ad, adlen,
							  w, master) == 0
		       ? KT_OK
		       : KT_EINVALID;
}

/* Read the master key file; refuse it when group or others may read it. */
static int read_master(const char *path, uint8_t *out, const char **errmsg)
{
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*errmsg = errno == ENOENT ? "master key file is missing (it is made by: kartoteka-server init)"
					  : "cannot open the master key file";
		return errno == ENOENT ? KT_ENOT_FOUND : KT_EIO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		*errmsg = "master key file is not a regular file";
		return KT_EINVALID;
	}
	if (sb.st_mode & 077) {
		close(fd);
		*errmsg = "master key file may be read by others: chmod 600 it";
		return KT_EDENIED;
	}
	n = read(fd, out, KEY_LEN + 1);
	close(fd);
	if (n != KEY_LEN) {
		*errmsg = "master key file must hold exactly 32 bytes";
		return KT_EINVALID;
	}
	return KT_OK;
}

/* Write a new key file (0600, synced) at path; fails when it exists. */
static int write_master(const char *path, const uint8_t *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok;
	if (fd < 0)
		return KT_EIO;
	ok = write(fd, key, KEY_LEN) == KEY_LEN && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok)
		unlink(path);
	return ok ? KT_OK : KT_EIO;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? KT_OK : KT_EIO;
}

static int64_t data_version_of(kt_keyring *kr)
{
	int64_t v = -1;
	if (!kr->dv && sqlite3_prepare_v3(kr->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &kr->dv,
					  NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(kr->dv) == SQLITE_ROW)
		v = sqlite3_column_int64(kr->dv, 0);
	sqlite3_reset(kr->dv);
	return v;
}

/* The master check value: 32 zero bytes wrapped under the master key. */
static int check_master(sqlite3 *db, const uint8_t *master, bool *present)
{
	sqlite3_stmt *s;
	uint8_t zero[KEY_LEN];
	int rc = KT_OK;
	*present = false;
	if (sqlite3_prepare_v2(db, "SELECT check_value FROM master WHERE id = 1", -1, &s, NULL) != SQLITE_OK)
		return KT_EIO;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*present = true;
		rc = unwrap_key(master, CHECK_OWNER, 1, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
				zero);
	}
	sqlite3_finalize(s);
	sodium_memzero(zero, sizeof zero);
	return rc;
}

static int store_check(sqlite3 *db, const uint8_t *master)
{
	uint8_t zero[KEY_LEN] = {0}, w[WRAPPED_LEN];
	sqlite3_stmt *s;
	int rc;
	wrap_key(master, CHECK_OWNER, 1, zero, w);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO master(id, check_value) VALUES(1, ?)", -1, &s, NULL) !=
	    SQLITE_OK)
		return KT_EIO;
	sqlite3_bind_blob(s, 1, w, sizeof w, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	sqlite3_finalize(s);
	return rc;
}

/* Load the master key that opens this keyring; finish a rotation that
 * stopped after its commit (the new key is still in PATH.new). */
static int load_master(kt_keyring *kr, const char **errmsg)
{
	char next[sizeof kr->key_path + 8];
	bool present;
	int rc = read_master(kr->key_path, kr->master, errmsg);
	if (rc)
		return rc;
	if (!kr->db)
		return KT_OK;
	snprintf(next, sizeof next, "%s.new", kr->key_path);
	rc = check_master(kr->db, kr->master, &present);
	if (rc == KT_OK) {
		return present || kr->read_only ? KT_OK : store_check(kr->db, kr->master);
	}
	if (read_master(next, kr->master, errmsg) == KT_OK && check_master(kr->db, kr->master, &present) == KT_OK) {
		if (!kr->read_only && rename(next, kr->key_path) != 0) {
			*errmsg = "cannot finish the master key rotation (rename failed)";
			return KT_EIO;
		}
		return KT_OK;
	}
	*errmsg = "the master key file does not open this database's keyring (wrong key file?)";
	return KT_EDENIED;
}

int keyring_open(const char *db_path, bool create, bool read_only, kt_keyring **out, const char **errmsg)
{
	static const char schema[] =
		"CREATE TABLE IF NOT EXISTS master(id INTEGER PRIMARY KEY CHECK(id = 1), check_value BLOB NOT NULL);"
		"CREATE TABLE IF NOT EXISTS data_key(owner TEXT PRIMARY KEY, version INTEGER NOT NULL,"
		" wrapped BLOB NOT NULL) WITHOUT ROWID;";
	kt_keyring *kr = calloc(1, sizeof *kr);
	char keys_path[4096 + 8];
	struct stat sb;
	int rc;

	*out = NULL;
	if (!kr)
		return KT_ENOMEM;
	if (sodium_init() < 0) { /* idempotent; callers such as tests may not have called it */
		free(kr);
		return KT_EINTERNAL;
	}
	kr->read_only = read_only;
	keyring_key_path(db_path, kr->key_path, sizeof kr->key_path);
	keyring_keys_path(db_path, keys_path, sizeof keys_path);
	if (!(kr->master = sodium_malloc(KEY_LEN)) || !(kr->cache = sodium_malloc(CACHE_SLOTS * sizeof(slot)))) {
		keyring_close(kr);
		return KT_ENOMEM;
	}
	memset(kr->cache, 0, CACHE_SLOTS * sizeof(slot));
	if (create && stat(kr->key_path, &sb) != 0 && errno == ENOENT) {
		if (stat(keys_path, &sb) == 0) {
			*errmsg = "the keyring exists but its master key file is missing";
			keyring_close(kr);
			return KT_ENOT_FOUND;
		}
		randombytes_buf(kr->master, KEY_LEN);
		if (write_master(kr->key_path, kr->master)) {
			*errmsg = "cannot create the master key file";
			keyring_close(kr);
			return KT_EIO;
		}
	}
	/* a database whose values are sealed is never given a new, empty
	 * keyring: its own is elsewhere (a backup's copy, --keys) or lost */
	if (!create && !read_only && stat(keys_path, &sb) != 0) {
		*errmsg = "the keyring (the database path + .keys) is missing: give it with --keys FILE, or put a copy "
			  "in place with restore --keys-from";
		keyring_close(kr);
		return KT_ENOT_FOUND;
	}
	if (read_only && stat(kr->key_path, &sb) != 0) {
		keyring_close(kr); /* reading without keys: sealed values are absent */
		return KT_OK;
	}
	if (!read_only || stat(keys_path, &sb) == 0) {
		int orc = read_only ? sqlite_open_ro(keys_path, SQLITE_OPEN_NOMUTEX, &kr->db)
				    : sqlite3_open_v2(keys_path, &kr->db,
						      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
		if (orc != SQLITE_OK) {
			*errmsg = "cannot open the keyring file";
			keyring_close(kr);
			return KT_EIO;
		}
		sqlite3_busy_timeout(kr->db, 5000);
		if (!read_only && (exec(kr->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
						"PRAGMA secure_delete=ON") ||
				   exec(kr->db, schema))) {
			*errmsg = "cannot set up the keyring file";
			keyring_close(kr);
			return KT_EIO;
		}
	}
	if ((rc = load_master(kr, errmsg))) {
		keyring_close(kr);
		return rc;
	}
	if ((rc = ledger_load(kr))) {
		*errmsg = "cannot read the erasure ledger (the master key file's name + .erased)";
		keyring_close(kr);
		return rc;
	}
	kr->data_version = kr->db ? data_version_of(kr) : 0;
	*out = kr;
	return KT_OK;
}

void keyring_close(kt_keyring *kr)
{
	if (!kr)
		return;
	sqlite3_finalize(kr->dv);
	sqlite3_finalize(kr->sel);
	sqlite3_close(kr->db);
	sodium_free(kr->master);
	sodium_free(kr->cache);
	free(kr->erased);
	free(kr);
}

/* The cache is set-associative: an owner's key can sit in any of the
 * CACHE_WAYS slots of its set, so two owners whose names hash alike do not
 * keep evicting each other; a miss costs the push writer a query and an
 * unwrap (docs/benchmarks.md, "...and the keyring cache"). */
static slot *cache_set(const kt_keyring *kr, const char *owner)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = owner; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return &kr->cache[(h % (CACHE_SLOTS / CACHE_WAYS)) * CACHE_WAYS];
}

static slot *cache_find(const kt_keyring *kr, const char *owner)
{
	slot *set = cache_set(kr, owner);
	for (int i = 0; i < CACHE_WAYS; i++)
		if (set[i].owner[0] && !strcmp(set[i].owner, owner))
			return &set[i];
	return NULL;
}

/* Where a newly unwrapped key goes: a free slot of its set, else one of
 * them in turn. */
static slot *cache_victim(kt_keyring *kr, const char *owner)
{
	slot *set = cache_set(kr, owner);
	for (int i = 0; i < CACHE_WAYS; i++)
		if (!set[i].owner[0])
			return &set[i];
	return &set[kr->evictions++ % CACHE_WAYS];
}

/* Another connection committed (a key destroyed, the master rotated):
 * forget what we unwrapped and re-read the master key. */
static void cache_check(kt_keyring *kr)
{
	int64_t now = kt_mono_us(), v;
	if (now - kr->checked_us < RECHECK_US)
		return;
	kr->checked_us = now;
	if ((v = data_version_of(kr)) == kr->data_version)
		return;
	kr->data_version = v;
	sodium_memzero(kr->cache, CACHE_SLOTS * sizeof(slot));
	const char *msg = NULL;
	if (load_master(kr, &msg))
		kt_warn("keyring: %s", msg);
	if (ledger_load(kr)) /* an erasure by another process is listed before its key goes */
		kt_warn("keyring: cannot re-read the erasure ledger");
}

static int find_key(kt_keyring *kr, const char *owner, uint8_t key[KEY_LEN], uint32_t *version)
{
	sqlite3_stmt *s;
	slot *c;
	int rc;
	if (!kr || !kr->db)
		return KT_ENOT_FOUND;
	cache_check(kr);
	if ((c = cache_find(kr, owner))) {
		memcpy(key, c->key, KEY_LEN);
		*version = c->version;
		return KT_OK;
	}
	/* an erased client's key found in a keyring copy from before the
	 * erasure is never used (and never cached) */
	if (keyring_erased(kr, owner))
		return KT_ENOT_FOUND;
	if (!kr->sel && sqlite3_prepare_v3(kr->db, "SELECT version, wrapped FROM data_key WHERE owner = ?", -1,
					   SQLITE_PREPARE_PERSISTENT, &kr->sel, NULL) != SQLITE_OK)
		return KT_EIO;
	s = kr->sel;
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = (uint32_t)sqlite3_column_int64(s, 0);
		rc = unwrap_key(kr->master, owner, *version, sqlite3_column_blob(s, 1),
				(size_t)sqlite3_column_bytes(s, 1), key);
		kr->unwraps++;
		if (rc)
			kt_warn("keyring: a data key does not unwrap with the master key");
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == KT_OK) {
		c = cache_victim(kr, owner);
		snprintf(c->owner, sizeof c->owner, "%s", owner);
		c->version = *version;
		memcpy(c->key, key, KEY_LEN);
	}
	return rc;
}

/* A new key for owner, committed to the keyring on its own. The master
 * check is read in the same transaction: a key is never wrapped under a
 * master key that a rotation has just replaced. */
/* A write transaction on the keyring, under the master key as it is now
 * (another process may have rotated it since we loaded it). */
static int begin_write(kt_keyring *kr)
{
	bool present;
	if (exec(kr->db, "BEGIN IMMEDIATE"))
		return KT_EBUSY;
	if (check_master(kr->db, kr->master, &present) != KT_OK) {
		const char *msg = NULL;
		exec(kr->db, "ROLLBACK");
		if (load_master(kr, &msg)) /* rotated under us: take the new key */
			return KT_EIO;
		if (exec(kr->db, "BEGIN IMMEDIATE"))
			return KT_EBUSY;
	}
	return KT_OK;
}

static int create_key(kt_keyring *kr, const char *owner, uint8_t key[KEY_LEN], uint32_t *version)
{
	uint8_t w[WRAPPED_LEN];
	sqlite3_stmt *s = NULL;
	int rc;
	if (!kr || !kr->db || kr->read_only)
		return KT_EDENIED;
	if (keyring_erased(kr, owner))
		return KT_ENOT_FOUND; /* an erased client never gets a key again */
	if ((rc = begin_write(kr)))
		return rc;
	rc = find_key(kr, owner, key, version); /* someone else may have made it */
	if (rc == KT_ENOT_FOUND) {
		randombytes_buf(key, KEY_LEN);
		*version = 1;
		wrap_key(kr->master, owner, *version, key, w);
		rc = KT_EIO;
		if (sqlite3_prepare_v2(kr->db, "INSERT INTO data_key(owner, version, wrapped) VALUES(?, ?, ?)", -1, &s,
				       NULL) == SQLITE_OK) {
			sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, *version);
			sqlite3_bind_blob(s, 3, w, sizeof w, SQLITE_STATIC);
			rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
		}
		sqlite3_finalize(s);
	}
	if (rc || exec(kr->db, "COMMIT")) {
		exec(kr->db, "ROLLBACK");
		sodium_memzero(key, KEY_LEN);
		return rc ? rc : KT_EIO;
	}
	kr->data_version = data_version_of(kr);
	return KT_OK;
}

int keyring_create_keys(kt_keyring *kr, const char *const *owners, int n)
{
	uint8_t key[KEY_LEN], w[WRAPPED_LEN];
	sqlite3_stmt *s = NULL;
	int rc = KT_OK;
	if (!kr || !kr->db || kr->read_only)
		return KT_EDENIED;
	if (n <= 0)
		return KT_OK;
	if ((rc = begin_write(kr)))
		return rc;
	/* OR IGNORE: an owner who has a key keeps it */
	if (sqlite3_prepare_v2(kr->db, "INSERT OR IGNORE INTO data_key(owner, version, wrapped) VALUES(?, 1, ?)", -1,
			       &s, NULL) != SQLITE_OK)
		rc = KT_EIO;
	for (int i = 0; !rc && i < n; i++) {
		if (keyring_erased(kr, owners[i])) {
			rc = KT_ENOT_FOUND; /* an erased client never gets a key again */
			break;
		}
		randombytes_buf(key, KEY_LEN);
		wrap_key(kr->master, owners[i], 1, key, w);
		sqlite3_bind_text(s, 1, owners[i], -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, w, sizeof w, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = KT_EIO;
		sqlite3_reset(s);
	}
	sodium_memzero(key, KEY_LEN);
	sqlite3_finalize(s);
	if (rc || exec(kr->db, "COMMIT")) {
		exec(kr->db, "ROLLBACK");
		return rc ? rc : KT_EIO;
	}
	kr->data_version = data_version_of(kr);
	return KT_OK;
}

uint64_t keyring_unwraps(const kt_keyring *kr)
{
	return kr ? kr->unwraps : 0;
}

bool keyring_is_sealed(const void *blob, size_t len)
{
	const uint8_t *b = blob;
	return len >= 3 && b[0] == 'K' && b[1] == '1' && len >= 3u + b[2] + 4 + NONCE_LEN + TAG_LEN;
}

static size_t value_ad(uint8_t *ad, size_t cap, const char *tbl, const char *col, const char *row_id,
		       const char *owner, uint32_t version)
{
	const char *parts[] = {"kartoteka", tbl, col, row_id, owner};
	return build_ad(ad, cap, parts, 5, version);
}

int keyring_seal(kt_keyring *kr, const char *owner, const char *tbl, const char *col, const char *row_id,
		 const void *plain, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t key[KEY_LEN], ad[512], *b;
	size_t olen = strlen(owner), adlen, head;
	uint32_t version;
	int rc;

	*out = NULL;
	if (olen == 0 || olen > MAX_OWNER)
		return KT_EINVALID;
	if (!(adlen = value_ad(ad, sizeof ad, tbl, col, row_id, owner, 1)))
		return KT_EINVALID;
	rc = find_key(kr, owner, key, &version);
	if (rc == KT_ENOT_FOUND)
		rc = create_key(kr, owner, key, &version);
	if (rc)
		return rc;
	adlen = value_ad(ad, sizeof ad, tbl, col, row_id, owner, version);
	head = 3 + olen + 4;
	if (!(b = malloc(head + NONCE_LEN + len + TAG_LEN))) {
		sodium_memzero(key, sizeof key);
		return KT_ENOMEM;
	}
	b[0] = 'K';
	b[1] = '1';
	b[2] = (uint8_t)olen;
	memcpy(b + 3, owner, olen);
	be32(b + 3 + olen, version);
	randombytes_buf(b + head, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(b + head + NONCE_LEN, NULL, plain, len, ad, adlen, NULL, b + head,
						   key);
	sodium_memzero(key, sizeof key);
	*out = b;
	*outlen = head + NONCE_LEN + len + TAG_LEN;
	return KT_OK;
}

int keyring_unseal(kt_keyring *kr, const char *tbl, const char *col, const char *row_id, const void *blob,
		   size_t len, char **plain, size_t *plen)
{
	const uint8_t *b = blob;
	char owner[MAX_OWNER + 1];
	uint8_t key[KEY_LEN], ad[512];
	uint32_t version, have;
	size_t olen, head, adlen;
	char *p;
	int rc;

	*plain = NULL;
	if (!keyring_is_sealed(blob, len) || b[2] == 0 || b[2] > MAX_OWNER)
		return KT_EINVALID;
	olen = b[2];
	memcpy(owner, b + 3, olen);
	owner[olen] = 0;
	version = (uint32_t)b[3 + olen] << 24 | (uint32_t)b[4 + olen] << 16 | (uint32_t)b[5 + olen] << 8 | b[6 + olen];
	head = 3 + olen + 4;
	if ((rc = find_key(kr, owner, key, &have)))
		return rc;
	if (have != version) {
		sodium_memzero(key, sizeof key);
		return KT_ENOT_FOUND; /* that version of the key is gone */
	}
	if (!(adlen = value_ad(ad, sizeof ad, tbl, col, row_id, owner, version)) ||
	    !(p = malloc(len - head - NONCE_LEN - TAG_LEN + 1))) {
		sodium_memzero(key, sizeof key);
		return adlen ? KT_ENOMEM : KT_EINVALID;
	}
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)p, NULL, NULL, b + head + NONCE_LEN,
							len - head - NONCE_LEN, ad, adlen, b + head, key);
	sodium_memzero(key, sizeof key);
	if (rc != 0) {
		free(p);
		return KT_EINVALID;
	}
	*plen = len - head - NONCE_LEN - TAG_LEN;
	p[*plen] = 0;
	*plain = p;
	return KT_OK;
}

bool keyring_has(kt_keyring *kr, const char *owner)
{
	uint8_t key[KEY_LEN];
	uint32_t v;
	bool has = find_key(kr, owner, key, &v) == KT_OK;
	sodium_memzero(key, sizeof key);
	return has;
}

int keyring_destroy(kt_keyring *kr, const char *owner)
{
	sqlite3_stmt *s;
	int rc;
	if (!kr || !kr->db || kr->read_only)
		return KT_EDENIED;
	if (ledger_add(kr, owner))
		return KT_EIO;
	if (sqlite3_prepare_v2(kr->db, "DELETE FROM data_key WHERE owner = ?", -1, &s, NULL) != SQLITE_OK)
		return KT_EIO;
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	sqlite3_finalize(s);
	slot *c = cache_find(kr, owner);
	if (c)
		sodium_memzero(c, sizeof *c);
	/* secure_delete zeroed the page in the new WAL frame; older frames
	 * still hold the key until the WAL is copied back and truncated */
	if (!rc && sqlite3_wal_checkpoint_v2(kr->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
		kt_warn("keyring: WAL not truncated after destroying a key (busy); it is on the next checkpoint");
	return rc;
}

int keyring_email_hash(kt_keyring *kr, const char *email, char out[65])
{
	uint8_t key[KEY_LEN], h[32];
	char low[320];
	uint32_t v;
	size_t n = strlen(email);
	int rc;
	if (n >= sizeof low)
		return KT_EINVALID;
	for (size_t i = 0; i <= n; i++)
		low[i] = (email[i] >= 'A' && email[i] <= 'Z') ? (char)(email[i] + 32) : email[i];
	rc = find_key(kr, INDEX_OWNER, key, &v);
	if (rc == KT_ENOT_FOUND && kr && kr->db && !kr->read_only)
		rc = create_key(kr, INDEX_OWNER, key, &v);
	if (rc)
		return rc;
	crypto_generichash(h, sizeof h, (const uint8_t *)low, n, key, KEY_LEN);
	sodium_memzero(key, sizeof key);
	sodium_bin2hex(out, 65, h, sizeof h);
	return KT_OK;
}

int keyring_rotate(const char *db_path, FILE *out)
{
	kt_keyring *kr = NULL;
	const char *msg = NULL;
	char next[4096 + 8];
	uint8_t *fresh = sodium_malloc(KEY_LEN), key[KEY_LEN], w[WRAPPED_LEN];
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc, n = 0;

	if (!fresh)
		return KT_ENOMEM;
	if ((rc = keyring_open(db_path, false, false, &kr, &msg))) {
		fprintf(out, "keyring: %s\n", msg);
		sodium_free(fresh);
		return rc;
	}
	snprintf(next, sizeof next, "%s.new", kr->key_path);
	randombytes_buf(fresh, KEY_LEN);
	unlink(next);
	if ((rc = write_master(next, fresh)) || (rc = exec(kr->db, "BEGIN IMMEDIATE")))
		goto out;
	rc = KT_EIO;
	if (sqlite3_prepare_v2(kr->db, "SELECT owner, version, wrapped FROM data_key", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(kr->db, "UPDATE data_key SET wrapped = ?3 WHERE owner = ?1 AND version = ?2", -1, &upd,
			       NULL) != SQLITE_OK)
		goto rollback;
	while (sqlite3_step(sel) == SQLITE_ROW) {
		const char *owner = (const char *)sqlite3_column_text(sel, 0);
		uint32_t v = (uint32_t)sqlite3_column_int64(sel, 1);
		if (unwrap_key(kr->master, owner, v, sqlite3_column_blob(sel, 2), (size_t)sqlite3_column_bytes(sel, 2),
			       key)) {
			fprintf(out, "keyring: a data key does not open with the current master key; nothing changed\n");
			goto rollback;
		}
		wrap_key(fresh, owner, v, key, w);
		sqlite3_reset(upd);
		sqlite3_bind_text(upd, 1, owner, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 2, v);
		sqlite3_bind_blob(upd, 3, w, sizeof w, SQLITE_STATIC);
		if (sqlite3_step(upd) != SQLITE_DONE)
			goto rollback;
		n++;
	}
	if (store_check(kr->db, fresh) || exec(kr->db, "COMMIT"))
		goto rollback;
	/* committed: the keyring now opens only with the new key */
	/* (ENOENT: a running server saw the commit first and renamed it) */
	rc = rename(next, kr->key_path) == 0 || errno == ENOENT ? KT_OK : KT_EIO;
	if (rc)
		fprintf(out, "keyring: re-wrapped, but %s could not replace the key file; the next start finishes it\n",
			next);
	else
		fprintf(out, "master key rotated: %d keys re-wrapped\n", n);
	goto out;
rollback:
	exec(kr->db, "ROLLBACK");
	unlink(next);
	rc = KT_EIO;
out:
	sodium_memzero(key, sizeof key);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sodium_free(fresh);
	keyring_close(kr);
	return rc;
}

kt_key_state keyring_key_state(kt_keyring *kr, const char *owner)
{
	if (keyring_erased(kr, owner))
		return KT_KEY_ERASED;
	if (!kr || !kr->db)
		return KT_KEY_NO_KEYRING;
	return keyring_has(kr, owner) ? KT_KEY_PRESENT : KT_KEY_ABSENT;
}

size_t keyring_erased_count(const kt_keyring *kr)
{
	return kr ? kr->nerased : 0;
}

const char *keyring_erased_at(const kt_keyring *kr, size_t i)
{
	return kr && i < kr->nerased ? kr->erased[i] : NULL;
}

int keyring_apply_ledger(kt_keyring *kr, int *destroyed)
{
	sqlite3_stmt *s = NULL;
	int rc = KT_OK;
	*destroyed = 0;
	if (!kr || !kr->db || kr->read_only)
		return KT_EDENIED;
	if (!kr->nerased)
		return KT_OK;
	if (exec(kr->db, "BEGIN IMMEDIATE"))
		return KT_EBUSY;
	if (sqlite3_prepare_v2(kr->db, "DELETE FROM data_key WHERE owner = ?", -1, &s, NULL) != SQLITE_OK)
		rc = KT_EIO;
	for (size_t i = 0; !rc && i < kr->nerased; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, kr->erased[i], -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = KT_EIO;
		else
			*destroyed += sqlite3_changes(kr->db);
	}
	sqlite3_finalize(s);
	if (rc || exec(kr->db, "COMMIT")) {
		exec(kr->db, "ROLLBACK");
		return rc ? rc : KT_EIO;
	}
	sodium_memzero(kr->cache, CACHE_SLOTS * sizeof(slot));
	if (*destroyed && sqlite3_wal_checkpoint_v2(kr->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
		kt_warn("keyring: WAL not truncated after destroying keys (busy); it is on the next checkpoint");
	return KT_OK;
}

int keyring_check_copy(const char *db_path, const char *keys_path, const char **errmsg)
{
	char key_path[4096];
	uint8_t *master = sodium_malloc(KEY_LEN);
	sqlite3 *db = NULL;
	bool present = false;
	int rc;
	if (!master)
		return KT_ENOMEM;
	keyring_key_path(db_path, key_path, sizeof key_path);
	if ((rc = read_master(key_path, master, errmsg)))
		goto out;
	if (sqlite_open_ro(keys_path, SQLITE_OPEN_NOMUTEX, &db) != SQLITE_OK) {
		*errmsg = "cannot open the keyring copy";
		rc = KT_EIO;
		goto out;
	}
	rc = check_master(db, master, &present);
	if (rc || !present) {
		*errmsg = rc == KT_EIO ? "not a keyring" : "the master key does not open this keyring copy (made before a "
							   "key rotation, or for another database?)";
		rc = rc ? rc : KT_EINVALID;
	}
out:
	sqlite3_close(db);
	sodium_free(master);
	return rc;
}
