/* client_addr.h - which address a connection counts as for the sign-in
 * throttle and the per-address rate limits: the socket's peer, or, when the
 * peer is a configured trusted proxy, the client address the proxy put in
 * its header. IPv6 addresses count by their /64 (one subscriber's network),
 * so an attacker cannot step through 2^64 addresses of their own. No header
 * is ever believed from a peer that is not a trusted proxy. */
#ifndef KT_CLIENT_ADDR_H
#define KT_CLIENT_ADDR_H

#include <stdbool.h>

#define KT_ADDR_TEXT 64          /* room for any grouped address text */
#define KT_MAX_TRUSTED_PROXIES 16

typedef enum kt_proxy_header {
	KT_PROXY_XFF,       /* X-Forwarded-For: the right-most entry that is not a trusted proxy */
	KT_PROXY_X_REAL_IP, /* X-Real-IP: one address */
} kt_proxy_header;

/* Trust SPEC (an IPv4 or IPv6 address, or ADDR/PREFIX) as a proxy.
 * 0, or -1 with *why (a static string) for a malformed one or too many. */
int client_addr_trust(const char *spec, const char **why);
/* Config keys trusted_proxy (a list separated by commas or spaces; the key
 * may repeat) and proxy_header (x-forwarded-for, x-real-ip):
 * 0 set, 1 not ours, -1 bad value (*why). */
int client_addr_config_set(const char *k, const char *v, const char **why);
kt_proxy_header client_addr_header(void);
/* Forget every trusted proxy and go back to X-Forwarded-For (tests). */
void client_addr_reset(void);
/* Whether the peer address text PEER is a trusted proxy. */
bool client_addr_is_trusted(const char *peer);

/* The text an address counts as: IPv4 dotted quad, IPv4-mapped IPv6 as IPv4,
 * any other IPv6 address as its /64 ("2001:db8:1:2::/64"). Accepts
 * "[v6]:port" and "v4:port" as proxies write them. False (out = "") when
 * ADDR is not an address. */
bool client_addr_group(const char *addr, char out[KT_ADDR_TEXT]);

/* The address a connection from PEER counts as, grouped: from HEADER (the
 * configured header's value, NULL when absent) when PEER is a trusted proxy
 * and the header names a client, else PEER. Returns true when the address
 * came from the header. */
bool client_addr_pick(const char *peer, const char *header, char out[KT_ADDR_TEXT]);

#endif
