/* tls.h - the listener's certificate and key: read and checked before
 * libwebsockets starts, handed to every new handshake, reloaded from the
 * same files on SIGHUP (loop thread only). Never leaves the listener
 * half-configured: a reload that fails keeps the certificate in use. */
#ifndef KT_TLS_H
#define KT_TLS_H

#include <stddef.h>
#include "server.h"

typedef struct kt_tls kt_tls;

/* config keys tls_cert, tls_key: 0 set, 1 not ours, -1 bad value (*why).
 * The values are copied; tls_config_cert/key return them (or NULL). */
int tls_config_set(const char *k, const char *v, const char **why);
const char *tls_config_cert(void);
const char *tls_config_key(void);

/* Read the certificate chain (PEM, leaf first) and the unencrypted private
 * key (PEM) and check that they belong together. On success *out is a new
 * kt_tls the caller owns (tls_free) and the certificate is logged; else
 * KT_EINVALID and err holds a sentence naming the file and what is wrong. */
int tls_open(const char *cert_path, const char *key_path, kt_tls **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void tls_free(kt_tls *t); /* accepts NULL */

/* For LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: ssl_ctx is the
 * vhost's SSL_CTX (borrowed). TLS 1.2 at least, our certificate, and a
 * per-handshake callback that gives each new connection the current one.
 * 0, or -1 (logged) when OpenSSL refuses. */
int tls_attach(kt_tls *t, void *ssl_ctx);

/* Read the files again; new handshakes get the new certificate, open
 * connections keep theirs. A failure is logged and changes nothing. */
void tls_reload(kt_tls *t);
/* The same from other files (a changed tls_cert / tls_key in the config
 * file): the new paths are kept only when their pair loads, else the old
 * files and certificate stay (logged). */
void tls_reload_from(kt_tls *t, const char *cert_path, const char *key_path);

#endif
