/* kt_log.h - the one logger of every process: text for people, JSON lines for
 * machines, the journal under systemd.
 *
 * A line carries its time (RFC 3339, UTC, milliseconds), level, component (the
 * source folder of the call: net, handlers, write, sync, conn, domain, db, cli,
 * common, client; "lws" for libwebsockets' own lines), the message and fields:
 * the thread's log context (session, device, principal: pseudonymous ids, set
 * around a device's message by net/session.c) and an error code when the call
 * names one (kt_log_code).
 *
 * Never log personal data: no names, e-mail addresses, phone numbers, message
 * bodies, tokens or passwords, in the message or in a field. Ids are fine.
 * tests/check_logs.py greps the logs of a whole suite run for the demo data. */
#ifndef KT_LOG_H
#define KT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KT_LOG_ERR, KT_LOG_WARN, KT_LOG_INFO, KT_LOG_DEBUG };
enum { KT_LOG_TEXT, KT_LOG_JSON };

/* The level: lines above it are dropped. Atomic: a SIGHUP reload may change
 * it on the loop thread while other threads log. */
extern _Atomic int kt_log_level;
void kt_log_set_level(int level);
int kt_log_get_level(void);
void kt_log_set_format(int format); /* KT_LOG_TEXT or KT_LOG_JSON */
int kt_log_get_format(void);
/* "text" or "json" to KT_LOG_TEXT / KT_LOG_JSON; -1 for anything else. */
int kt_log_format_parse(const char *s);
/* Config keys of the logger (log_format = text|json): 0 taken, 1 not ours,
 * -1 bad value (*why says the rule). */
int kt_log_config_set(const char *key, const char *value, const char **why);

/* The component of a source file: the name of its folder ("server/net/x.c" ->
 * "net"; clients/reference-c -> "client"). */
const char *kt_log_component(const char *file, char *buf, size_t cap);

/* One line. `where` is a component name or a source path (__FILE__); code is a
 * kt_err code (0: none). Use the macros below. */
void kt_log_at(int level, const char *where, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The component of every line of a file: its folder, unless the file
 * defines KT_LOG_COMPONENT "name" before including this header. */
#ifndef KT_LOG_COMPONENT
#define KT_LOG_COMPONENT __FILE__
#endif
#define kt_log(level, ...) kt_log_at(level, KT_LOG_COMPONENT, 0, __VA_ARGS__)
#define kt_log_code(level, code, ...) kt_log_at(level, KT_LOG_COMPONENT, code, __VA_ARGS__)
#define kt_err_log(...) kt_log_at(KT_LOG_ERR, KT_LOG_COMPONENT, 0, __VA_ARGS__)
#define kt_warn(...) kt_log_at(KT_LOG_WARN, KT_LOG_COMPONENT, 0, __VA_ARGS__)
#define kt_info(...) kt_log_at(KT_LOG_INFO, KT_LOG_COMPONENT, 0, __VA_ARGS__)
#define kt_debug(...) kt_log_at(KT_LOG_DEBUG, KT_LOG_COMPONENT, 0, __VA_ARGS__)

/* The thread's log context: fields of every line this thread logs until it is
 * cleared. session 0 and NULL or "" ids are left out. */
void kt_log_ctx_set(uint64_t session, const char *device, const char *principal);
void kt_log_ctx_clear(void);
/* To set a context for a while and put the one before back. */
typedef struct kt_log_ctx {
	uint64_t session;
	char device[40];
	char principal[40];
} kt_log_ctx;
void kt_log_ctx_save(kt_log_ctx *out);
void kt_log_ctx_restore(const kt_log_ctx *saved);

/* JSON string escaping (without the quotes) of s[0..len) into out[cap]:
 * control characters as \uXXXX (or \n, \t ...), bytes that are not UTF-8 as
 * U+FFFD. Always NUL-terminated; cut at a whole character when out is full.
 * Returns the length written. */
size_t kt_log_json_escape(char *out, size_t cap, const char *s, size_t len);

/* Where lines go: 1 when the journal (stderr is systemd's journal stream,
 * JOURNAL_STREAM), 0 stderr. Decided at the first line. */
int kt_log_to_journal(void);

#endif
