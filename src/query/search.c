#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "text.h"

int query_topk_init(query_topk *t, size_t k)
{
	t->hits = malloc((k > 0 ? k : 1) * sizeof *t->hits);
	t->n = 0;
	t->k = k;
	return t->hits != NULL ? 0 : -1;
}

void query_topk_free(query_topk *t)
{
	free(t->hits);
	t->hits = NULL;
	t->n = 0;
}

static void swap(query_hit *a, query_hit *b)
{
	query_hit x = *a;

	*a = *b;
	*b = x;
}

static void sift_down(query_topk *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && t->hits[l].score < t->hits[m].score)
			m = l;
		if (r < t->n && t->hits[r].score < t->hits[m].score)
			m = r;
		if (m == i)
			return;
		swap(&t->hits[i], &t->hits[m]);
		i = m;
	}
}

void query_topk_push(query_topk *t, query_hit hit)
{
	if (t->k == 0)
		return;
	if (t->n < t->k) {
		size_t i = t->n++;
		t->hits[i] = hit;
		while (i > 0 && t->hits[(i - 1) / 2].score > t->hits[i].score) {
			swap(&t->hits[i], &t->hits[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
	} else if (hit.score > t->hits[0].score) {
		t->hits[0] = hit;
		sift_down(t, 0);
	}
}

static int best_first(const void *a, const void *b)
{
	const query_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->doc_id != y->doc_id) /* ties: a stable, reproducible order */
		return x->doc_id < y->doc_id ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void query_topk_sort(query_topk *t)
{
	qsort(t->hits, t->n, sizeof *t->hits, best_first);
}

double query_cosine(const float *q, const float *v, size_t dim)
{
	double dot = 0, norm = 0;

	for (size_t i = 0; i < dim; i++) {
		dot += (double)q[i] * v[i];
		norm += (double)v[i] * v[i];
	}
	return norm > 0 ? dot / sqrt(norm) : NAN;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Names the stored chunk (doc_id, seq) whose vector err describes: its
 * document's path, looked up (an error path: one more round trip), and
 * what to do.  A damaged or hand-edited database: the store checks every
 * vector's dimension.  Before, one such vector failed every search with
 * "a vector of another dimension?" and no word of which. */
static void name_bad_vector(PGconn *db, int64_t doc_id, int seq, dp_err *err)
{
	char id[24], why[DP_ERR_MAX];
	const char *params[] = {id};
	dp_err ignored;

	snprintf(why, sizeof why, "%s", err->msg);
	snprintf(id, sizeof id, "%lld", (long long)doc_id);
	PGresult *res = dp_db_query(db, "SELECT path FROM docpipe.documents WHERE id = $1::bigint", 1,
				    params, &ignored);
	if (res != NULL && PQntuples(res) == 1)
		dp_err_set(err, "chunk %d of %s: %s (a damaged or hand-edited database: delete that"
			   " document from docpipe.documents and store it again)", seq, PQgetvalue(res, 0, 0), why);
	else
		dp_err_set(err, "chunk %d of document id %s: %s (a damaged or hand-edited database)",
			   seq, id, why);
	PQclear(res);
}

int query_copy_row(const void *row, size_t len, query_hit *hit, float *vec, size_t dim,
		   dp_err *err)
{
	const unsigned char *p = row;
	/* 3 fields: int8, int4, float4[] with one dimension of dim elements. */
	size_t want = 2 + (4 + 8) + (4 + 4) + 4 + 20 + 8 * dim;

	if (len == 2 && p[0] == 0xff && p[1] == 0xff)
		return 0;
	hit->doc_id = -1;
	if (len < 26 || p[0] != 0 || p[1] != 3 || be32(p + 2) != 8 || be32(p + 14) != 4) {
		dp_err_set(err, "unexpected row in the vector scan");
		return -1;
	}
	hit->doc_id = (int64_t)((uint64_t)be32(p + 6) << 32 | be32(p + 10));
	hit->seq = (int32_t)be32(p + 18);
	if (len != want || be32(p + 22) != 20 + 8 * dim || be32(p + 26) != 1 || be32(p + 38) != dim) {
		/* One dimension: its length; else (no element, an array of
		 * arrays) none that reads as a vector. */
		if (len >= 42 && be32(p + 26) == 1)
			dp_err_set(err, "its stored vector has %u values, the corpus's have %zu",
				   be32(p + 38), dim);
		else
			dp_err_set(err, "its stored vector is no list of %zu values", dim);
		return -1;
	}
	const unsigned char *e = p + 46;
	for (size_t i = 0; i < dim; i++, e += 8) {
		if (be32(e) != 4) {
			dp_err_set(err, "unexpected NULL in a stored vector");
			return -1;
		}
		uint32_t u = be32(e + 4);
		memcpy(&vec[i], &u, 4);
	}
	return 1;
}

/* The settings query_corpus keeps beyond dp_db_settings. */
static void read_search_settings(const PGresult *res, query_corpus *c)
{
	for (int i = 0; i < PQntuples(res); i++) {
		const char *key = PQgetvalue(res, i, 0), *value = PQgetvalue(res, i, 1);
		if (strcmp(key, "vector_index") == 0)
			snprintf(c->vector_index, sizeof c->vector_index, "%s", value);
		else if (strcmp(key, "index_state") == 0)
			snprintf(c->index_state, sizeof c->index_state, "%s", value);
		else if (strcmp(key, "text_config") == 0)
			snprintf(c->text_config, sizeof c->text_config, "%s", value);
		else if (strcmp(key, "text_lexer") == 0)
			snprintf(c->text_lexer, sizeof c->text_lexer, "%s", value);
		else if (strcmp(key, "ivfflat_probes") == 0)
			c->ivfflat_probes = atoi(value);
	}
}

/* Why the settings did not name an embedded corpus: lost ones (2), or
 * none yet (1, with what_else), or -1 with err. */
static int corpus_missing(PGconn *db, const char *what_else, dp_err *err)
{
	int lost = dp_db_settings_lost(db, err);

	if (lost == 0)
		dp_err_set(err, "%s", what_else);
	return lost > 0 ? 2 : lost == 0 ? 1 : -1;
}

int query_corpus_load(PGconn *db, query_corpus *c, dp_err *err)
{
	PGresult *res = dp_db_result(db, "SELECT key, value FROM docpipe.settings");

	memset(c, 0, sizeof *c);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = dp_db_sqlstate(res);
		int missing = strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0;
		if (!missing)
			dp_db_err(err, db, res, "reading docpipe.settings");
		PQclear(res);
		return missing ? corpus_missing(db, "this database holds no docpipe corpus (run"
						" docpipe-store first)", err) : -1;
	}
	dp_db_settings set;
	dp_db_settings_read(res, &set);
	read_search_settings(res, c);
	PQclear(res);
	snprintf(c->embedder, sizeof c->embedder, "%s", set.embedder);
	snprintf(c->vector_type, sizeof c->vector_type, "%s", set.vector_type);
	c->dim = set.dim;
	/* Chunks stored without vectors (no embed stage) have their text
	 * indexed all the same: text mode searches them (c->dim 0). */
	if ((c->embedder[0] == '\0' || c->dim <= 0) && c->text_config[0] == '\0')
		return corpus_missing(db, "the corpus has no embedded documents yet", err);
	if (c->embedder[0] == '\0' || c->dim <= 0) {
		int lost = corpus_missing(db, "", err);
		c->dim = 0;
		if (lost != 1)
			return lost;
	}
	/* Chunks without provenance columns cannot be read (result.c).  A
	 * full-text index says a store since 871ef1a ran, which added them
	 * (70b8239) in the same transaction: the question is asked only
	 * without one, so a current database pays no round trip for it. */
	if (c->text_config[0] == '\0')
		return dp_db_schema_old(db, DP_DB_NEEDS_CHUNKS, err);
	return 0;
}

/* "[a,b,...]": pgvector's text form (%.9g keeps float32 exact). */
static char *vector_text(const float *v, size_t dim)
{
	size_t cap = dim * 17 + 3, o = 0;
	char *t = malloc(cap);

	if (t == NULL)
		return NULL;
	t[o++] = '[';
	for (size_t i = 0; i < dim; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s%.9g", i > 0 ? "," : "", (double)v[i]);
	t[o++] = ']';
	t[o] = '\0';
	return t;
}

/* The distance expression that the corpus's index serves ($1: the
 * question in pgvector's text form).  dim is the corpus's checked int. */
static void distance_sql(const query_corpus *c, char *out, size_t size)
{
	if (strstr(c->vector_index, "-halfvec") != NULL)
		snprintf(out, size, "c.embedding::halfvec(%d) <=> $1::halfvec(%d)", c->dim, c->dim);
	else if (strcmp(c->vector_type, "halfvec") == 0)
		snprintf(out, size, "c.embedding <=> $1::halfvec");
	else
		snprintf(out, size, "c.embedding <=> $1::vector");
}

/* Opens a transaction with SET LOCAL settings, then the optional ones
 * (pgvector >= 0.8's iterative scans; older versions refuse them, which
 * only costs that guarantee).  One round trip (three on a server that
 * refuses the optional part): each costs a wakeup of the backend,
 * milliseconds on a loaded machine.  Returns 0 in the open transaction,
 * or -1 with err and none open. */
static int open_with_settings(PGconn *db, const char *settings, const char *optional, dp_err *err)
{
	char sql[256];
	dp_err ignored;

	snprintf(sql, sizeof sql, "%s; %s", settings, optional);
	if (dp_db_begin(db, NULL, sql, &ignored) == 0)
		return 0;
	dp_db_rollback(db);
	if (dp_db_begin(db, NULL, settings, err) == 0)
		return 0;
	dp_db_rollback(db);
	return -1;
}

/* The vector index's search settings, in a new transaction (as
 * open_with_settings).  HNSW: the search list at least n rows so LIMIT n
 * is not silently capped (ef_search), and an index scan that goes on
 * until n rows pass the filters.  IVFFlat (docpipe-store --vector-index
 * ivfflat): the probes the store chose for its lists, room to sort their
 * rows in memory, and more lists
 * probed until n rows pass (IVFFlat knows only relaxed_order; the caller
 * sorts). */
static int index_settings(PGconn *db, const query_corpus *c, size_t n, int ef_search, dp_err *err)
{
	char settings[128];

	if (strncmp(c->vector_index, "ivfflat", 7) == 0) {
		/* The probed lists' rows are sorted by distance: at 100k chunks
		 * and ~40 probes they overflow the default 4 MB work_mem and
		 * the sort spills to disk (~300 ms instead of ~40). */
		snprintf(settings, sizeof settings, "SET LOCAL ivfflat.probes = %d; SET LOCAL work_mem = '64MB'",
			 c->ivfflat_probes > 0 ? c->ivfflat_probes : 1);
		return open_with_settings(db, settings, "SET LOCAL ivfflat.iterative_scan = relaxed_order", err);
	}
	long ef = (long)n > ef_search ? (long)n : ef_search;
	snprintf(settings, sizeof settings, "SET LOCAL hnsw.ef_search = %ld", ef > 1000 ? 1000 : ef);
	return open_with_settings(db, settings, "SET LOCAL hnsw.iterative_scan = strict_order", err);
}

static PGresult *pgvector_rows(PGconn *db, const query_corpus *c, const float *q, size_t n,
			       int ef_search, const query_ids *ids, dp_err *err)
{
	char *vec = vector_text(q, (size_t)c->dim), *idl = NULL, limit[24], dist[96], sql[640];
	PGresult *res = NULL;

	if (vec == NULL || (ids != NULL && (idl = query_int_array(ids->ids, ids->n)) == NULL)) {
		dp_err_set(err, "out of memory");
		goto out;
	}
	snprintf(limit, sizeof limit, "%zu", n);
	distance_sql(c, dist, sizeof dist);
	snprintf(sql, sizeof sql,
		 "SELECT c.document_id, c.seq, 1 - (%s) FROM docpipe.chunks c"
		 " WHERE c.embedding IS NOT NULL"
		 " AND ($2::bigint[] IS NULL OR c.document_id = ANY($2::bigint[]))"
		 " ORDER BY %s LIMIT $3::int", dist, dist);
	const char *params[] = {vec, idl, limit};
	if (index_settings(db, c, n, ef_search, err) < 0)
		goto out;
	res = dp_db_query(db, sql, 3, params, err);
	if (dp_db_end(db, res != NULL ? 0 : -1, err) < 0) {
		PQclear(res);
		res = NULL;
	}
out:
	free(vec);
	free(idl);
	return res;
}

static int search_pgvector(PGconn *db, const query_corpus *c, const float *q, size_t n,
			   int ef_search, const query_ids *ids, query_topk *t, dp_err *err)
{
	PGresult *res = pgvector_rows(db, c, q, n, ef_search, ids, err);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		query_hit hit = {.doc_id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
				 .seq = atoi(PQgetvalue(res, i, 1)),
				 .score = strtod(PQgetvalue(res, i, 2), NULL)};
		if (!isnan(hit.score)) /* a zero vector: no direction to compare */
			query_topk_push(t, hit);
	}
	PQclear(res);
	return 0;
}

/* Reads the rest of a COPY OUT stream's results.  rc: the status so far. */
static int copy_end(PGconn *db, int len, int rc, dp_err *err)
{
	PGresult *res;

	if (len == -2 && rc == 0) {
		dp_db_err(err, db, NULL, "vector scan");
		rc = -1;
	}
	while ((res = PQgetResult(db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			dp_db_err(err, db, res, "vector scan");
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

static const char scan_all_sql[] = "COPY (SELECT document_id, seq, embedding FROM docpipe.chunks"
				    " WHERE embedding IS NOT NULL) TO STDOUT (FORMAT binary)";

/* Streams the vectors that copy_sql (a COPY of document_id, seq,
 * embedding in binary) sends once; keeps the best in t. */
static int scan(PGconn *db, const char *copy_sql, const float *q, size_t dim, const query_ids *ids,
		query_topk *t, dp_err *err)
{
	PGresult *res = dp_db_result(db, copy_sql);
	float *vec = malloc(dim * sizeof *vec);
	int rc = 0, first = 1;
	char *buf;
	int len;

	if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT || vec == NULL) {
		dp_db_err(err, db, res, "vector scan");
		PQclear(res);
		free(vec);
		return -1;
	}
	PQclear(res);
	query_hit hit = {.doc_id = -1};
	while ((len = PQgetCopyData(db, &buf, 0)) > 0) {
		const unsigned char *p = (const unsigned char *)buf;
		size_t n = (size_t)len;
		if (first) { /* the 19-byte header precedes the first row */
			first = 0;
			if (n < 19 || memcmp(p, "PGCOPY\n\377\r\n", 11) != 0) {
				dp_err_set(err, "vector scan: not a binary COPY stream");
				rc = -1;
			}
			p += 19;
			n -= 19;
		}
		int row = rc == 0 && n > 0 ? query_copy_row(p, n, &hit, vec, dim, err) : 0;
		if (row < 0)
			rc = -1;
		else if (row == 1 && (ids == NULL || query_ids_has(ids, hit.doc_id)) &&
			 !isnan(hit.score = query_cosine(q, vec, dim)))
			query_topk_push(t, hit);
		PQfreemem(buf);
	}
	free(vec);
	int bad_row = rc < 0 && hit.doc_id >= 0;
	rc = copy_end(db, len, rc, err);
	if (bad_row)
		name_bad_vector(db, hit.doc_id, hit.seq, err);
	return rc;
}

int query_is_pgvector(const query_corpus *c)
{
	return strcmp(c->vector_type, "vector") == 0 || strcmp(c->vector_type, "halfvec") == 0;
}

int query_vector_search(PGconn *db, const query_corpus *c, const float *q, size_t n,
			int ef_search, const query_ids *ids, query_hit **out, size_t *nout,
			dp_err *err)
{
	query_topk t;
	int pgvector = query_is_pgvector(c);

	if (query_topk_init(&t, n) < 0) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	if ((pgvector ? search_pgvector(db, c, q, n, ef_search, ids, &t, err)
		      : scan(db, scan_all_sql, q, (size_t)c->dim, ids, &t, err)) < 0) {
		query_topk_free(&t);
		return -1;
	}
	query_topk_sort(&t);
	*out = t.hits;
	*nout = t.n;
	return 0;
}

int query_vector_rerank(PGconn *db, const query_corpus *c, const float *q, const query_hit *cands,
			size_t ncands, size_t n, query_hit **out, size_t *nout, dp_err *err)
{
	int64_t *ids = malloc((ncands + 1) * sizeof *ids), *seqs = malloc((ncands + 1) * sizeof *seqs);
	char *idl = NULL, *seql = NULL, *sql = NULL;
	query_topk t = {0};
	int rc = -1;

	if (ids != NULL && seqs != NULL) {
		for (size_t i = 0; i < ncands; i++) {
			ids[i] = cands[i].doc_id;
			seqs[i] = cands[i].seq;
		}
		idl = query_int_array(ids, ncands);
		seql = query_int_array(seqs, ncands);
	}
	/* COPY takes no parameters: the arrays are numbers we print. */
	size_t cap = (idl != NULL ? strlen(idl) : 0) + (seql != NULL ? strlen(seql) : 0) + 256;
	if (idl == NULL || seql == NULL || (sql = malloc(cap)) == NULL || query_topk_init(&t, n) < 0) {
		dp_err_set(err, "out of memory");
		goto done;
	}
	snprintf(sql, cap, "COPY (SELECT c.document_id, c.seq, c.embedding FROM unnest('%s'::bigint[],"
		 " '%s'::int[]) AS h(id, seq) JOIN docpipe.chunks c ON c.document_id = h.id AND c.seq = h.seq"
		 " WHERE c.embedding IS NOT NULL) TO STDOUT (FORMAT binary)", idl, seql);
	if (scan(db, sql, q, (size_t)c->dim, NULL, &t, err) < 0)
		goto done;
	query_topk_sort(&t);
	*out = t.hits;
	*nout = t.n;
	t.hits = NULL;
	rc = 0;
done:
	query_topk_free(&t);
	free(ids);
	free(seqs);
	free(idl);
	free(seql);
	free(sql);
	return rc;
}

/* Parses PostgreSQL's array text form of dim numbers ("{0.1,-2e-05,...}"):
 * with scale 0 returns their squared norm, else adds each times scale to
 * sum.  Returns -1 when text is not dim numbers. */
static double parse_vector(const char *text, size_t dim, float *sum, double scale)
{
	const char *p = text;
	double norm = 0;
	char *end;

	if (*p++ != '{')
		return -1;
	for (size_t i = 0; i < dim; i++, p = end + 1) {
		double x = strtod(p, &end);
		if (end == p || *end != (i + 1 < dim ? ',' : '}'))
			return -1;
		if (scale == 0)
			norm += x * x;
		else
			sum[i] += (float)(x * scale);
	}
	return norm;
}

/* Adds the unit vector of a stored vector in array text form to sum.
 * Returns 1 added, 0 a vector of no direction (zero, or not finite),
 * -1 with err when it is not dim numbers. */
static int add_unit_vector(const char *text, float *sum, size_t dim, dp_err *err)
{
	double norm = parse_vector(text, dim, NULL, 0);

	if (norm < 0) {
		dp_err_set(err, "its stored vector is no list of %zu values", dim);
		return -1;
	}
	/* A NaN or an infinity in a stored real[] (pgvector refuses them) is
	 * no direction, as for the vector scan (query_cosine): added, it
	 * made the question's vector NaN and the vector side rank nothing. */
	if (norm == 0 || !isfinite(norm))
		return 0;
	parse_vector(text, dim, sum, 1 / sqrt(norm));
	return 1;
}

int query_hits_centroid(PGconn *db, const query_corpus *c, const query_hit *hits, size_t n,
			float *sum, dp_err *err)
{
	int64_t ids[QUERY_PRF_MAX], seqs[QUERY_PRF_MAX];
	int added = 0;

	if (n > QUERY_PRF_MAX)
		n = QUERY_PRF_MAX;
	for (size_t i = 0; i < n; i++) {
		ids[i] = hits[i].doc_id;
		seqs[i] = hits[i].seq;
	}
	char *idl = query_int_array(ids, n), *seql = query_int_array(seqs, n);
	const char *params[] = {idl, seql};
	PGresult *res = NULL;
	/* real[] and pgvector's vector and halfvec all cast to real[]. */
	if (idl == NULL || seql == NULL)
		dp_err_set(err, "out of memory");
	else
		res = dp_db_query_set(db, "SELECT c.embedding::real[]::text, c.document_id, c.seq"
				      " FROM unnest($1::bigint[], $2::int[])"
				      " AS h(id, seq) JOIN docpipe.chunks c ON c.document_id = h.id"
				      " AND c.seq = h.seq WHERE c.embedding IS NOT NULL", 2, params, err);
	for (int i = 0; res != NULL && i < PQntuples(res) && added >= 0; i++) {
		int rc = add_unit_vector(PQgetvalue(res, i, 0), sum, (size_t)c->dim, err);
		added = rc < 0 ? -1 : added + rc;
		if (rc < 0)
			name_bad_vector(db, strtoll(PQgetvalue(res, i, 1), NULL, 10),
					atoi(PQgetvalue(res, i, 2)), err);
	}
	if (res == NULL)
		added = -1;
	PQclear(res);
	free(idl);
	free(seql);
	return added;
}

double query_chunk_estimate(PGconn *db)
{
	PGresult *res = dp_db_result(db, "SELECT reltuples FROM pg_class WHERE oid = 'docpipe.chunks'::regclass");
	double n = -1;

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return n;
}
