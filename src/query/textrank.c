#include "textrank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "lexer.h"
#include "proximity.h"

/* BM25 (k1 1.2, b 0.75) with idf = ln(1 + (N - df + 0.5) / (df + 0.5)).
 * - tf: PostgreSQL's ts_rank of the chunk for that one term, scaled so one
 *   occurrence in the text counts 1, in the summary (weight B) 2, in the
 *   heading path (A) 3; ts_rank already saturates with repetition (1, 1.25,
 *   ... at most 1.64 occurrences' worth).  It reads the tsvector in C with
 *   a binary search: 15-25 times cheaper than unnest(tsv) per candidate,
 *   and as good on the benchmark (docs/PERFORMANCE.md).
 * - df: from the column's statistics (pg_stats.most_common_elems, kept by
 *   ANALYZE) for common terms, else counted through the GIN index (a rare
 *   term has few postings), once a term: OFFSET 0 keeps the planner from
 *   inlining it into each of the four places that read df (it counted a
 *   rare term's postings four times: 2,036 buffers instead of 509 for
 *   one at 100k chunks); N: the planner's row estimate (an exact count
 *   before the first ANALYZE).
 * - length: the chunk's text bytes (octet_length reads a TOASTed value's
 *   size without fetching it) against their mean over a sample of about
 *   SAMPLE_ROWS chunks (all of a smaller corpus; at 100k chunks 2,600
 *   sampled rows were within 0.4% of the exact mean and took 1.7 ms, 5,000
 *   took 3.3 ms).
 * - candidates: the chunks holding the question's rarest terms, taken in
 *   increasing df while their postings add up to at most CAND_POSTINGS
 *   (at least the rarest term), at most CAND_MAX chunks, so a question's common
 *   words ("use", "how") do not make every chunk one.  The other terms
 *   still add to the candidates' scores.
 * - scoring: one column per term (slot i: the i-th rarest, up to
 *   QUERY_TERM_SLOTS), computed once per candidate while it is fetched and
 *   summed in one expression: a correlated aggregate over the terms per
 *   candidate cost about twice as much (docs/PERFORMANCE.md).
 * $1 the question's terms (text[]: query_text_terms), $2 document ids or
 * NULL, $3 limit.  After the hits, one row of the term statistics
 * (bm25_tail). */
#define CAND_POSTINGS "5000"
#define CAND_MAX "10000"
#define SAMPLE_ROWS "2500"
/* A chunk's tsvector read once, as d.tsv, for the expressions that read it
 * again and again (a ts_rank a term, an unnest after a match): a chunk's
 * tsvector is compressed, and out of line in about a third of the 100k
 * corpus's chunks (beside its vector), and each function given c.tsv
 * fetched and decompressed it anew: three quarters of the text side's
 * statement went to that (docs/PERFORMANCE.md, issue 11, session 56).
 * setweight with no lexemes to weigh is the identity (a copy of the
 * whole value, detoasted once); OFFSET 0 keeps the planner from
 * inlining it into each use.  A condition on c.tsv itself still uses the
 * GIN index, one on d.tsv cannot. */
#define TSV_ONCE " CROSS JOIN LATERAL (SELECT setweight(c.tsv, 'A', '{}'::text[]) AS tsv OFFSET 0) d"
/* The statement with every slot: head and tail ~2.5 KB, 32 x ~190 bytes. */
#define BM25_SQL_MAX 16384
/* The question's terms with their df and idf (terms), the corpus's chunk
 * count and mean chunk length (corpus): the chunk ranking's CTEs, which
 * its statement returns in its last row (STATS_ROW) for the document
 * ranking; stats_sql's when the text side ranks by ts_rank_cd. */
#define TERM_STATS_SQL \
	"WITH q AS (SELECT u.lexeme, " QUERY_LEXEME_TSQUERY("u.lexeme") " AS tq" \
	"  FROM unnest($1::text[]) u(lexeme))," \
	" rel AS (SELECT greatest(reltuples, 0) AS est FROM pg_class" \
	"  WHERE oid = 'docpipe.chunks'::regclass)," \
	" corpus AS MATERIALIZED (SELECT" \
	"  coalesce(nullif((SELECT est FROM rel), 0), (SELECT count(*) FROM docpipe.chunks))::float8 AS n," \
	"  (SELECT greatest(avg(octet_length(c.content)), 1) FROM docpipe.chunks c TABLESAMPLE SYSTEM" \
	"   ((SELECT least(100, 100 * " SAMPLE_ROWS " / greatest(est, 1))::float4 FROM rel))" \
	"   REPEATABLE (1))::float8 AS avgdl)," \
	" mce AS MATERIALIZED (SELECT e.lexeme, e.freq FROM pg_stats s, unnest(s.most_common_elems::text::text[]," \
	"  s.most_common_elem_freqs) e(lexeme, freq)" \
	"  WHERE s.schemaname = 'docpipe' AND s.tablename = 'chunks' AND s.attname = 'tsv')," \
	" terms AS MATERIALIZED (SELECT q.lexeme, q.tq, d.df," \
	"  ln(1 + (greatest(corpus.n, d.df) - d.df + 0.5) / (d.df + 0.5)) AS idf" \
	"  FROM q CROSS JOIN corpus CROSS JOIN LATERAL (SELECT coalesce(" \
	"   (SELECT mce.freq * corpus.n FROM mce WHERE mce.lexeme = q.lexeme)," \
	"   (SELECT count(*) FROM docpipe.chunks c WHERE c.tsv @@ q.tq))::float8 AS df OFFSET 0) d)"
/* The row of query_term_stats, from TERM_STATS_SQL's CTEs: the terms and
 * their idf in the same order, the chunk count, the mean chunk length. */
#define STATS_ROW \
	" array_agg(t.lexeme ORDER BY t.df, t.lexeme), array_agg(t.idf ORDER BY t.df, t.lexeme)," \
	" corpus.n, corpus.avgdl FROM terms t CROSS JOIN corpus GROUP BY corpus.n, corpus.avgdl"
static const char bm25_head[] = TERM_STATS_SQL ","
	" tv AS MATERIALIZED (SELECT array_agg(tq ORDER BY df, lexeme) AS tqs,"
	"  array_agg(idf ORDER BY df, lexeme) AS idfs FROM terms),"
	" pick AS (SELECT tq FROM (SELECT tq, sum(df) OVER (ORDER BY df, lexeme) AS cum,"
	"  row_number() OVER (ORDER BY df, lexeme) AS r FROM terms) x"
	"  WHERE r = 1 OR cum <= " CAND_POSTINGS "),"
	" cand AS MATERIALIZED (SELECT c.document_id, c.seq,"
	"  1.2 * (0.25 + 0.75 * octet_length(c.content) / corpus.avgdl) AS k";
/* Slot %d's tf, a column of cand. */
static const char bm25_tf[] = ", 4.93480220055 * ts_rank('{0.333333333,0.333333333,0.666666667,1}',"
			      " d.tsv, tv.tqs[%d], 0)::float8 AS f%d";
static const char bm25_from[] =
	" FROM docpipe.chunks c" TSV_ONCE " CROSS JOIN tv CROSS JOIN corpus"
	"  WHERE c.tsv @@ (SELECT string_agg(pick.tq::text, ' | ')::tsquery FROM pick)"
	"  AND ($2::bigint[] IS NULL OR c.document_id = ANY($2::bigint[])) LIMIT " CAND_MAX "),"
	" hits AS (SELECT cand.document_id, cand.seq, 0";
/* Slot %d's BM25 term (a zero tf adds 0). */
static const char bm25_term[] = " + coalesce(tv.idfs[%d] * cand.f%d * 2.2 / (cand.f%d + cand.k), 0)";
/* The hits, then one row of the term statistics (document_id NULL) for
 * query_doc_scores: the file ranking does not compute them again. */
static const char bm25_tail[] = " AS s FROM cand CROSS JOIN tv"
				" ORDER BY s DESC, cand.document_id, cand.seq LIMIT $3::int)"
				" SELECT * FROM (SELECT hits.*, NULL::text[] AS lexs, NULL::float8[] AS idfs,"
				"  NULL::float8 AS n, NULL::float8 AS avgdl FROM hits"
				"  UNION ALL SELECT NULL, NULL, NULL," STATS_ROW ") r"
				" ORDER BY r.document_id IS NULL, r.s DESC, r.document_id, r.seq";

/* The BM25 statement for a question of terms search terms (> 0) into b.
 * Returns 0, or -1 when b overflows. */
static int bm25_sql(dp_buf *b, int terms)
{
	int slots = terms < QUERY_TERM_SLOTS ? terms : QUERY_TERM_SLOTS;
	char piece[sizeof bm25_term + 48];

	dp_buf_append(b, bm25_head, sizeof bm25_head - 1);
	for (int i = 1; i <= slots; i++)
		dp_buf_append(b, piece, (size_t)snprintf(piece, sizeof piece, bm25_tf, i, i));
	dp_buf_append(b, bm25_from, sizeof bm25_from - 1);
	for (int i = 1; i <= slots; i++)
		dp_buf_append(b, piece, (size_t)snprintf(piece, sizeof piece, bm25_term, i, i, i));
	dp_buf_append(b, bm25_tail, sizeof bm25_tail - 1);
	return b->overflow ? -1 : 0;
}

/* The document-level BM25 of query_doc_scores: a document's chunks as one
 * text.  tf: the term's occurrences in all its chunks, one in the heading
 * path counting 3, in the summary 2 (the chunk ranking's weights), not
 * saturated per chunk as the chunk ranking's ts_rank is: a page that
 * says the term again and again is about it (the sum of its chunks'
 * ts_rank tf found 316 of 360 files, these counts 319: docs/PERFORMANCE.md);
 * length: its chunks' text bytes against the corpus's mean chunk length
 * times chunks per document (the planner's estimates of both counts, as
 * the chunk ranking's N); idf: the chunk ranking's (from chunk counts:
 * a per-document count would cost a scan of each common term's postings;
 * as good on the benchmark).  Every term of the question scores.  A
 * document's chunks are read through the primary key (document_id, seq),
 * and of those holding a term only the question's entries are unnested
 * (the tsvector less all its lexemes but the question's: ts_delete twice,
 * in C; unnesting every lexeme of 800 chunks took half the statement's
 * time at 100k chunks).  The match is on d.tsv
 * (TSV_ONCE), which keeps the planner from ANDing the GIN index's bitmap
 * of every chunk holding a question's common term (40,000 rows at 100k
 * chunks, half the statement's time) with the key's hundred rows.  A
 * document's terms are summed in lexeme order, whatever the plan: the
 * floats' sum is then the same from run to run.
 * $1 the question's terms (text[]), $2 the document ids, $3 the terms'
 * idf (float8[], $1's order), $4 the corpus's chunk count, $5 its mean
 * chunk length: query_term_stats, as the chunk ranking computed them. */
static const char doc_sql[] =
	"WITH terms AS (SELECT u.lexeme, u.idf, " QUERY_LEXEME_TSQUERY("u.lexeme") " AS tq"
	"  FROM unnest($1::text[], $3::float8[]) u(lexeme, idf)),"
	" corpus AS (SELECT $4::float8 AS n, $5::float8 AS avgdl),"
	" docs AS (SELECT greatest(coalesce(nullif(greatest(reltuples, 0), 0),"
	"  (SELECT count(*) FROM docpipe.documents)), 1)::float8 AS n FROM pg_class"
	"  WHERE oid = 'docpipe.documents'::regclass),"
	" len AS (SELECT c.document_id, sum(octet_length(c.content))::float8 AS len"
	"  FROM docpipe.chunks c WHERE c.document_id = ANY($2::bigint[]) GROUP BY c.document_id),"
	" tf AS (SELECT c.document_id, t.lexeme, t.idf, sum(coalesce(cardinality(u.positions)"
	"   + 2 * cardinality(array_positions(u.weights, 'A')) + cardinality(array_positions(u.weights, 'B')),"
	"   1))::float8 AS f"
	"  FROM docpipe.chunks c" TSV_ONCE " CROSS JOIN LATERAL unnest(ts_delete(d.tsv, tsvector_to_array(ts_delete(d.tsv, $1::text[])))) u"
	"  JOIN terms t ON t.lexeme = u.lexeme"
	"  WHERE c.document_id = ANY($2::bigint[])"
	"  AND d.tsv @@ (SELECT string_agg(terms.tq::text, ' | ')::tsquery FROM terms)"
	"  GROUP BY c.document_id, t.lexeme, t.idf)"
	" SELECT len.document_id, coalesce(sum(tf.idf * tf.f * 2.2 / (tf.f + 1.2 * (0.25 + 0.75 * len.len"
	"  / (corpus.avgdl * greatest(corpus.n / docs.n, 1)))) ORDER BY tf.lexeme), 0)"
	" FROM len CROSS JOIN corpus CROSS JOIN docs LEFT JOIN tf ON tf.document_id = len.document_id"
	" GROUP BY len.document_id";

/* query_term_stats alone, for a text side that does not compute them. */
static const char stats_sql[] = TERM_STATS_SQL " SELECT" STATS_ROW;

/* ts_rank_cd (cover density; default weights A 1, B 0.4, D 0.1), divided
 * by 1 + log(length) (normalization 1). */
static const char cd_sql[] =
	"SELECT c.document_id, c.seq, ts_rank_cd(c.tsv, oq.q, 1) AS s"
	" FROM docpipe.chunks c, (SELECT " QUERY_OR_TSQUERY("$1") " AS q) oq"
	" WHERE c.tsv @@ oq.q AND ($2::bigint[] IS NULL OR c.document_id = ANY($2::bigint[]))"
	" ORDER BY s DESC, c.document_id, c.seq LIMIT $3::int";

/* Appends lexeme w (n bytes) to the text[] literal in b, quoted. */
static void put_element(dp_buf *b, const char *w, size_t n)
{
	dp_buf_append(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '"' || w[i] == '\\')
			dp_buf_append(b, "\\", 1);
		dp_buf_append(b, &w[i], 1);
	}
	dp_buf_append(b, "\"", 1);
}

/* docpipe's lexer on the question: its lexemes as a text[] literal in b.
 * Returns their count, or -1 with err. */
static int client_terms(const char *cfg, const char *question, dp_buf *b, dp_err *err)
{
	dp_lexer *lx = dp_lexer_new(cfg, err);

	if (lx == NULL)
		return -1;
	dp_lexer_part(lx, 'D');
	int rc = dp_lexer_text(lx, question, strlen(question), err);
	size_t n = rc < 0 ? 0 : dp_lexer_finish(lx);
	dp_buf_append(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *w = dp_lexer_lexeme(lx, i, &len);
		put_element(b, w, len);
	}
	dp_buf_append(b, "}", 1);
	dp_lexer_free(lx);
	if (rc == 0 && b->overflow) {
		dp_err_set(err, "the question has too many terms");
		rc = -1;
	}
	return rc < 0 ? -1 : (int)n;
}

/* The server's parser on the question (text_lexer postgresql): the
 * lexemes the simple configuration can search for. */
static int server_terms(PGconn *db, const char *cfg, const char *question, dp_buf *b, dp_err *err)
{
	const char *params[] = {cfg, question};
	PGresult *res = dp_db_query(db, "SELECT count(*), coalesce(array_agg(u.lexeme), '{}')::text"
				    " FROM unnest(to_tsvector($1::regconfig, $2)) u"
				    " WHERE numnode(plainto_tsquery('simple', u.lexeme)) > 0",
				    2, params, err);

	if (res == NULL)
		return -1;
	int n = atoi(PQgetvalue(res, 0, 0));
	dp_buf_append(b, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	PQclear(res);
	if (b->overflow) {
		dp_err_set(err, "the question has too many terms");
		return -1;
	}
	return n;
}

int query_text_terms(PGconn *db, const query_corpus *c, const char *question, char **terms,
		     dp_err *err)
{
	dp_buf b;

	dp_buf_init(&b, QUERY_TERMS_MAX);
	int n = dp_lexer_reads(c->text_lexer) ? client_terms(c->text_config, question, &b, err)
		: server_terms(db, c->text_config, question, &b, err);
	if (terms != NULL && n >= 0) {
		*terms = n > 0 ? strdup(dp_buf_cstr(&b)) : NULL;
		if (n > 0 && *terms == NULL) {
			dp_err_set(err, "out of memory");
			n = -1;
		}
	}
	dp_buf_free(&b);
	return n;
}

void query_term_stats_free(query_term_stats *s)
{
	free(s->lexemes);
	free(s->idfs);
	free(s->n);
	free(s->avgdl);
	*s = (query_term_stats){0};
}

/* Copies the term statistics in columns col .. col + 3 of row r of res
 * (STATS_ROW's) into *s (all NULL before).  0, or -1 with err. */
static int take_stats(const PGresult *res, int r, int col, query_term_stats *s, dp_err *err)
{
	char **to[] = {&s->lexemes, &s->idfs, &s->n, &s->avgdl};

	for (int i = 0; i < 4; i++)
		if ((*to[i] = strdup(PQgetvalue(res, r, col + i))) == NULL) {
			query_term_stats_free(s);
			dp_err_set(err, "out of memory");
			return -1;
		}
	return 0;
}

int query_text_search(PGconn *db, const char *terms, int nterms, enum query_text_rank rank, size_t n, const query_ids *ids, query_hit **out,
		      size_t *nout, query_term_stats *stats, dp_err *err)
{
	char limit[24], *idl = NULL;
	dp_buf sql;

	dp_buf_init(&sql, BM25_SQL_MAX);
	if ((ids != NULL && (idl = query_int_array(ids->ids, ids->n)) == NULL) ||
	    (rank == QUERY_RANK_BM25 && bm25_sql(&sql, nterms) < 0)) {
		dp_buf_free(&sql);
		free(idl);
		dp_err_set(err, "out of memory");
		return -1;
	}
	snprintf(limit, sizeof limit, "%zu", n);
	const char *params[] = {terms, idl, limit};
	/* The scores' text exact behind a pooler too (extra_float_digits). */
	PGresult *res = dp_db_query_set(db, rank == QUERY_RANK_BM25 ? dp_buf_cstr(&sql) : cd_sql, 3,
					params, err);
	dp_buf_free(&sql);
	free(idl);
	if (res == NULL)
		return -1;
	size_t rows = (size_t)PQntuples(res);
	/* BM25's last row: the term statistics (bm25_tail). */
	int with_stats = rows > 0 && PQgetisnull(res, (int)rows - 1, 0);
	rows -= (size_t)with_stats;
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
	int rc = with_stats && stats != NULL ? take_stats(res, (int)rows, 3, stats, err) : 0;
	PQclear(res);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int query_doc_scores(PGconn *db, const char *terms, query_term_stats *stats, const int64_t *docs,
		     size_t n, double *scores, dp_err *err)
{
	if (stats->lexemes == NULL) {
		const char *sp[] = {terms};
		PGresult *res = dp_db_query_set(db, stats_sql, 1, sp, err);
		if (res == NULL)
			return -1;
		/* One row: the terms are never none here. */
		int rows = PQntuples(res), rc = rows == 1 ? take_stats(res, 0, 0, stats, err) : -1;
		if (rows != 1)
			dp_err_set(err, "the term statistics came back as %d rows", rows);
		PQclear(res);
		if (rc < 0)
			return -1;
	}
	char *idl = query_int_array(docs, n);

	if (idl == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	const char *params[] = {stats->lexemes, idl, stats->idfs, stats->n, stats->avgdl};
	PGresult *res = dp_db_query_set(db, doc_sql, 5, params, err);
	free(idl);
	if (res == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		scores[i] = 0;
	/* At most QUERY_K_MAX documents: a linear match is fine. */
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		for (size_t i = 0; i < n; i++)
			if (docs[i] == id)
				scores[i] = strtod(PQgetvalue(res, r, 1), NULL);
	}
	PQclear(res);
	return 0;
}

/* The question terms' occurrences in each of the hits ($1 document ids,
 * $2 seqs, in the hits' order) with each chunk's text bytes: one row per
 * hit and term it holds, the hits in order (h.i from 1), each term with
 * its index among the question's (t.j from 1) and idf ($3 lexemes, $4
 * idfs: query_term_stats).  Only the question's entries are unnested, as
 * in doc_sql. */
static const char occ_sql[] =
	"SELECT h.i, octet_length(c.content), t.j, t.lexeme, t.idf, u.positions::text, u.weights::text"
	" FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY h(doc, seq, i)"
	" JOIN docpipe.chunks c ON c.document_id = h.doc AND c.seq = h.seq" TSV_ONCE
	" CROSS JOIN LATERAL unnest(ts_delete(d.tsv, tsvector_to_array(ts_delete(d.tsv, $3::text[])))) u"
	" JOIN unnest($3::text[], $4::float8[]) WITH ORDINALITY t(lexeme, idf, j) ON t.lexeme = u.lexeme"
	" ORDER BY h.i, t.j";

/* Occurrences of the question's terms in one chunk, at most: a tsvector
 * keeps 256 positions a lexeme, the question at most QUERY_TERMS_CAP
 * terms. */
#define OCC_MAX (256 * QUERY_TERMS_CAP)

/* Appends the occurrences of one term (positions "{3,15}", weights
 * "{A,D}": PostgreSQL's array output) to occ.  Returns the new count, or
 * -1 when they do not fit in max or do not parse. */
static long add_occurrences(query_occ *occ, size_t n, size_t max, const char *pos, const char *w,
			    int term, const char *lexeme, double idf)
{
	if (*pos++ != '{' || *w++ != '{')
		return -1;
	while (*pos != '}') {
		char *end;
		long p = strtol(pos, &end, 10);
		if (end == pos || n >= max || (*w < 'A' || *w > 'D'))
			return -1;
		occ[n++] = (query_occ){.pos = (int)p, .weight = *w, .term = term, .lexeme = lexeme,
				       .idf = idf};
		pos = *end == ',' ? end + 1 : end;
		w += w[1] == ',' ? 2 : 1;
	}
	return (long)n;
}

static int hit_order(const void *a, const void *b)
{
	const query_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->doc_id != y->doc_id)
		return x->doc_id < y->doc_id ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

int query_text_proximity(PGconn *db, const query_term_stats *stats, query_hit *hits, size_t n,
			 double weight, dp_err *err)
{
	if (n == 0 || weight <= 0)
		return 0;
	int64_t *ids = malloc(2 * n * sizeof *ids);
	char *docl = NULL, *seql = NULL;
	query_occ *occ = malloc(OCC_MAX * sizeof *occ);
	double *acc = calloc(QUERY_TERMS_CAP, sizeof *acc);
	PGresult *res = NULL;
	int rc = -1;

	if (ids != NULL) {
		for (size_t i = 0; i < n; i++) {
			ids[i] = hits[i].doc_id;
			ids[n + i] = hits[i].seq;
		}
		docl = query_int_array(ids, n);
		seql = query_int_array(ids + n, n);
	}
	if (docl == NULL || seql == NULL || occ == NULL || acc == NULL) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	const char *params[] = {docl, seql, stats->lexemes, stats->idfs};
	if ((res = dp_db_query_set(db, occ_sql, 4, params, err)) == NULL)
		goto done;
	double avgdl = strtod(stats->avgdl, NULL);
	int rows = PQntuples(res);
	for (int r = 0; r < rows;) {
		long i = strtol(PQgetvalue(res, r, 0), NULL, 10) - 1;
		double len = strtod(PQgetvalue(res, r, 1), NULL);
		long m = 0;
		for (; r < rows && strtol(PQgetvalue(res, r, 0), NULL, 10) - 1 == i; r++) {
			long term = strtol(PQgetvalue(res, r, 2), NULL, 10) - 1;
			if (PQgetisnull(res, r, 5)) /* a tsvector without positions */
				continue;
			if (m >= 0 && term >= 0 && term < QUERY_TERMS_CAP)
				m = add_occurrences(occ, (size_t)m, OCC_MAX, PQgetvalue(res, r, 5),
						    PQgetvalue(res, r, 6), (int)term, PQgetvalue(res, r, 3),
						    strtod(PQgetvalue(res, r, 4), NULL));
			else
				m = -1;
		}
		if (i < 0 || (size_t)i >= n || m < 0) {
			dp_err_set(err, "the terms' positions came back unreadable (hit %ld)", i + 1);
			goto done;
		}
		double k = 1.2 * (0.25 + 0.75 * len / (avgdl > 0 ? avgdl : 1));
		hits[i].score += weight * query_proximity_score(occ, (size_t)m, acc, k);
	}
	qsort(hits, n, sizeof *hits, hit_order);
	rc = 0;
done:
	PQclear(res);
	free(ids);
	free(docl);
	free(seql);
	free(occ);
	free(acc);
	return rc;
}
