/* kt_mp.h - bounded MessagePack reader and a checked writer.
 * The reader never allocates and never trusts a declared length: every read
 * checks the bytes left, containers cannot declare more elements than bytes
 * remain, strings must be valid UTF-8 and are NOT NUL-terminated.
 * The writer wraps msgpack-c's packer and remembers the first failure so a
 * message is either packed whole or reported as failed. */
#ifndef KT_MP_H
#define KT_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "kt_err.h"

typedef enum kt_mp_type {
	KT_MP_NIL, KT_MP_BOOL, KT_MP_INT, KT_MP_FLOAT, KT_MP_STR, KT_MP_BIN,
	KT_MP_ARRAY, KT_MP_MAP, KT_MP_EXT, KT_MP_END
} kt_mp_type;

typedef struct kt_mp {
	const uint8_t *buf; /* borrowed; must outlive the reader and every string read from it */
	size_t len;
	size_t pos;
} kt_mp;

void kt_mp_init(kt_mp *r, const void *buf, size_t len);
/* Type of the next value, or KT_MP_END when all bytes are consumed. */
kt_mp_type kt_mp_peek(const kt_mp *r);
bool kt_mp_at_end(const kt_mp *r);

/* Each returns KT_OK or KT_EMALFORMED (wrong type, truncated, out of range). */
int kt_mp_read_nil(kt_mp *r) KT_MUST_CHECK;
int kt_mp_read_bool(kt_mp *r, bool *out) KT_MUST_CHECK;
/* Any integer encoding (positive or negative family) that fits int64_t. */
int kt_mp_read_int(kt_mp *r, int64_t *out) KT_MUST_CHECK;
/* Any integer encoding with a value >= 0. */
int kt_mp_read_uint(kt_mp *r, uint64_t *out) KT_MUST_CHECK;
int kt_mp_read_float(kt_mp *r, double *out) KT_MUST_CHECK;
/* str points into the reader's buffer; validated UTF-8, no NUL inside.
 * Returns KT_ETOO_LARGE when longer than max_len. */
int kt_mp_read_str(kt_mp *r, const char **str, size_t *len, size_t max_len) KT_MUST_CHECK;
int kt_mp_read_bin(kt_mp *r, const uint8_t **bin, size_t *len, size_t max_len) KT_MUST_CHECK;
/* Container headers: the count is checked against the bytes left
 * (each element takes at least one byte; a map entry two). */
int kt_mp_read_array(kt_mp *r, uint32_t *n) KT_MUST_CHECK;
int kt_mp_read_map(kt_mp *r, uint32_t *n) KT_MUST_CHECK;
/* Skip one whole value, nesting at most max_depth containers deep (the
 * value itself, when a container, is the first); deeper is KT_EMALFORMED. */
int kt_mp_skip(kt_mp *r, int max_depth) KT_MUST_CHECK;
/* Check that buf holds exactly one well-formed value: nesting <= max_depth
 * (counted as for kt_mp_skip; deeper is KT_EMALFORMED), every string valid
 * UTF-8 and <= max_str (else KT_ETOO_LARGE), no trailing bytes. */
int kt_mp_validate(const void *buf, size_t len, int max_depth, size_t max_str) KT_MUST_CHECK;
/* The same; *too_deep (may be NULL) is set when nesting was the fault. */
int kt_mp_validate_why(const void *buf, size_t len, int max_depth, size_t max_str, bool *too_deep) KT_MUST_CHECK;

bool kt_utf8_valid(const uint8_t *s, size_t len);
/* The length of the valid multi-byte UTF-8 sequence at s[0] (a byte >=
 * 0x80, left >= 1 bytes from there), 0 when it is not one: no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
size_t kt_utf8_seq(const uint8_t *s, size_t left);
/* True when the string equals the NUL-terminated literal lit. */
bool kt_mp_str_eq(const char *s, size_t len, const char *lit);

/* Checked writer. Owns its sbuffer; kt_mpw_free accepts NULL members. */
typedef struct kt_mpw {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int err; /* first failure, sticky */
} kt_mpw;

void kt_mpw_init(kt_mpw *w);
void kt_mpw_reset(kt_mpw *w);
void kt_mpw_free(kt_mpw *w);
void kt_mpw_map(kt_mpw *w, uint32_t n);
void kt_mpw_array(kt_mpw *w, uint32_t n);
void kt_mpw_nil(kt_mpw *w);
void kt_mpw_bool(kt_mpw *w, bool v);
void kt_mpw_int(kt_mpw *w, int64_t v);
void kt_mpw_uint(kt_mpw *w, uint64_t v);
void kt_mpw_double(kt_mpw *w, double v);
void kt_mpw_str(kt_mpw *w, const char *s);            /* NUL-terminated; NULL packs nil */
void kt_mpw_strn(kt_mpw *w, const char *s, size_t n);
void kt_mpw_bin(kt_mpw *w, const void *b, size_t n);
/* Append bytes that already hold one packed value. */
void kt_mpw_raw(kt_mpw *w, const void *b, size_t n);

#endif
