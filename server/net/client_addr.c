/* client_addr.c - the address a connection counts as (client_addr.h). The
 * trusted proxies are set once at start from the command line and config
 * file, and only read afterwards (loop thread). Must never take a client
 * address from a header sent by a peer that is not a trusted proxy. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "net/client_addr.h"

typedef struct kt_ip {
	int family; /* AF_INET or AF_INET6 */
	uint8_t b[16];
} kt_ip;

typedef struct trusted {
	kt_ip ip;
	int prefix; /* bits that must match */
} trusted;

/* set by main before any thread starts, read only after that */
static trusted g_trusted[KT_MAX_TRUSTED_PROXIES];
static int g_ntrusted;
static kt_proxy_header g_header = KT_PROXY_XFF;

/* Parse one address of n bytes: surrounding blanks, "[v6]", "[v6]:port",
 * "v4:port" and a v6 zone ("%eth0") are allowed; IPv4-mapped IPv6 becomes
 * IPv4. */
static bool parse_ip(const char *s, size_t n, kt_ip *ip)
{
	char buf[KT_ADDR_TEXT];
	char *p = buf, *e;
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (*p == '[') {
		if (!(e = strchr(++p, ']')) || (e[1] && e[1] != ':'))
			return false;
		*e = 0;
	} else if ((e = strchr(p, ':')) && !strchr(e + 1, ':')) {
		*e = 0; /* exactly one colon: v4:port */
	}
	if ((e = strchr(p, '%')))
		*e = 0;
	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, p, ip->b) == 1) {
		ip->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, p, ip->b) != 1)
		return false;
	ip->family = AF_INET6;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!memcmp(ip->b, mapped, sizeof mapped)) {
		memmove(ip->b, ip->b + 12, 4);
		memset(ip->b + 4, 0, 12);
		ip->family = AF_INET;
	}
	return true;
}

static bool in_prefix(const kt_ip *a, const trusted *t)
{
	int full = t->prefix / 8, rest = t->prefix % 8;
	if (a->family != t->ip.family || memcmp(a->b, t->ip.b, (size_t)full))
		return false;
	return !rest || ((a->b[full] ^ t->ip.b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool trusted_ip(const kt_ip *a)
{
	for (int i = 0; i < g_ntrusted; i++)
		if (in_prefix(a, &g_trusted[i]))
			return true;
	return false;
}

int client_addr_trust(const char *spec, const char **why)
{
	trusted t = {0};
	const char *slash = strchr(spec, '/');
	size_t n = slash ? (size_t)(slash - spec) : strlen(spec);
	if (!parse_ip(spec, n, &t.ip)) {
		*why = "a trusted proxy is an IPv4 or IPv6 address, optionally /PREFIX";
		return -1;
	}
	t.prefix = t.ip.family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || p < 0 || p > t.prefix) {
			*why = "the prefix after / is 0 to 32 bits (IPv4) or 0 to 128 (IPv6)";
			return -1;
		}
		t.prefix = (int)p;
	}
	if (g_ntrusted >= KT_MAX_TRUSTED_PROXIES) {
		*why = "at most 16 trusted proxies (use ADDR/PREFIX for a range)";
		return -1;
	}
	g_trusted[g_ntrusted++] = t;
	return 0;
}

int client_addr_config_set(const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "proxy_header")) {
		if (!strcasecmp(v, "x-forwarded-for"))
			g_header = KT_PROXY_XFF;
		else if (!strcasecmp(v, "x-real-ip"))
			g_header = KT_PROXY_X_REAL_IP;
		else {
			*why = "proxy_header is x-forwarded-for or x-real-ip";
			return -1;
		}
		return 0;
	}
	if (strcmp(k, "trusted_proxy"))
		return 1;
	char buf[1024], *save = NULL;
	if (strlen(v) >= sizeof buf) {
		*why = "the list is longer than 1023 bytes";
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", v);
	for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
		if (client_addr_trust(t, why))
			return -1;
	return 0;
}

kt_proxy_header client_addr_header(void)
{
	return g_header;
}

void client_addr_reset(void)
{
	g_ntrusted = 0;
	g_header = KT_PROXY_XFF;
}

bool client_addr_is_trusted(const char *peer)
{
	kt_ip a;
	return g_ntrusted && parse_ip(peer, strlen(peer), &a) && trusted_ip(&a);
}

static void ip_text(const kt_ip *a, char out[KT_ADDR_TEXT])
{
	uint8_t b[16];
	if (a->family == AF_INET) {
		inet_ntop(AF_INET, a->b, out, KT_ADDR_TEXT);
		return;
	}
	memcpy(b, a->b, 8);
	memset(b + 8, 0, 8); /* the interface half is the subscriber's to choose */
	inet_ntop(AF_INET6, b, out, KT_ADDR_TEXT - 4);
	strcat(out, "/64");
}

bool client_addr_group(const char *addr, char out[KT_ADDR_TEXT])
{
	kt_ip a;
	out[0] = 0;
	if (!parse_ip(addr, strlen(addr), &a))
		return false;
	ip_text(&a, out);
	return true;
}

/* X-Forwarded-For lists the client first and each proxy's peer after it;
 * only the entries our trusted proxies appended are believed, so the
 * right-most entry that is not a trusted proxy is the client (anything left
 * of it the client may have written itself). */
static bool from_xff(const char *h, kt_ip *out)
{
	const char *end = h + strlen(h);
	bool any = false;
	while (end > h) {
		const char *start = end;
		while (start > h && start[-1] != ',')
			start--;
		if (!parse_ip(start, (size_t)(end - start), out))
			return false; /* not what a proxy appends: believe nothing further left */
		any = true;
		if (!trusted_ip(out))
			return true;
		end = start > h ? start - 1 : h;
	}
	return any; /* every entry a trusted proxy: the left-most one */
}

bool client_addr_pick(const char *peer, const char *header, char out[KT_ADDR_TEXT])
{
	kt_ip a;
	if (header && client_addr_is_trusted(peer) &&
	    (g_header == KT_PROXY_XFF ? from_xff(header, &a) : parse_ip(header, strlen(header), &a))) {
		ip_text(&a, out);
		return true;
	}
	if (!client_addr_group(peer, out))
		snprintf(out, KT_ADDR_TEXT, "%s", peer); /* not an address (a unix socket?): as it is */
	return false;
}
