#include <stdlib.h>

#include "../store/pgbin.h"
#include "db.h"
#include "plan.h"

/* Positions (1-based) of the keys found; the tables are reuse.c's. */
static const char *const lookup_sql[] = {
	"SELECT u.i FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i)"
	" JOIN docpipe.embedding_cache c ON c.key = u.k",
	"SELECT u.i, c.value FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i)"
	" JOIN docpipe.summary_cache c ON c.key = u.k",
};

int plan_cache_lookup(PGconn *db, int summaries, const char (*keys)[DP_HASH_HEX], size_t n,
		      unsigned char *found, jv *values, dp_err *err)
{
	const char **k = malloc((n + 1) * sizeof *k);
	store_buf buf;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		found[i] = 0;
		if (values != NULL)
			values[i] = jv_null();
	}
	if (n == 0 || k == NULL) {
		free(k);
		if (n > 0)
			dp_err_set(err, "out of memory");
		return n == 0 ? 0 : -1;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = keys[i];
	store_buf_init(&buf, (size_t)64 << 20);
	store_value_text_array(&buf, k, n);
	free(k);
	if (buf.overflow) {
		dp_err_set(err, "too many keys at once or out of memory");
		store_buf_free(&buf);
		return -1;
	}
	const char *vals[] = {(const char *)buf.data};
	int lens[] = {(int)buf.len}, fmts[] = {1};
	Oid types[] = {DP_OID_TEXT_ARRAY};
	PGresult *res = PQexecParams(db, lookup_sql[summaries != 0], 1, types, vals, lens, fmts, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		dp_db_err(err, db, res, "reuse cache lookup");
	} else {
		for (int r = 0; r < PQntuples(res); r++) {
			size_t i = (size_t)strtoull(PQgetvalue(res, r, 0), NULL, 10) - 1;
			if (i >= n)
				continue;
			found[i] = 1;
			if (values != NULL && summaries) {
				jv_free(values[i]);
				values[i] = jv_string_sized(PQgetvalue(res, r, 1), PQgetlength(res, r, 1));
			}
		}
		rc = 0;
	}
	PQclear(res);
	store_buf_free(&buf);
	return rc;
}
