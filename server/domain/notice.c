/* notice.c - see notice.h. The text's rule is validate_notice (db/), so
 * every path that writes the column, this one and the store's own check,
 * applies the same one. Never logs the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/notice.h"
#include "domain/policy.h"
#include "db/validate.h"

char *notice_default(const char *salon, const char *address, const char *phone, int retention_months)
{
	char *out = NULL, where[512] = "", contact[128] = "";
	if (address && *address)
		snprintf(where, sizeof where, ", %s", address);
	if (phone && *phone)
		snprintf(contact, sizeof contact, "phone %s, ", phone);
	if (asprintf(&out,
		     "Privacy notice of %s\n\n"
		     "[A starting text that Kartoteka wrote when the salon was set up. The owner checks it, "
		     "fills in the parts in square brackets and replaces it: kartoteka-server admin org "
		     "privacy-notice --file FILE.]\n\n"
		     "Who processes your data\n"
		     "%s%s is the controller of your personal data. Contact: %s[e-mail address].\n\n"
		     "What we keep and why\n"
		     "Your name and contact details, to book your appointments and remind you of them "
		     "(a contract with you, GDPR Art. 6(1)(b)). What was done at each visit (services, "
		     "products, notes), so that your treatments stay safe and consistent; notes about your "
		     "health, such as allergies, only with your explicit consent (Art. 9(2)(a)). Offers by "
		     "e-mail or SMS only with your consent (Art. 6(1)(a)), which you can withdraw at any "
		     "time in the client portal.\n\n"
		     "How long we keep it\n"
		     "While you are our client and for %d months after your last visit; then your data is "
		     "erased. [Invoices are kept as long as tax law requires.]\n\n"
		     "Who else sees it\n"
		     "Our staff at the branches you visit. [Our IT and mail providers, who process data for "
		     "us under a contract.] We do not sell your data.\n\n"
		     "Your rights\n"
		     "You may see your data and get a copy of it (GDPR Art. 15 and 20: \"Download my data\" "
		     "in the client portal), have it corrected (Art. 16) or erased (Art. 17: \"Delete my "
		     "data\" in the portal), have its processing restricted (Art. 18) and object to it "
		     "(Art. 21); we tell those we shared it with about a correction or erasure (Art. 19). "
		     "Withdrawing a consent does not make earlier processing unlawful. We answer within one "
		     "month (Art. 12(3)).\n\n"
		     "Where to complain\n"
		     "You may complain to the data protection supervisory authority: [its name, address and "
		     "website; in Slovenia: Informacijski pooblaščenec, Dunajska cesta 22, 1000 Ljubljana, "
		     "www.ip-rs.si].\n",
		     salon, salon, where, contact, retention_months) < 0)
		return NULL;
	return out;
}

int notice_set(kt_store *st, const kt_principal *by, const char *org, const char *text, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc;
	if (by && !policy_may(by, KT_ACT_SET_PRIVACY_NOTICE))
		return kt_fail(err, errlen, KT_EDENIED, "only owners set the privacy notice");
	if (text && (rc = validate_notice(text, strlen(text), err, errlen)))
		return rc;
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the database is busy or failed (%s); try again", kt_strerror(rc));
	if (!(q = store_prepare(st, "SELECT 1 FROM organisation WHERE id = ?1")))
		return store_end(st, kt_fail(err, errlen, KT_EIO, "database error"), err, errlen);
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	store_finish(st, q);
	if (rc != SQLITE_ROW)
		return store_end(st,
				 rc == SQLITE_DONE ? kt_fail(err, errlen, KT_ENOT_FOUND, "no organisation %s", org)
						   : kt_fail(err, errlen, KT_EIO, "database error"),
				 err, errlen);
	kt_field f = {"privacy_notice", text};
	if ((rc = store_update(st, "organisation", org, &f, 1, NULL)))
		rc = kt_fail(err, errlen, rc, "could not save the privacy notice (%s)", kt_strerror(rc));
	return store_end(st, rc, err, errlen);
}

int notice_get(kt_store *st, const char *org, char **text)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT privacy_notice FROM organisation WHERE id = ?1");
	int rc;
	*text = NULL;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		const char *s = (const char *)sqlite3_column_text(q, 0);
		if (!(*text = strdup(s ? s : "")))
			rc = SQLITE_NOMEM;
	}
	store_finish(st, q);
	return rc == SQLITE_ROW ? KT_OK : rc == SQLITE_DONE ? KT_ENOT_FOUND : rc == SQLITE_NOMEM ? KT_ENOMEM : KT_EIO;
}
