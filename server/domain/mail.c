/* mail.c - see mail.h. The SMTP conversation is libcurl's; we only hand
 * it the envelope and the message text. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>
#include "domain/mail.h"
#include "db/validate.h"

#define MAIL_POLL_MS 1000             /* look for mail queued by other processes */
#define MAIL_MAX_BACKOFF_MS (6 * 3600 * 1000LL)

struct kt_mail_worker {
	const kt_portal_config *cfg;
	char *db_path;
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kick;
	atomic_int stop;
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

char *mail_format(const kt_portal_config *cfg, const kt_mail *m, int64_t now_ms, size_t *len)
{
	char date[64], domain[256], rnd_hex[33];
	uint8_t rnd[16];
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	char *subj = NULL, *head = NULL, *out = NULL;
	size_t blen = strlen(m->body), hlen, o = 0;

	if (!validate_mail_address(m->to_addr) || !header_safe(m->subject) || !header_safe(cfg->smtp_from))
		return NULL;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(domain, sizeof domain, "%s", from_domain(cfg->smtp_from));
	domain[strcspn(domain, ">")] = 0;
	randombytes_buf(rnd, sizeof rnd);
	kt_hex(rnd_hex, rnd, sizeof rnd);
	if (!(subj = subject_header(m->subject)))
		return NULL;
	if (asprintf(&head,
		     "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%lld.%s@%s>\r\n"
		     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: 8bit\r\n\r\n",
		     date, cfg->smtp_from, m->to_addr, subj, (long long)m->id, rnd_hex, domain) < 0)
		head = NULL;
	free(subj);
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

/* ---- delivery ---- */

static void wipe_free(char *s, size_t len)
{
	if (s) {
		sodium_memzero(s, len);
		free(s);
	}
}

static void spool_path(const kt_portal_config *cfg, const kt_mail *m, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%lld-%s.eml", cfg->spool_dir, (long long)m->id, m->purpose);
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
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
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
	kt_info("mail %lld (%s) written to %s", (long long)m->id, m->purpose, path);
	return KT_OK;
}

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
	return atomic_load(&w->stop) ? 1 : 0; /* non-zero aborts the transfer at shutdown */
}

static int smtp_send(kt_mail_worker *w, const kt_mail *m, const char *text, size_t len, char *err, size_t errcap)
{
	const kt_portal_config *cfg = w->cfg;
	char from[260], rcpt[300];
	struct upload u = {text, len, 0};
	struct curl_slist *to = NULL;
	CURL *c = curl_easy_init();
	CURLcode cc;
	long code = 0;

	if (!c) {
		snprintf(err, errcap, "curl init failed");
		return KT_ENOMEM;
	}
	bare_address(cfg->smtp_from, from, sizeof from);
	char envelope_from[264];
	snprintf(envelope_from, sizeof envelope_from, "<%s>", from);
	snprintf(rcpt, sizeof rcpt, "<%s>", m->to_addr);
	to = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, envelope_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	if (cfg->smtp_user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
		/* credentials never travel in the clear: STARTTLS or smtps:// */
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	} else {
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	sodium_memzero(rcpt, sizeof rcpt);
	if (cc != CURLE_OK) {
		/* curl's text names the step, never the addresses */
		snprintf(err, errcap, "smtp: %s (reply %ld)", curl_easy_strerror(cc), code);
		return KT_EIO;
	}
	kt_info("mail %lld (%s) sent over SMTP", (long long)m->id, m->purpose);
	return KT_OK;
}

static int64_t backoff_ms(const kt_portal_config *cfg, int attempts_before)
{
	double d = cfg->mail_retry_s * 1000.0;
	for (int i = 0; i < attempts_before && d < (double)MAIL_MAX_BACKOFF_MS; i++)
		d *= 2;
	return d > (double)MAIL_MAX_BACKOFF_MS ? MAIL_MAX_BACKOFF_MS : (int64_t)d;
}

static void deliver_one(kt_mail_worker *w, kt_store *st, kt_mail *m)
{
	char err[256] = "";
	size_t len = 0;
	char *text = mail_format(w->cfg, m, kt_now_ms(), &len);
	int rc;

	if (!text) {
		snprintf(err, sizeof err, "cannot format: bad address or subject");
		rc = KT_EINVALID;
	} else if (w->cfg->smtp_url[0])
		rc = smtp_send(w, m, text, len, err, sizeof err);
	else
		rc = spool_write(w->cfg, m, text, len, err, sizeof err);
	wipe_free(text, len);

	if (rc == KT_OK) {
		int mrc = outbox_mark_sent(st, m->id);
		if (mrc == KT_ENOT_FOUND && !w->cfg->smtp_url[0]) {
			/* the client was erased while we wrote it: the erasure could
			 * not see this file yet, so it goes here */
			char path[4200];
			spool_path(w->cfg, m, path, sizeof path);
			unlink(path);
			kt_info("mail %lld: its client was erased meanwhile; spool file deleted", (long long)m->id);
		} else if (mrc)
			kt_err_log("mail %lld: delivered but not marked sent", (long long)m->id);
		return;
	}
	if (atomic_load(&w->stop)) {
		/* aborted by shutdown: not the message's fault, try again next start */
		if (outbox_mark_retry(st, m->id, kt_now_ms(), false, "interrupted by shutdown"))
			kt_err_log("mail %lld: cannot requeue", (long long)m->id);
		return;
	}
	bool final = rc == KT_EINVALID || m->attempts + 1 >= w->cfg->mail_max_attempts;
	int64_t next = kt_now_ms() + backoff_ms(w->cfg, m->attempts);
	if (outbox_mark_retry(st, m->id, next, final, err))
		kt_err_log("mail %lld: cannot record the failed attempt", (long long)m->id);
	if (final)
		kt_warn("mail %lld (%s) failed for good after %d attempts: %s", (long long)m->id, m->purpose,
			m->attempts + 1, err);
	else
		kt_warn("mail %lld (%s) attempt %d failed: %s; next in %lld ms", (long long)m->id, m->purpose,
			m->attempts + 1, err, (long long)(next - kt_now_ms()));
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

static void *worker(void *arg)
{
	kt_mail_worker *w = arg;
	kt_store *st = NULL;
	const char *msg;
	pthread_setname_np(pthread_self(), "kt-mail"); /* shown by top -H and ps -L */

	if (store_open(w->db_path, 0, &st, &msg)) {
		kt_err_log("mail worker: cannot open database: %s", msg);
		return NULL;
	}
	if (outbox_requeue_stale(st))
		kt_warn("mail worker: cannot requeue interrupted mail");
	while (!atomic_load(&w->stop)) {
		kt_mail m;
		int64_t next_due = 0;
		/* an account suspended by an e-mail change (any process may have
		 * made it) gets its confirmation link here, where the config is */
		if (portal_plan_confirmations(st, w->cfg) < 0)
			kt_warn("mail worker: cannot plan confirmation links");
		int rc = outbox_claim(st, kt_now_ms(), &m, &next_due);
		if (rc == KT_OK) {
			deliver_one(w, st, &m);
			kt_mail_free(&m);
			continue;
		}
		if (rc != KT_ENOT_FOUND)
			next_due = 0; /* busy or an error: try again at the next poll */
		wait_until(w, next_due);
	}
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
	w->cfg = cfg;
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
	free(w->db_path);
	free(w);
}
