/* cursor.h - sealed sync cursors. */
#ifndef KT_CURSOR_H
#define KT_CURSOR_H

#include "server.h"

#define KT_CURSOR_LEN 41
void cursor_make(kt_server *srv, const kt_session *s, int64_t seq, uint8_t out[KT_CURSOR_LEN]);
/* The same with the rights fingerprint given (cursor_rights of the
 * principal cursor_make would name): the stream's shared frames compute it
 * once for an audience, not once per device. */
void cursor_make_rights(kt_server *srv, const kt_session *s, int64_t seq, uint64_t rights,
			uint8_t out[KT_CURSOR_LEN]);
/* KT_OK and *seq, or KT_EBAD_CURSOR. */
int cursor_check(kt_server *srv, const kt_session *s, const void *c, size_t len, int64_t *seq);
/* Fingerprint of what a principal may see (role + locations). */
uint64_t cursor_rights(const kt_principal *p);

#endif
