/* tls.c - the listener's certificate. We read and check the PEM files
 * ourselves instead of giving libwebsockets their paths: lws 4.1.6 only
 * logs a bad file, and its reload (lws_tls_cert_updated) can leave a new
 * certificate next to the old key. Each handshake takes the current
 * certificate in OpenSSL's certificate callback, so a reload swaps one
 * pointer on the loop thread and open connections are not touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "kt_util.h"
#include "net/tls.h"

#define TLS_FILE_MAX (1024 * 1024) /* a certificate chain or key is a few KB */

/* one certificate with its key, shared by reference with the handshakes
 * that took it (OpenSSL counts the references of each piece) */
typedef struct tls_pair {
	X509 *cert;
	STACK_OF(X509) *chain; /* intermediates after the leaf; may be empty */
	EVP_PKEY *key;
	char serial[80];       /* hex, for the log */
	char until[32];        /* notAfter, "2027-01-31 12:00 UTC" */
	char subject[256];
} tls_pair;

struct kt_tls {
	char *cert_path, *key_path;
	tls_pair *cur;
	SSL_CTX *ctx; /* the vhost's (borrowed), once attached */
};

static char cfg_cert[4096], cfg_key[4096];

int tls_config_set(const char *k, const char *v, const char **why)
{
	char *dst = !strcmp(k, "tls_cert") ? cfg_cert : !strcmp(k, "tls_key") ? cfg_key : NULL;
	if (!dst)
		return 1;
	if (!*v || strlen(v) >= sizeof cfg_cert) {
		*why = "a file name (PEM), not empty, under 4096 bytes";
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

const char *tls_config_cert(void)
{
	return cfg_cert[0] ? cfg_cert : NULL;
}

const char *tls_config_key(void)
{
	return cfg_key[0] ? cfg_key : NULL;
}

static void pair_free(tls_pair *p)
{
	if (!p)
		return;
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	free(p);
}

/* The whole file in memory (malloc'd, *len bytes), or NULL with err set. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	if (!f) {
		snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(errno));
		return NULL;
	}
	if (!(buf = malloc(TLS_FILE_MAX + 1))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, TLS_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(errno ? errno : EIO));
		free(buf);
		buf = NULL;
	} else if (n > TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: over %d bytes, not a PEM certificate or key", path, TLS_FILE_MAX);
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	*len = n;
	return buf;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0; /* an encrypted key would need a person at startup and at every reload */
}

static void describe(tls_pair *p)
{
	ASN1_INTEGER *sn = X509_get_serialNumber(p->cert);
	BIGNUM *bn = sn ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	struct tm tm;
	snprintf(p->serial, sizeof p->serial, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(p->cert), &tm))
		strftime(p->until, sizeof p->until, "%Y-%m-%d %H:%M UTC", &tm);
	else
		snprintf(p->until, sizeof p->until, "?");
	X509_NAME_oneline(X509_get_subject_name(p->cert), p->subject, sizeof p->subject);
}

/* Both files read and checked into a new pair, or NULL with err set. */
static tls_pair *pair_load(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	size_t clen = 0, klen = 0;
	char *cbuf = slurp(cert_path, &clen, err, errlen), *kbuf = NULL;
	tls_pair *p = NULL;
	BIO *b = NULL;
	X509 *x;

	if (!cbuf || !(kbuf = slurp(key_path, &klen, err, errlen)))
		goto fail;
	if (!(p = calloc(1, sizeof *p)) || !(p->chain = sk_X509_new_null())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ERR_clear_error();
	if (!(b = BIO_new_mem_buf(cbuf, (int)clen)) || !(p->cert = PEM_read_bio_X509(b, NULL, no_passphrase, NULL))) {
		snprintf(err, errlen, "%s: no valid PEM certificate in it (a block starting -----BEGIN CERTIFICATE-----)",
			 cert_path);
		goto fail;
	}
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)))
		if (!sk_X509_push(p->chain, x)) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	BIO_free(b);
	ERR_clear_error();
	if (!(b = BIO_new_mem_buf(kbuf, (int)klen)) || !(p->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL))) {
		if (strstr(kbuf, "ENCRYPTED"))
			snprintf(err, errlen, "%s: the private key is encrypted; give it unencrypted (readable by this "
					      "user only, mode 0600)", key_path);
		else
			snprintf(err, errlen, "%s: no valid PEM private key in it (a block starting -----BEGIN PRIVATE KEY----- "
					      "or -----BEGIN RSA/EC PRIVATE KEY-----)", key_path);
		goto fail;
	}
	if (X509_check_private_key(p->cert, p->key) != 1) {
		snprintf(err, errlen, "%s: this private key does not belong to the certificate in %s", key_path, cert_path);
		goto fail;
	}
	describe(p);
	BIO_free(b);
	ERR_clear_error();
	OPENSSL_cleanse(kbuf, klen);
	free(kbuf);
	free(cbuf);
	return p;
fail:
	ERR_clear_error();
	BIO_free(b);
	pair_free(p);
	if (kbuf)
		OPENSSL_cleanse(kbuf, klen);
	free(kbuf);
	free(cbuf);
	return NULL;
}

static void log_pair(const char *what, const kt_tls *t)
{
	const tls_pair *p = t->cur;
	kt_info("TLS: %s %s (serial %s, valid until %s) from %s", what, p->subject, p->serial, p->until, t->cert_path);
	if (X509_cmp_current_time(X509_get0_notAfter(p->cert)) < 0)
		kt_warn("TLS: the certificate in %s expired on %s; clients will refuse it", t->cert_path, p->until);
	else if (X509_cmp_current_time(X509_get0_notBefore(p->cert)) > 0)
		kt_warn("TLS: the certificate in %s is not valid yet; clients will refuse it", t->cert_path);
}

int tls_open(const char *cert_path, const char *key_path, kt_tls **out, char *err, size_t errlen)
{
	kt_tls *t = calloc(1, sizeof *t);
	*out = NULL;
	if (!t || !(t->cert_path = strdup(cert_path)) || !(t->key_path = strdup(key_path))) {
		snprintf(err, errlen, "out of memory");
		tls_free(t);
		return KT_ENOMEM;
	}
	if (!(t->cur = pair_load(cert_path, key_path, err, errlen))) {
		tls_free(t);
		return KT_EINVALID;
	}
	log_pair("certificate", t);
	*out = t;
	return KT_OK;
}

void tls_free(kt_tls *t)
{
	if (!t)
		return;
	pair_free(t->cur);
	free(t->cert_path);
	free(t->key_path);
	free(t);
}

/* OpenSSL's certificate callback: every handshake, before the cipher is
 * chosen. The SSL holds its own references, so a reload may free the pair
 * it took. Cleared first: a new key of another type (RSA after EC) would
 * otherwise sit next to the old certificate, and either could be offered. */
static int cert_cb(SSL *ssl, void *arg)
{
	kt_tls *t = arg;
	SSL_certs_clear(ssl);
	return SSL_use_cert_and_key(ssl, t->cur->cert, t->cur->key, t->cur->chain, 1) == 1;
}

int tls_attach(kt_tls *t, void *ssl_ctx)
{
	SSL_CTX *ctx = ssl_ctx;
	/* TLS 1.0 and 1.1 are deprecated (RFC 8996) and no browser needs them */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_cert_and_key(ctx, t->cur->cert, t->cur->key, t->cur->chain, 1) != 1) {
		kt_err_log("TLS: OpenSSL refused the certificate from %s", t->cert_path);
		ERR_clear_error();
		return -1;
	}
	SSL_CTX_set_cert_cb(ctx, cert_cb, t);
	t->ctx = ctx;
	return 0;
}

void tls_reload(kt_tls *t)
{
	char err[600];
	tls_pair *p = pair_load(t->cert_path, t->key_path, err, sizeof err);
	if (!p) {
		kt_err_log("TLS: reload failed, still serving the certificate with serial %s: %s", t->cur->serial, err);
		return;
	}
	/* the context's own copy only matters to lws's daily lifetime check;
	 * handshakes take theirs in cert_cb */
	if (t->ctx && SSL_CTX_use_cert_and_key(t->ctx, p->cert, p->key, p->chain, 1) != 1) {
		ERR_clear_error();
		kt_warn("TLS: OpenSSL refused the reloaded certificate for its context; handshakes use it anyway");
	}
	pair_free(t->cur);
	t->cur = p;
	log_pair("reloaded", t);
}

void tls_reload_from(kt_tls *t, const char *cert_path, const char *key_path)
{
	char *c, *k;
	if (!strcmp(cert_path, t->cert_path) && !strcmp(key_path, t->key_path)) {
		tls_reload(t);
		return;
	}
	if (!(c = strdup(cert_path)) || !(k = strdup(key_path))) {
		free(c);
		kt_err_log("TLS: reload failed (out of memory), still serving the certificate with serial %s", t->cur->serial);
		return;
	}
	char *oc = t->cert_path, *ok = t->key_path;
	tls_pair *was = t->cur;
	t->cert_path = c;
	t->key_path = k;
	tls_reload(t);
	if (t->cur == was) { /* refused: the files that work stay */
		t->cert_path = oc;
		t->key_path = ok;
		free(c);
		free(k);
		return;
	}
	free(oc);
	free(ok);
}
