/* kt_util.h - small shared pieces: logging, clocks, UUIDv7 ids, random tokens.
 * Logging never prints secrets or personal data (kt_log.h). */
#ifndef KT_UTIL_H
#define KT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_I64_TEXT 21 /* "-9223372036854775808" and its NUL */

/* logging: kt_info, kt_warn, kt_err_log, kt_debug, kt_log_code (kt_log.h) */
#include "kt_log.h"

/* Wall clock in milliseconds since the Unix epoch (UTC). */
int64_t kt_now_ms(void);
/* Monotonic clock in microseconds, for latency measurements. */
int64_t kt_mono_us(void);

#define KT_UUID_LEN 36 /* text form without NUL */
/* Write a new UUIDv7 (time-ordered) as 36 chars + NUL into out[37]. */
void kt_uuid7(char out[KT_UUID_LEN + 1]);
/* Same, with the time part and randomness given (deterministic demo data). */
void kt_uuid7_from(char out[KT_UUID_LEN + 1], int64_t ms, const uint8_t rnd[10]);
/* True when s[0..len) is a canonical lower-case UUID text. */
bool kt_uuid_valid(const char *s, size_t len);
/* A comma list of UUIDs (how arrays of ids are stored and typed); empty is an empty list. */
bool kt_uuid_list_valid(const char *s);

/* Lower-case hex of n bytes into out[2n+1]. */
void kt_hex(char *out, const uint8_t *in, size_t n);
/* Parse 2n hex chars into out[n]; false on bad input. */
bool kt_unhex(uint8_t *out, size_t n, const char *hex, size_t hexlen);

/* Copy at most n bytes of s into a fresh NUL-terminated string (caller frees). */
char *kt_strndup(const char *s, size_t n);
/* Copy src (NULL = "") into dst[cap], cut to fit, always NUL-terminated;
 * returns the length copied. snprintf("%s") without the format parsing. */
size_t kt_strcpy_cut(char *dst, size_t cap, const char *src);
/* v in decimal into out (NUL-terminated); returns the length.
 * snprintf("%lld") without the format parsing, for the push path. */
size_t kt_i64_text(char out[KT_I64_TEXT], int64_t v);
/* A config value that must be a whole number in [lo, hi] (decimal, nothing
 * else around it); *out is set only when it is. */
bool kt_parse_int(const char *s, int lo, int hi, int *out);

/* Command lines: the value after option `name` in argv (NULL when absent),
 * and whether `name` is present. */
const char *kt_arg_value(int argc, char **argv, const char *name);
bool kt_arg_flag(int argc, char **argv, const char *name);

#endif
