/* mail.c - see mail.h. The outbox worker of both channels: it claims due
 * rows in small batches (outbox_claim_batch; consent, quiet hours and the
 * daily cap decided by gate() in the claim's transaction), hands each to
 * SMTP or the SMS gateway (libcurl; the handles are kept, so connections
 * are reused) or to the spool, and marks it right after the call returns.
 * Exactly once: a row is 'sending' only while one live process holds it;
 * the process notes each id in its journal (a locked file) before the
 * call, so when it dies, the rows it had handed on become 'unknown' (never
 * sent again by themselves) and the ones it never tried go back to the
 * queue. Never logs addresses, numbers, texts or credentials. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>
#include "kt_metrics.h"
#include "domain/consent.h"
#include "domain/mail.h"
#include "domain/resolve.h"
#include "domain/sms.h"
#include "db/validate.h"
#include "kt_time.h"

#define MAIL_POLL_MS 1000             /* look for mail queued by other processes */
#define MAIL_SWEEP_MS 5000            /* look for rows of processes that died */
#define MAIL_BATCH 32                 /* rows claimed in one transaction */
#define MAIL_NICE 10                  /* the worker thread's nice value */
#define MAIL_MAX_BACKOFF_MS (6 * 3600 * 1000LL)

struct kt_mail_worker {
	const kt_portal_config *cfg; /* &mine: read by the worker thread only */
	kt_portal_config mine;
	kt_portal_config *next;      /* under mu: settings a reload handed over (mail_reconfigure) */
	char *db_path;
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kick;
	atomic_int stop;
	/* the worker thread's own */
	char id[KT_OUTBOX_WORKER_LEN + 1]; /* claimed_by of the rows this process sends */
	char boot[64];                     /* the kernel's boot id: a journal from before a reboot is not trusted */
	char jdir[4200];                   /* DB.outbox: one journal per live process */
	int jfd;
	off_t jhead;
	CURL *smtp; /* kept between messages: libcurl reuses the SMTP connection */
	kt_sms *sms;
	long smtp_conns; /* connections opened (CURLINFO_NUM_CONNECTS), for the log and the bench */
};

/* ---- the message text ---- */

static bool header_safe(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

/* RFC 2047 encoded word for a non-ASCII subject. */
static char *subject_header(const char *s)
{
	bool ascii = true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		ascii &= *p < 0x80;
	if (ascii)
		return strdup(s);
	size_t n = strlen(s), cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(cap), *out = NULL;
	if (!b64)
		return NULL;
	sodium_bin2base64(b64, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(&out, "=?UTF-8?B?%s?=", b64) < 0)
		out = NULL;
	free(b64);
	return out;
}

/* The domain of the From address, for the Message-ID. */
static const char *from_domain(const char *from)
{
	const char *at = strrchr(from, '@');
	return at && at[1] ? at + 1 : "localhost";
}

/* The bare address of "Name <a@b>" or "a@b". */
static void bare_address(const char *from, char *out, size_t cap)
{
	const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && gt > lt + 1)
		snprintf(out, cap, "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, cap, "%s", from);
}

void mail_ref(const kt_mail *m, char out[33])
{
	uint8_t h[16];
	if (!m->idem_key[0]) {
		snprintf(out, 33, "outbox-%lld", (long long)m->id);
		return;
	}
	/* a hash, not the key itself: the key names appointments and clients */
	crypto_generichash(h, sizeof h, (const uint8_t *)m->idem_key, strlen(m->idem_key),
			   (const uint8_t *)"kartoteka-msgid", 15);
	kt_hex(out, h, sizeof h);
}

/* The message's own headers ("Name: value" lines; List-Unsubscribe and
 * List-Unsubscribe-Post of RFC 8058), each checked: a name of letters,
 * digits and dashes that is none of the headers written here, a value
 * without line breaks. NULL when one is not such a line. */
static char *extra_lines(const char *hdrs)
{
	static const char *const ours[] = {"date", "from", "to", "cc", "bcc", "subject", "message-id",
					   "mime-version", "content-type", "content-transfer-encoding", "reply-to"};
	size_t n = hdrs ? strlen(hdrs) : 0, o = 0;
	char *out = malloc(n * 2 + 3);
	const char *p = hdrs;
	if (!out)
		return NULL;
	while (p && *p) {
		const char *e = strchr(p, '\n'), *colon;
		size_t len = e ? (size_t)(e - p) : strlen(p), name;
		if (len && p[len - 1] == '\r')
			len--;
		if (len) {
			colon = memchr(p, ':', len);
			name = colon ? (size_t)(colon - p) : 0;
			bool ok = name > 0 && name < 64 && memchr(p, '\r', len) == NULL;
			for (size_t i = 0; ok && i < name; i++)
				ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
				     (p[i] >= '0' && p[i] <= '9') || p[i] == '-';
			for (size_t i = 0; ok && i < sizeof ours / sizeof ours[0]; i++)
				ok = !(strlen(ours[i]) == name && !strncasecmp(p, ours[i], name));
			if (!ok) {
				free(out);
				return NULL;
			}
			memcpy(out + o, p, len);
			o += len;
			out[o++] = '\r';
			out[o++] = '\n';
		}
		p = e ? e + 1 : NULL;
	}
	out[o] = 0;
	return out;
}

char *mail_format(const kt_portal_config *cfg, const kt_mail *m, int64_t now_ms, size_t *len)
{
	char date[64], domain[256], rnd_hex[33], msgid[400];
	uint8_t rnd[16];
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	char *subj = NULL, *head = NULL, *out = NULL, *extra = NULL;
	size_t blen = strlen(m->body), hlen, o = 0;

	if (!validate_mail_address(m->to_addr) || !header_safe(m->subject) || !header_safe(cfg->smtp_from))
		return NULL;
	if (!(extra = extra_lines(m->extra_headers)))
		return NULL;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(domain, sizeof domain, "%s", from_domain(cfg->smtp_from));
	domain[strcspn(domain, ">")] = 0;
	if (m->idem_key[0]) {
		/* stable: a message sent again (an operator's resend of an
		 * 'unknown' one) has the same id, so mail programs show it once */
		char ref[33];
		mail_ref(m, ref);
		snprintf(msgid, sizeof msgid, "<%s@%s>", ref, domain);
	} else {
		randombytes_buf(rnd, sizeof rnd);
		kt_hex(rnd_hex, rnd, sizeof rnd);
		snprintf(msgid, sizeof msgid, "<%lld.%s@%s>", (long long)m->id, rnd_hex, domain);
	}
	if (!(subj = subject_header(m->subject))) {
		free(extra);
		return NULL;
	}
	if (asprintf(&head,
		     "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n%s"
		     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: 8bit\r\n\r\n",
		     date, cfg->smtp_from, m->to_addr, subj, msgid, extra) < 0)
		head = NULL;
	free(subj);
	sodium_memzero(extra, strlen(extra));
	free(extra);
	if (!head)
		return NULL;
	hlen = strlen(head);
	/* body: every line end becomes CRLF; a final line end is ensured */
	if (!(out = malloc(hlen + 2 * blen + 3))) {
		free(head);
		return NULL;
	}
	memcpy(out, head, hlen);
	o = hlen;
	sodium_memzero(head, hlen);
	free(head);
	for (size_t i = 0; i < blen; i++) {
		if (m->body[i] == '\r')
			continue;
		if (m->body[i] == '\n')
			out[o++] = '\r';
		out[o++] = m->body[i];
	}
	if (o < 2 || out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = 0;
	*len = o;
	return out;
}

/* ---- the spool ---- */

static void wipe_free(char *s, size_t len)
{
	if (s) {
		sodium_memzero(s, len);
		free(s);
	}
}

static bool is_sms(const kt_mail *m)
{
	return !strcmp(m->channel, "sms");
}

static void spool_path(const kt_portal_config *cfg, const kt_mail *m, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%lld-%s.%s", cfg->spool_dir, (long long)m->id, m->purpose, is_sms(m) ? "sms" : "eml");
}

static int spool_write(const kt_portal_config *cfg, const kt_mail *m, const char *text, size_t len, char *err,
		       size_t errcap)
{
	char path[4200], tmp[4220];
	int fd;
	if (mkdir(cfg->spool_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errcap, "spool directory: %s", strerror(errno));
		return KT_EIO;
	}
	spool_path(cfg, m, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errcap, "spool file: %s", strerror(errno));
		return KT_EIO;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errcap, "spool write: %s", strerror(errno));
			close(fd);
			unlink(tmp);
			return KT_EIO;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errcap, "spool file: %s", strerror(errno));
		unlink(tmp);
		return KT_EIO;
	}
	kt_info("%s %lld (%s) written to %s", is_sms(m) ? "sms" : "mail", (long long)m->id, m->purpose, path);
	return KT_OK;
}

/* An SMS as a spool file: what the gateway would get, readable. */
static char *sms_text(const kt_portal_config *cfg, const kt_mail *m, size_t *len)
{
	char ref[33], *out = NULL;
	int n;
	mail_ref(m, ref);
	n = asprintf(&out, "To: %s\nFrom: %s\nRef: %s\n\n%s\n", m->to_addr, cfg->sms_from, ref, m->body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

/* ---- SMTP ---- */

struct upload {
	const char *data;
	size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *user)
{
	struct upload *u = user;
	size_t n = size * nmemb, left = u->len - u->off;
	if (n > left)
		n = left;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

static int progress_cb(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	kt_mail_worker *w = user;
	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&w->stop) ? 1 : 0; /* non-zero aborts the transfer at shutdown */
}

static int abort_cb(void *user)
{
	kt_mail_worker *w = user;
	return atomic_load(&w->stop);
}

/* The SMTP handle, made once: what does not change between messages. */
static CURL *smtp_handle(kt_mail_worker *w)
{
	const kt_portal_config *cfg = w->cfg;
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (cfg->smtp_user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
		/* credentials never travel in the clear: STARTTLS or smtps:// */
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	} else {
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	}
	return c;
}

static int smtp_send(kt_mail_worker *w, const kt_mail *m, const char *text, size_t len, char *err, size_t errcap)
{
	char from[260], rcpt[300], envelope_from[264];
	struct upload u = {text, len, 0};
	struct curl_slist *to = NULL;
	CURLcode cc;
	long code = 0, conns = 0;

	if (!w->smtp && !(w->smtp = smtp_handle(w))) {
		snprintf(err, errcap, "curl init failed");
		return KT_ENOMEM;
	}
	bare_address(w->cfg->smtp_from, from, sizeof from);
	snprintf(envelope_from, sizeof envelope_from, "<%s>", from);
	snprintf(rcpt, sizeof rcpt, "<%s>", m->to_addr);
	if (!(to = curl_slist_append(NULL, rcpt))) {
		snprintf(err, errcap, "out of memory");
		return KT_ENOMEM;
	}
	curl_easy_setopt(w->smtp, CURLOPT_MAIL_FROM, envelope_from);
	curl_easy_setopt(w->smtp, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(w->smtp, CURLOPT_READDATA, &u);
	curl_easy_setopt(w->smtp, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(w->smtp);
	curl_easy_getinfo(w->smtp, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(w->smtp, CURLINFO_NUM_CONNECTS, &conns);
	w->smtp_conns += conns;
	curl_easy_setopt(w->smtp, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(to);
	sodium_memzero(rcpt, sizeof rcpt);
	if (cc != CURLE_OK) {
		/* curl's text names the step, never the addresses */
		snprintf(err, errcap, "smtp: %s (reply %ld)", curl_easy_strerror(cc), code);
		/* a permanent refusal (5xx: no such mailbox, policy) is final */
		return code >= 500 && code < 600 ? KT_EINVALID : KT_EIO;
	}
	kt_debug("mail %lld (%s) sent over SMTP", (long long)m->id, m->purpose);
	return KT_OK;
}

/* ---- the journal: which ids this process handed on ---- */

static void read_boot_id(char *out, size_t cap)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)cap, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

/* DB.outbox/ID.lock, created under another name, locked, then renamed:
 * whoever finds a *.lock it can lock finds a dead process's. */
static int journal_open(kt_mail_worker *w)
{
	char tmp[4300], path[4300], head[128];
	uint8_t rnd[KT_OUTBOX_WORKER_LEN / 2];
	int n;
	randombytes_buf(rnd, sizeof rnd);
	kt_hex(w->id, rnd, sizeof rnd);
	read_boot_id(w->boot, sizeof w->boot);
	snprintf(w->jdir, sizeof w->jdir, "%s.outbox", w->db_path);
	if (mkdir(w->jdir, 0700) != 0 && errno != EEXIST)
		return KT_EIO;
	snprintf(tmp, sizeof tmp, "%s/%s.new", w->jdir, w->id);
	snprintf(path, sizeof path, "%s/%s.lock", w->jdir, w->id);
	if ((w->jfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return KT_EIO;
	n = snprintf(head, sizeof head, "boot %s\n", w->boot[0] ? w->boot : "-");
	if (flock(w->jfd, LOCK_EX | LOCK_NB) != 0 || write(w->jfd, head, (size_t)n) != n || rename(tmp, path) != 0) {
		close(w->jfd);
		unlink(tmp);
		w->jfd = -1;
		return KT_EIO;
	}
	w->jhead = n;
	return KT_OK;
}

/* Before the SMTP or gateway call. No fsync: after kill -9 the kernel
 * still has it; after a power cut (another boot id) no journal is trusted. */
static int journal_note(kt_mail_worker *w, int64_t id)
{
	char line[32];
	int n = snprintf(line, sizeof line, "%lld\n", (long long)id);
	return write(w->jfd, line, (size_t)n) == n ? KT_OK : KT_EIO;
}

static void journal_reset(kt_mail_worker *w)
{
	if (ftruncate(w->jfd, w->jhead) != 0)
		kt_warn("outbox: cannot empty the journal");
}

static void journal_close(kt_mail_worker *w)
{
	char path[4300];
	if (w->jfd < 0)
		return;
	snprintf(path, sizeof path, "%s/%s.lock", w->jdir, w->id);
	unlink(path);
	close(w->jfd);
	w->jfd = -1;
}

struct dead {
	char (*ids)[KT_OUTBOX_WORKER_LEN + 1];
	int n, cap;
	const char *me;
};

static int collect_worker(void *user, const char *worker)
{
	struct dead *d = user;
	if (!strcmp(worker, d->me) || d->n >= 64)
		return 0;
	if (d->n == d->cap) {
		void *more = realloc(d->ids, (size_t)(d->cap + 8) * sizeof *d->ids);
		if (!more)
			return 0;
		d->ids = more;
		d->cap += 8;
	}
	snprintf(d->ids[d->n++], sizeof d->ids[0], "%s", worker);
	return 0;
}

static bool worker_name_ok(const char *s)
{
	size_t n = strlen(s);
	return n == KT_OUTBOX_WORKER_LEN && strspn(s, "0123456789abcdef") == n;
}

/* Settle the rows of one other worker if it is dead. */
static void settle_if_dead(kt_mail_worker *w, kt_store *st, const char *worker)
{
	char path[4300], buf[4096], *text = NULL;
	int64_t *ids = NULL;
	int fd = -1, na = 0, u = 0, r = 0;
	size_t len = 0;
	bool ok = false;

	if (worker_name_ok(worker)) {
		snprintf(path, sizeof path, "%s/%s.lock", w->jdir, worker);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
			close(fd); /* alive: it holds its lock */
			return;
		}
	}
	if (fd >= 0) {
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			char *more = realloc(text, len + (size_t)n + 1);
			if (!more)
				break;
			text = more;
			memcpy(text + len, buf, (size_t)n);
			len += (size_t)n;
		}
		if (text) {
			text[len] = 0;
			char bootline[80];
			snprintf(bootline, sizeof bootline, "boot %s\n", w->boot);
			ok = w->boot[0] && !strncmp(text, bootline, strlen(bootline));
			for (char *p = strchr(text, '\n'); ok && p && p[1]; p = strchr(p + 1, '\n')) {
				void *more = realloc(ids, (size_t)(na + 1) * sizeof *ids);
				if (!more) {
					ok = false;
					break;
				}
				ids = more;
				ids[na++] = strtoll(p + 1, NULL, 10);
			}
		}
	}
	/* no journal, another boot, or unreadable: every row it held is unknown */
	if (outbox_settle_worker(st, worker, ids, na, ok, &u, &r))
		kt_warn("outbox: cannot settle the messages of a stopped process");
	else {
		if (u)
			kt_warn("outbox: %d message(s) were being sent when a server process stopped: state 'unknown', "
				"not sent again (kartoteka-server admin --db FILE outbox list --state unknown)",
				u);
		if (r)
			kt_info("outbox: %d message(s) claimed by a stopped process but never sent: queued again", r);
		if (fd >= 0)
			unlink(path);
	}
	if (fd >= 0)
		close(fd);
	free(text);
	free(ids);
}

static void sweep(kt_mail_worker *w, kt_store *st)
{
	struct dead d = {NULL, 0, 0, w->id};
	if (outbox_sending_workers(st, collect_worker, &d) == KT_OK)
		for (int i = 0; i < d.n; i++)
			settle_if_dead(w, st, d.ids[i]);
	free(d.ids);
}

/* At start: journals of processes that died with nothing in flight. */
static void sweep_files(kt_mail_worker *w)
{
	DIR *dir = opendir(w->jdir);
	struct dirent *e;
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char path[4600];
		size_t n = strlen(e->d_name);
		if (n != KT_OUTBOX_WORKER_LEN + 5 || strcmp(e->d_name + KT_OUTBOX_WORKER_LEN, ".lock") ||
		    !strncmp(e->d_name, w->id, KT_OUTBOX_WORKER_LEN))
			continue;
		snprintf(path, sizeof path, "%s/%s", w->jdir, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlink(path); /* its rows were settled by sweep() first */
		close(fd);
	}
	closedir(dir);
}

/* ---- the gate: consent, quiet hours, daily cap ---- */

static bool message_kind(const char *k)
{
	static const char *const kinds[] = {"confirmation", "change", "cancellation", "reminder", "reminder2",
					    "review_request", "birthday", "campaign", "reconsent", "survey"};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcmp(k, kinds[i]))
			return true;
	return false;
}

static bool always_goes(const char *k)
{
	return !strcmp(k, "confirmation") || !strcmp(k, "change") || !strcmp(k, "cancellation");
}

/* The instant of local minute `min` on the local day that starts at
 * midnight `day0` in zone (an hour later when that time does not exist). */
static int64_t at_local(const char *zone, int64_t day0, int min)
{
	kt_local l;
	int64_t ms;
	if (min >= 1440)
		min = 1439;
	if (kt_time_to_local(zone, day0 + 6 * 3600 * 1000LL, &l) ||
	    kt_time_from_local(zone, l.year, l.month, l.day, min / 60, min % 60, &ms))
		return day0 + (int64_t)min * 60000 + 3600 * 1000LL;
	return ms;
}

/* Local midnight of the day of `now` and of the next day. */
static int local_day(const char *zone, int64_t now, int64_t *day0, int64_t *day1, int *minute)
{
	kt_local l, n;
	if (kt_time_to_local(zone, now, &l) || kt_time_from_local(zone, l.year, l.month, l.day, 0, 0, day0))
		return KT_EINVALID;
	if (kt_time_to_local(zone, *day0 + 30 * 3600 * 1000LL, &n) ||
	    kt_time_from_local(zone, n.year, n.month, n.day, 0, 0, day1))
		return KT_EINVALID;
	*minute = l.hour * 60 + l.minute;
	return KT_OK;
}

static bool in_quiet(const kt_outbox_limits *lim, int minute)
{
	if (lim->quiet_from == lim->quiet_to)
		return false;
	if (lim->quiet_from < lim->quiet_to)
		return minute >= lim->quiet_from && minute < lim->quiet_to;
	return minute >= lim->quiet_from || minute < lim->quiet_to;
}

static kt_outbox_verdict gate(void *user, kt_store *st, const kt_mail *m, int64_t now, const char **reason,
			      int64_t *next_at)
{
	kt_outbox_limits lim;
	char zone[RESOLVE_ZONE] = "";
	int64_t day0, day1;
	int minute, sent = 0;
	(void)user;
	/* consent is checked now, when it is sent, not only when planned */
	if (m->consent_purpose[0] && !consent_allows(st, m->client, m->consent_purpose)) {
		*reason = "consent_withdrawn";
		return KT_OUTBOX_DROP;
	}
	if (!message_kind(m->purpose) || (!is_sms(m) && (always_goes(m->purpose) || !m->client[0])))
		return KT_OUTBOX_SEND;
	if (outbox_limits(st, m->org, &lim))
		return KT_OUTBOX_SEND; /* cannot read the settings: the defaults would not be worse than not sending */
	if (m->location[0])
		resolve_location_zone(st, m->location, zone);
	if (!zone[0])
		resolve_org_zone(st, m->org, zone);
	if (!zone[0])
		snprintf(zone, sizeof zone, "UTC");
	if (local_day(zone, now, &day0, &day1, &minute))
		return KT_OUTBOX_SEND;
	/* no SMS at night: held to the end of the quiet hours */
	if (is_sms(m) && in_quiet(&lim, minute)) {
		bool before_end = lim.quiet_from > lim.quiet_to ? minute < lim.quiet_to : true;
		*next_at = at_local(zone, before_end ? day0 : day1, lim.quiet_to);
		*reason = "held: quiet hours";
		return KT_OUTBOX_DEFER;
	}
	if (always_goes(m->purpose) || !m->client[0])
		return KT_OUTBOX_SEND;
	/* the daily cap: counted in this transaction, so two processes agree */
	if (outbox_client_sent(st, m->client, day0, day1, m->id, &sent) == KT_OK && sent >= lim.daily_cap) {
		*next_at = lim.quiet_from == lim.quiet_to ? day1 : at_local(zone, day1, lim.quiet_to);
		*reason = "held: daily cap";
		return KT_OUTBOX_DEFER;
	}
	return KT_OUTBOX_SEND;
}

/* ---- delivery ---- */

static int64_t backoff_ms(const kt_portal_config *cfg, int attempts_before)
{
	double d = cfg->mail_retry_s * 1000.0;
	for (int i = 0; i < attempts_before && d < (double)MAIL_MAX_BACKOFF_MS; i++)
		d *= 2;
	return d > (double)MAIL_MAX_BACKOFF_MS ? MAIL_MAX_BACKOFF_MS : (int64_t)d;
}

/* Mark a row once its call returned: its own small transaction, retried
 * while the database is busy (a failure leaves it 'sending': 'unknown'
 * later, never sent twice). */
static int mark(kt_mail_worker *w, kt_store *st, int rc_sent, const kt_mail *m, int64_t next, bool final,
		const char *err)
{
	int rc = KT_EIO;
	for (int i = 0; i < 5; i++) {
		rc = rc_sent ? outbox_mark_retry(st, m->id, next, final, err) : outbox_mark_sent(st, m->id);
		if (rc != KT_EIO && rc != KT_EBUSY)
			break;
		if (atomic_load(&w->stop))
			break;
	}
	if (rc_sent) /* after the row says so: a scrape never sees the failure before the retry */
		kt_metric_inc(KT_M_OUTBOX_FAILED, is_sms(m) ? KT_CHANNEL_SMS : KT_CHANNEL_EMAIL);
	return rc;
}

/* KT_OK when its row was marked (sent, retry, failed, dropped). */
static int deliver_one(kt_mail_worker *w, kt_store *st, kt_mail *m)
{
	const kt_portal_config *cfg = w->cfg;
	char err[256] = "", ref[33];
	size_t len = 0;
	char *text = NULL;
	int rc, mrc;

	if (m->client[0] && !m->to_addr[0]) /* its client's key is gone: erased */
		return outbox_mark_dropped(st, m->id, "erased");
	if (journal_note(w, m->id)) {
		/* without the note a crash now could send it twice: not now */
		return outbox_mark_retry(st, m->id, kt_now_ms() + 1000, false, "journal not writable");
	}
	if (is_sms(m)) {
		if (!sms_e164(m->to_addr)) {
			snprintf(err, sizeof err, "sms: the number is not in E.164 form");
			rc = KT_EINVALID;
		} else if (cfg->sms_url[0]) {
			mail_ref(m, ref);
			if (!w->sms && sms_open(cfg, abort_cb, w, &w->sms)) {
				snprintf(err, sizeof err, "curl init failed");
				rc = KT_ENOMEM;
			} else
				rc = sms_send(w->sms, m->to_addr, m->body, ref, err, sizeof err);
		} else if (!(text = sms_text(cfg, m, &len))) {
			snprintf(err, sizeof err, "out of memory");
			rc = KT_ENOMEM;
		} else
			rc = spool_write(cfg, m, text, len, err, sizeof err);
	} else if (!(text = mail_format(cfg, m, kt_now_ms(), &len))) {
		snprintf(err, sizeof err, "cannot format: bad address, subject or header");
		rc = KT_EINVALID;
	} else if (cfg->smtp_url[0])
		rc = smtp_send(w, m, text, len, err, sizeof err);
	else
		rc = spool_write(cfg, m, text, len, err, sizeof err);
	wipe_free(text, len);

	if (rc == KT_OK) {
		mrc = mark(w, st, 0, m, 0, false, NULL);
		if (mrc == KT_ENOT_FOUND) {
			if (is_sms(m) ? !cfg->sms_url[0] : !cfg->smtp_url[0]) {
				/* the client was erased while we wrote it: the erasure could
				 * not see this file yet, so it goes here */
				char path[4200];
				spool_path(cfg, m, path, sizeof path);
				unlink(path);
				kt_info("outbox %lld: its client was erased meanwhile; spool file deleted", (long long)m->id);
			}
			return KT_OK;
		}
		if (mrc)
			kt_err_log("outbox %lld: delivered but not marked sent (it will show as 'unknown')",
				   (long long)m->id);
		return mrc;
	}
	if (atomic_load(&w->stop)) {
		/* aborted by shutdown during the call: whether it went is not known */
		return KT_EIO;
	}
	bool final = rc == KT_EINVALID || m->attempts + 1 >= cfg->mail_max_attempts;
	int64_t next = kt_now_ms() + backoff_ms(cfg, m->attempts);
	if ((mrc = mark(w, st, 1, m, next, final, err)))
		kt_err_log("outbox %lld: cannot record the failed attempt", (long long)m->id);
	else if (final)
		kt_warn("%s %lld (%s) failed for good after %d attempts: %s", is_sms(m) ? "sms" : "mail",
			(long long)m->id, m->purpose, m->attempts + 1, err);
	else
		kt_warn("%s %lld (%s) attempt %d failed: %s; next in %lld ms", is_sms(m) ? "sms" : "mail",
			(long long)m->id, m->purpose, m->attempts + 1, err, (long long)(next - kt_now_ms()));
	return mrc;
}

static void wait_until(kt_mail_worker *w, int64_t due_ms)
{
	int64_t now = kt_now_ms(), wait = MAIL_POLL_MS;
	if (due_ms > 0 && due_ms - now < wait)
		wait = due_ms - now;
	if (wait <= 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(wait / 1000);
	ts.tv_nsec += (long)(wait % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->kick && !atomic_load(&w->stop))
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
			break;
	w->kick = false;
	pthread_mutex_unlock(&w->mu);
}

/* The claim must be on disk before anything is sent (FULL); a mark that
 * a power cut loses leaves the row 'sending', i.e. 'unknown', never sent
 * twice, so marks need not wait for the disk (NORMAL). */
static void durability(kt_store *st, bool full)
{
	if (sqlite3_exec(store_db(st), full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL,
			 NULL) != SQLITE_OK)
		kt_warn("outbox: cannot set synchronous");
}

/* One claimed batch, each row marked right after its call. */
static void run_batch(kt_mail_worker *w, kt_store *st, kt_mail *batch, int n)
{
	int64_t unmarked[MAIL_BATCH];
	int nu = 0, i;
	bool left = false;
	for (i = 0; i < n; i++) {
		if (atomic_load(&w->stop)) {
			left = true;
			break;
		}
		if (deliver_one(w, st, &batch[i]) != KT_OK)
			unmarked[nu++] = batch[i].id;
	}
	for (int j = 0; j < n; j++)
		kt_mail_free(&batch[j]);
	if (left || nu) {
		/* the rest of the batch was never tried: back to the queue; the
		 * ones tried but not marked: unknown */
		int u = 0, r = 0;
		if (outbox_settle_worker(st, w->id, unmarked, nu, true, &u, &r))
			kt_err_log("outbox: cannot release the rest of a batch");
		else if (u)
			kt_warn("outbox: %d message(s) in an unknown state (kartoteka-server admin --db FILE outbox "
				"list --state unknown)",
				u);
	}
	journal_reset(w);
}

/* Between batches: settings a SIGHUP handed over replace ours. The SMTP
 * and gateway handles were made from the old ones: made again on demand. */
static void take_config(kt_mail_worker *w)
{
	pthread_mutex_lock(&w->mu);
	kt_portal_config *n = w->next;
	w->next = NULL;
	pthread_mutex_unlock(&w->mu);
	if (!n)
		return;
	w->mine = *n;
	sodium_memzero(n, sizeof *n);
	free(n);
	if (w->smtp)
		curl_easy_cleanup(w->smtp);
	w->smtp = NULL;
	sms_close(w->sms);
	w->sms = NULL;
	kt_info("mail: new settings taken: %s, %s", w->mine.smtp_url[0] ? "mail over SMTP" : "mail to the spool",
		w->mine.sms_url[0] ? "SMS through the gateway" : "SMS to the spool");
}

static void *worker(void *arg)
{
	kt_mail_worker *w = arg;
	kt_store *st = NULL;
	const char *msg;
	kt_mail batch[MAIL_BATCH];
	int64_t last_sweep = 0;
	pthread_setname_np(pthread_self(), "kt-mail"); /* shown by top -H and ps -L */
	/* a campaign draining must not slow pushes and propagation: when the
	 * cores are busy, this thread (only) gives way (Linux: nice per thread) */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), MAIL_NICE) != 0)
		kt_debug("mail worker: cannot lower its priority");

	if (store_open(w->db_path, 0, &st, &msg)) {
		kt_err_log("mail worker: cannot open database: %s", msg);
		return NULL;
	}
	if (journal_open(w)) {
		kt_err_log("mail worker: cannot make its journal in %s: nothing is sent", w->jdir);
		store_close(st);
		return NULL;
	}
	sweep(w, st);
	sweep_files(w);
	last_sweep = kt_now_ms();
	while (!atomic_load(&w->stop)) {
		int64_t next_due = 0, now;
		int n = 0;
		take_config(w);
		now = kt_now_ms();
		/* an account suspended by an e-mail change (any process may have
		 * made it) gets its confirmation link here, where the config is */
		if (portal_plan_confirmations(st, w->cfg) < 0)
			kt_warn("mail worker: cannot plan confirmation links");
		if (now - last_sweep >= MAIL_SWEEP_MS) {
			sweep(w, st);
			last_sweep = now;
		}
		durability(st, true);
		int rc = outbox_claim_batch(st, w->id, now, MAIL_BATCH, gate, w, batch, &n, &next_due);
		durability(st, false);
		if (rc == KT_OK) {
			run_batch(w, st, batch, n);
			continue;
		}
		if (rc != KT_ENOT_FOUND)
			next_due = 0; /* busy or an error: try again at the next poll */
		else if (next_due == 0 || next_due > now + MAIL_SWEEP_MS)
			next_due = now + MAIL_SWEEP_MS;
		wait_until(w, next_due);
	}
	if (w->smtp_conns)
		kt_info("mail worker: %ld SMTP connection(s) opened", w->smtp_conns);
	if (w->smtp)
		curl_easy_cleanup(w->smtp);
	sms_close(w->sms);
	journal_close(w);
	store_close(st);
	return NULL;
}

int mail_start(const char *db_path, const kt_portal_config *cfg, kt_mail_worker **out)
{
	kt_mail_worker *w = calloc(1, sizeof *w);
	*out = NULL;
	if (!w || !(w->db_path = strdup(db_path))) {
		free(w);
		return KT_ENOMEM;
	}
	w->mine = *cfg;
	w->cfg = &w->mine;
	w->jfd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		mail_stop(w);
		return KT_EINTERNAL;
	}
	if (pthread_create(&w->th, NULL, worker, w) != 0) {
		curl_global_cleanup();
		mail_stop(w);
		return KT_ENOMEM;
	}
	w->running = true;
	if (cfg->smtp_url[0])
		kt_info("mail: delivering over SMTP (%s)", cfg->smtp_user[0] ? "with sign-in" : "no sign-in");
	else
		kt_info("mail: no smtp_url configured; messages are written to %s", cfg->spool_dir);
	if (cfg->sms_url[0])
		kt_info("sms: delivering through the HTTP gateway (%s)", cfg->sms_auth_header[0] ? "with an auth header" : "no auth header");
	else
		kt_info("sms: no sms_url configured; text messages are written to %s", cfg->spool_dir);
	*out = w;
	return KT_OK;
}

void mail_kick(kt_mail_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->kick = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int mail_reconfigure(kt_mail_worker *w, const kt_portal_config *cfg)
{
	kt_portal_config *n;
	if (!w)
		return KT_OK;
	if (!(n = malloc(sizeof *n)))
		return KT_ENOMEM;
	*n = *cfg;
	pthread_mutex_lock(&w->mu);
	if (w->next) { /* two reloads before the worker looked: the newer wins */
		sodium_memzero(w->next, sizeof *w->next);
		free(w->next);
	}
	w->next = n;
	w->kick = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return KT_OK;
}

void mail_stop(kt_mail_worker *w)
{
	if (!w)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		atomic_store(&w->stop, 1);
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		curl_global_cleanup();
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	if (w->next)
		sodium_memzero(w->next, sizeof *w->next);
	free(w->next);
	sodium_memzero(&w->mine, sizeof w->mine);
	free(w->db_path);
	free(w);
}
