#include "textrank.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"

/* BM25 (k1 1.2, b 0.75) with idf = ln(1 + (N - df + 0.5) / (df + 0.5)).
 * - tf: PostgreSQL's ts_rank of the chunk for that one term, scaled so one
 *   occurrence in the text counts 1, in the summary (weight B) 2, in the
 *   heading path (A) 3; ts_rank already saturates with repetition (1, 1.25,
 *   ... at most 1.64 occurrences' worth).  It reads the tsvector in C with
 *   a binary search: 15-25 times cheaper than unnest(tsv) per candidate,
 *   and as good on the benchmark (docs/PERFORMANCE.md).
 * - df: from the column's statistics (pg_stats.most_common_elems, kept by
 *   ANALYZE) for common terms, else counted through the GIN index (a rare
 *   term has few postings); N: the planner's row estimate (an exact count
 *   before the first ANALYZE).
 * - length: the chunk's text bytes (octet_length reads a TOASTed value's
 *   size without fetching it) against their mean over a sample of about
 *   5,000 chunks.
 * - candidates: the chunks holding the question's rarest terms, taken in
 *   increasing df while their postings add up to at most CAND_POSTINGS
 *   (at least the rarest term), at most CAND_MAX chunks, so a question's common
 *   words ("use", "how") do not make every chunk one.  The other terms
 *   still add to the candidates' scores.
 * $1 config, $2 question, $3 document ids or NULL, $4 limit. */
#define CAND_POSTINGS "5000"
#define CAND_MAX "10000"
static const char bm25_sql[] =
	"WITH q AS (SELECT u.lexeme, plainto_tsquery('simple', u.lexeme) AS tq"
	"  FROM unnest(to_tsvector($1::regconfig, $2)) u"
	"  WHERE numnode(plainto_tsquery('simple', u.lexeme)) > 0),"
	" rel AS (SELECT greatest(reltuples, 0) AS est FROM pg_class"
	"  WHERE oid = 'docpipe.chunks'::regclass),"
	" corpus AS MATERIALIZED (SELECT"
	"  coalesce(nullif((SELECT est FROM rel), 0), (SELECT count(*) FROM docpipe.chunks))::float8 AS n,"
	"  (SELECT greatest(avg(octet_length(c.content)), 1) FROM docpipe.chunks c TABLESAMPLE SYSTEM"
	"   ((SELECT least(100, 100 * 5000 / greatest(est, 1))::float4 FROM rel)) REPEATABLE (1))::float8"
	"  AS avgdl),"
	" mce AS MATERIALIZED (SELECT e.lexeme, e.freq FROM pg_stats s, unnest(s.most_common_elems::text::text[],"
	"  s.most_common_elem_freqs) e(lexeme, freq)"
	"  WHERE s.schemaname = 'docpipe' AND s.tablename = 'chunks' AND s.attname = 'tsv'),"
	" terms AS MATERIALIZED (SELECT q.lexeme, q.tq, d.df,"
	"  ln(1 + (greatest(corpus.n, d.df) - d.df + 0.5) / (d.df + 0.5)) AS idf"
	"  FROM q CROSS JOIN corpus CROSS JOIN LATERAL (SELECT coalesce("
	"   (SELECT mce.freq * corpus.n FROM mce WHERE mce.lexeme = q.lexeme),"
	"   (SELECT count(*) FROM docpipe.chunks c WHERE c.tsv @@ q.tq))::float8 AS df) d),"
	" pick AS (SELECT tq FROM (SELECT tq, sum(df) OVER (ORDER BY df, lexeme) AS cum,"
	"  row_number() OVER (ORDER BY df, lexeme) AS r FROM terms) x"
	"  WHERE r = 1 OR cum <= " CAND_POSTINGS "),"
	" cand AS MATERIALIZED (SELECT c.document_id, c.seq, c.tsv, octet_length(c.content) AS dl"
	"  FROM docpipe.chunks c"
	"  WHERE c.tsv @@ (SELECT string_agg(pick.tq::text, ' | ')::tsquery FROM pick)"
	"  AND ($3::bigint[] IS NULL OR c.document_id = ANY($3::bigint[])) LIMIT " CAND_MAX ")"
	" SELECT cand.document_id, cand.seq, s.s FROM cand CROSS JOIN corpus CROSS JOIN LATERAL"
	" (SELECT sum(t.idf * tf.f * 2.2 / (tf.f + 1.2 * (0.25 + 0.75 * cand.dl / corpus.avgdl))) AS s"
	"  FROM terms t CROSS JOIN LATERAL (SELECT 4.93480220055 *"
	"   ts_rank('{0.333333333,0.333333333,0.666666667,1}', cand.tsv, t.tq, 0)::float8 AS f) tf"
	"  WHERE tf.f > 0) s"
	" ORDER BY s.s DESC, cand.document_id, cand.seq LIMIT $4::int";

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
