/* export_send.c - a finished export goes to its device in parts (privacy
 * result {part, parts, doc}), whether the export thread built it or the
 * loop did because that thread is not running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn/conn.h"
#include "handlers/export_worker.h"
#include "server.h"

/* Length of the part of doc (len bytes left) that starts here: at most
 * KT_EXPORT_PART_BYTES, ending on a character boundary so that each part
 * is a valid UTF-8 string of its own. */
static size_t part_len(const char *doc, size_t len)
{
	size_t n = len < KT_EXPORT_PART_BYTES ? len : KT_EXPORT_PART_BYTES;
	while (n < len && n > 0 && ((unsigned char)doc[n] & 0xc0) == 0x80)
		n--; /* doc[n] continues a character: end the part before it starts */
	return n;
}

/* The document in parts: {part, parts, doc}, one per writeable callback
 * (session.c writes them before any other frame, so nothing comes
 * between them), so an export of any size goes out without holding more
 * than the document itself. */
static void send_export(kt_session *s, const char *client, const char *doc)
{
	size_t len = strlen(doc), nparts = 0;
	for (size_t off = 0; off < len || !nparts; nparts++)
		off += part_len(doc + off, len - off);
	if (!(s->export_doc = strdup(doc))) {
		session_error(s, KT_ENOMEM, "out of memory; try again", "privacy", false);
		return;
	}
	s->export_len = len;
	s->export_off = 0;
	s->export_part = 0;
	s->export_parts = (uint32_t)nparts;
	snprintf(s->export_client, sizeof s->export_client, "%s", client);
	session_want_write(s);
}

bool privacy_export_next(kt_session *s)
{
	kt_privacy m = {{"export", 6}, {s->export_client, strlen(s->export_client)}};
	kt_server *srv = s->srv;
	size_t n = part_len(s->export_doc + s->export_off, s->export_len - s->export_off);
	kt_mpw body;
	bool ok;
	kt_mpw_init(&body);
	kt_mpw_str(&body, "part");
	kt_mpw_int(&body, (int64_t)s->export_part + 1);
	kt_mpw_str(&body, "parts");
	kt_mpw_int(&body, (int64_t)s->export_parts);
	kt_mpw_str(&body, "doc");
	kt_mpw_strn(&body, s->export_doc + s->export_off, n);
	frame_begin(srv);
	proto_privacy_result_encode(&srv->frame, &m, 3, body.sb.data, body.sb.size);
	ok = !body.err && !srv->frame.err;
	kt_mpw_free(&body);
	s->export_off += n;
	if (!ok || ++s->export_part >= s->export_parts) {
		free(s->export_doc);
		s->export_doc = NULL;
	}
	if (!ok)
		session_error(s, KT_ENOMEM, "the export could not be packed; try again", "privacy", false);
	return ok;
}

void privacy_export_done(kt_session *s, const char *client, int rc, const char *doc)
{
	if (rc)
		session_error(s, rc == KT_ENOT_FOUND || rc == KT_EBUSY ? rc : KT_EIO,
			      rc == KT_ENOT_FOUND ? "no such client" : "the export failed; try again", "privacy", false);
	else if (s->export_doc)
		session_error(s, KT_EBUSY, "an export is still being sent to this device; wait for its last part",
			      "privacy", false);
	else
		send_export(s, client, doc);
}
