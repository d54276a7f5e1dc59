#include "textrank.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"

/* BM25 with idf = ln(1 + (N - df + 0.5) / (df + 0.5)) over all chunks and
 * a term frequency that counts a heading occurrence (weight A) 3 times and
 * a summary occurrence (B) twice, a cheap BM25F.  Document length: the
 * chunk's distinct lexemes (length(tsv)), against their corpus mean.
 * $1 config, $2 question, $3 document ids or NULL, $4 limit. */
static const char bm25_sql[] =
	"WITH q AS (SELECT u.lexeme, plainto_tsquery('simple', u.lexeme) AS tq"
	"  FROM unnest(to_tsvector($1::regconfig, $2)) u"
	"  WHERE numnode(plainto_tsquery('simple', u.lexeme)) > 0),"
	" corpus AS (SELECT count(*)::float8 AS n, greatest(avg(length(c.tsv)), 1)::float8 AS avgdl"
	"  FROM docpipe.chunks c),"
	" terms AS (SELECT q.lexeme, ln(1 + (corpus.n - df.df + 0.5) / (df.df + 0.5)) AS idf"
	"  FROM q CROSS JOIN corpus CROSS JOIN LATERAL"
	"  (SELECT count(*)::float8 AS df FROM docpipe.chunks c WHERE c.tsv @@ q.tq) df),"
	" cand AS MATERIALIZED (SELECT c.document_id, c.seq, c.tsv FROM docpipe.chunks c"
	"  WHERE c.tsv @@ (SELECT string_agg(q.tq::text, ' | ')::tsquery FROM q)"
	"  AND ($3::bigint[] IS NULL OR c.document_id = ANY($3::bigint[])))"
	" SELECT cand.document_id, cand.seq,"
	"  sum(t.idf * tf.f * 2.2 / (tf.f + 1.2 * (0.25 + 0.75 * length(cand.tsv) / corpus.avgdl))) AS s"
	" FROM cand CROSS JOIN corpus CROSS JOIN LATERAL unnest(cand.tsv) u"
	" JOIN terms t ON t.lexeme = u.lexeme CROSS JOIN LATERAL"
	"  (SELECT sum(CASE w WHEN 'A' THEN 3.0 WHEN 'B' THEN 2.0 ELSE 1.0 END)::float8 AS f"
	"   FROM unnest(u.weights) w) tf"
	" GROUP BY cand.document_id, cand.seq"
	" ORDER BY s DESC, cand.document_id, cand.seq LIMIT $4::int";

/* ts_rank_cd (cover density; default weights A 1, B 0.4, D 0.1), divided
 * by 1 + log(length) (normalization 1). */
static const char cd_sql[] =
	"SELECT c.document_id, c.seq, ts_rank_cd(c.tsv, oq.q, 1) AS s"
	" FROM docpipe.chunks c, (SELECT " QUERY_OR_TSQUERY("$1", "$2") " AS q) oq"
	" WHERE c.tsv @@ oq.q AND ($3::bigint[] IS NULL OR c.document_id = ANY($3::bigint[]))"
	" ORDER BY s DESC, c.document_id, c.seq LIMIT $4::int";

int query_text_terms(PGconn *db, const char *cfg, const char *question, dp_err *err)
{
	const char *params[] = {cfg, question};
	PGresult *res = dp_db_query(db, "SELECT count(*) FROM unnest(to_tsvector($1::regconfig, $2)) u"
				    " WHERE numnode(plainto_tsquery('simple', u.lexeme)) > 0",
				    2, params, err);

	if (res == NULL)
		return -1;
	int n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

int query_text_search(PGconn *db, const char *cfg, const char *question, enum query_text_rank rank,
		      size_t n, const query_ids *ids, query_hit **out, size_t *nout, dp_err *err)
{
	char limit[24], *idl = NULL;

	if (ids != NULL && (idl = query_int_array(ids->ids, ids->n)) == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	snprintf(limit, sizeof limit, "%zu", n);
	const char *params[] = {cfg, question, idl, limit};
	PGresult *res = dp_db_query(db, rank == QUERY_RANK_BM25 ? bm25_sql : cd_sql, 4, params, err);
	free(idl);
	if (res == NULL)
		return -1;
	size_t rows = (size_t)PQntuples(res);
	*out = malloc((rows > 0 ? rows : 1) * sizeof **out);
	if (*out == NULL) {
		PQclear(res);
		dp_err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < rows; i++)
		(*out)[i] = (query_hit){.doc_id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10),
					.seq = atoi(PQgetvalue(res, (int)i, 1)),
					.score = strtod(PQgetvalue(res, (int)i, 2), NULL)};
	*nout = rows;
	PQclear(res);
	return 0;
}
