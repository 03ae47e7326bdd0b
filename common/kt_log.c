/* kt_log.c - text or JSON lines on stderr, or the journal under systemd. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include "kt_err.h"
#include "kt_log.h"

_Atomic int kt_log_level = KT_LOG_INFO;
static _Atomic int log_format = KT_LOG_TEXT;
static int journal; /* set once by decide_sink */
static pthread_once_t sink_once = PTHREAD_ONCE_INIT;

static _Thread_local kt_log_ctx ctx;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void kt_log_set_level(int level)
{
	atomic_store(&kt_log_level, level < KT_LOG_ERR ? KT_LOG_ERR : level > KT_LOG_DEBUG ? KT_LOG_DEBUG : level);
}

int kt_log_get_level(void)
{
	return atomic_load(&kt_log_level);
}

void kt_log_set_format(int format)
{
	atomic_store(&log_format, format == KT_LOG_JSON ? KT_LOG_JSON : KT_LOG_TEXT);
}

int kt_log_get_format(void)
{
	return atomic_load(&log_format);
}

int kt_log_format_parse(const char *s)
{
	if (s && !strcmp(s, "text"))
		return KT_LOG_TEXT;
	if (s && !strcmp(s, "json"))
		return KT_LOG_JSON;
	return -1;
}

int kt_log_config_set(const char *key, const char *value, const char **why)
{
	if (strcmp(key, "log_format"))
		return 1;
	int f = kt_log_format_parse(value);
	if (f < 0) {
		*why = "log_format is text or json";
		return -1;
	}
	kt_log_set_format(f);
	return 0;
}

const char *kt_log_component(const char *file, char *buf, size_t cap)
{
	const char *end = strrchr(file, '/'), *start;
	size_t n;

	if (!end)
		return strchr(file, '.') ? "kartoteka" : file; /* a bare file name, or a component's own name */
	for (start = end; start > file && start[-1] != '/'; start--)
		;
	n = (size_t)(end - start);
	if (n == 11 && !strncmp(start, "reference-c", n))
		return "client";
	if (!n || n >= cap)
		return "kartoteka";
	memcpy(buf, start, n);
	buf[n] = 0;
	return buf;
}

void kt_log_ctx_set(uint64_t session, const char *device, const char *principal)
{
	ctx.session = session;
	snprintf(ctx.device, sizeof ctx.device, "%s", device ? device : "");
	snprintf(ctx.principal, sizeof ctx.principal, "%s", principal ? principal : "");
}

void kt_log_ctx_clear(void)
{
	ctx.session = 0;
	ctx.device[0] = ctx.principal[0] = 0;
}

void kt_log_ctx_save(kt_log_ctx *out)
{
	*out = ctx;
}

void kt_log_ctx_restore(const kt_log_ctx *saved)
{
	ctx = *saved;
}

/* Length of the UTF-8 character at s[0..len), 0 when not valid UTF-8
 * (overlong forms, surrogates and code points over U+10FFFF are not). */
static size_t utf8_char(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

size_t kt_log_json_escape(char *out, size_t cap, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0;

	if (!cap)
		return 0;
	for (size_t i = 0; i < len;) {
		char tmp[8];
		const char *piece = tmp;
		size_t plen, step = 1;
		unsigned c = s[i];

		if (c == '"' || c == '\\')
			tmp[0] = '\\', tmp[1] = (char)c, plen = 2;
		else if (c == '\n')
			piece = "\\n", plen = 2;
		else if (c == '\r')
			piece = "\\r", plen = 2;
		else if (c == '\t')
			piece = "\\t", plen = 2;
		else if (c < 0x20 || c == 0x7f)
			plen = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", c);
		else if (c < 0x80)
			tmp[0] = (char)c, plen = 1;
		else if ((step = utf8_char(s + i, len - i)))
			piece = (const char *)s + i, plen = step;
		else
			piece = "\\ufffd", plen = 6, step = 1;
		if (o + plen >= cap)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += step;
	}
	out[o] = 0;
	return o;
}

/* systemd connects stderr to the journal and says so in JOURNAL_STREAM
 * ("DEVICE:INODE" of that stream): then lines go to the journal as entries
 * with fields, when its socket is there. Anything else (a terminal, a pipe, a
 * file) gets lines; so does an entry the journal did not take. */
static void decide_sink(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino &&
	    /* sd_journal_send drops an entry silently when no journal listens */
	    !stat("/run/systemd/journal/socket", &st) && S_ISSOCK(st.st_mode))
		journal = 1;
}

int kt_log_to_journal(void)
{
	pthread_once(&sink_once, decide_sink);
	return journal;
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* syslog priorities of our levels: err, warning, info, debug */
static int journal_send(int level, const char *comp, int code, const char *msg)
{
	static const char *const prio[] = {"PRIORITY=3", "PRIORITY=4", "PRIORITY=6", "PRIORITY=7"};
	char f[6][160];
	struct iovec iov[9];
	int n = 0, nf = 0;
	size_t mlen = strlen(msg);
	char *m = malloc(mlen + 9);

	if (!m)
		return -1;
	memcpy(m, "MESSAGE=", 8);
	memcpy(m + 8, msg, mlen + 1);
	iov[n++] = (struct iovec){m, mlen + 8};
	iov[n++] = (struct iovec){(void *)prio[level], strlen(prio[level])};
	snprintf(f[nf], sizeof f[nf], "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
	iov[n++] = (struct iovec){f[nf], strlen(f[nf])}, nf++;
	snprintf(f[nf], sizeof f[nf], "KT_COMPONENT=%s", comp);
	iov[n++] = (struct iovec){f[nf], strlen(f[nf])}, nf++;
	if (code) {
		snprintf(f[nf], sizeof f[nf], "KT_CODE=%s", kt_err_name(code));
		iov[n++] = (struct iovec){f[nf], strlen(f[nf])}, nf++;
	}
	if (ctx.session) {
		snprintf(f[nf], sizeof f[nf], "KT_SESSION=%" PRIu64, ctx.session);
		iov[n++] = (struct iovec){f[nf], strlen(f[nf])}, nf++;
	}
	if (ctx.device[0]) {
		snprintf(f[nf], sizeof f[nf], "KT_DEVICE=%s", ctx.device);
		iov[n++] = (struct iovec){f[nf], strlen(f[nf])}, nf++;
	}
	if (ctx.principal[0]) {
		snprintf(f[nf], sizeof f[nf], "KT_PRINCIPAL=%s", ctx.principal);
		iov[n++] = (struct iovec){f[nf], strlen(f[nf])}, nf++;
	}
	int rc = sd_journal_sendv(iov, n);
	free(m);
	return rc;
}

#define KT_LOG_MSG 4096

void kt_log_at(int level, const char *where, int code, const char *fmt, ...)
{
	char msg[KT_LOG_MSG], line[KT_LOG_MSG * 2 + 512], ts[32], cbuf[32];
	const char *comp;
	struct timespec now;
	struct tm tm;
	va_list ap;
	size_t n;
	int m;

	if (level > atomic_load_explicit(&kt_log_level, memory_order_relaxed))
		return;
	if (level < KT_LOG_ERR)
		level = KT_LOG_ERR;
	if (level > KT_LOG_DEBUG)
		level = KT_LOG_DEBUG;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (m < 0)
		msg[0] = 0;
	comp = kt_log_component(where ? where : "", cbuf, sizeof cbuf);
	if (kt_log_to_journal() && journal_send(level, comp, code, msg) >= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	if (atomic_load_explicit(&log_format, memory_order_relaxed) != KT_LOG_JSON) {
		/* for people: as it always was */
		n = (size_t)snprintf(line, sizeof line - 1, "%s.%03ldZ %s %s", ts, now.tv_nsec / 1000000,
				     level_names[level], msg);
		if (n > sizeof line - 2)
			n = sizeof line - 2;
		line[n++] = '\n';
		write_all(line, n);
		return;
	}
	n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":\"", ts,
			     now.tv_nsec / 1000000, level_names[level]);
	n += kt_log_json_escape(line + n, 64, comp, strlen(comp));
	n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
	/* room for the fields and the end after the message */
	n += kt_log_json_escape(line + n, sizeof line - n - 256, msg, strlen(msg));
	line[n++] = '"';
	if (code)
		n += (size_t)snprintf(line + n, sizeof line - n, ",\"code\":\"%s\"", kt_err_name(code));
	if (ctx.session)
		n += (size_t)snprintf(line + n, sizeof line - n, ",\"session\":%" PRIu64, ctx.session);
	/* ids are UUIDs (checked before they are set), escaped all the same */
	if (ctx.device[0]) {
		n += (size_t)snprintf(line + n, sizeof line - n, ",\"device\":\"");
		n += kt_log_json_escape(line + n, 80, ctx.device, strlen(ctx.device));
		line[n++] = '"';
	}
	if (ctx.principal[0]) {
		n += (size_t)snprintf(line + n, sizeof line - n, ",\"principal\":\"");
		n += kt_log_json_escape(line + n, 80, ctx.principal, strlen(ctx.principal));
		line[n++] = '"';
	}
	line[n++] = '}';
	line[n++] = '\n';
	write_all(line, n);
}
