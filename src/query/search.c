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
	return norm > 0 ? dot / sqrt(norm) : 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int query_copy_row(const unsigned char *p, size_t len, query_hit *hit, float *vec, size_t dim,
		   dp_err *err)
{
	/* 3 fields: int8, int4, float4[] with one dimension of dim elements. */
	size_t want = 2 + (4 + 8) + (4 + 4) + 4 + 20 + 8 * dim;

	if (len == 2 && p[0] == 0xff && p[1] == 0xff)
		return 0;
	if (len != want || p[0] != 0 || p[1] != 3 || be32(p + 2) != 8 || be32(p + 14) != 4 ||
	    be32(p + 22) != 20 + 8 * dim || be32(p + 26) != 1 || be32(p + 38) != dim) {
		dp_err_set(err, "unexpected row in the vector scan (a vector of another dimension?)");
		return -1;
	}
	hit->doc_id = (int64_t)((uint64_t)be32(p + 6) << 32 | be32(p + 10));
	hit->seq = (int32_t)be32(p + 18);
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

int query_corpus_load(PGconn *db, query_corpus *c, dp_err *err)
{
	PGresult *res = PQexec(db, "SELECT key, value FROM docpipe.settings");

	memset(c, 0, sizeof *c);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = dp_db_sqlstate(res);
		int missing = strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0;
		if (missing)
			dp_err_set(err, "this database holds no docpipe corpus (run docpipe-store first)");
		else
			dp_db_err(err, db, res, "reading docpipe.settings");
		PQclear(res);
		return missing ? 1 : -1;
	}
	dp_db_settings set;
	dp_db_settings_read(res, &set);
	PQclear(res);
	snprintf(c->embedder, sizeof c->embedder, "%s", set.embedder);
	c->dim = set.dim;
	c->pgvector = strcmp(set.vector_type, "vector") == 0;
	if (c->embedder[0] == '\0' || c->dim <= 0) {
		dp_err_set(err, "the corpus has no embedded documents yet");
		return 1;
	}
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

static jv result_object(const PGresult *res, int row, double score)
{
	jv heading = jv_parse(PQgetvalue(res, row, 3));
	jv r = jv_object();

	if (jv_get_kind(heading) != JV_KIND_ARRAY) {
		jv_free(heading);
		heading = jv_array();
	}
	r = jv_object_set(r, jv_string("score"), jv_number(score));
	r = jv_object_set(r, jv_string("path"), jv_string(PQgetvalue(res, row, 2)));
	r = jv_object_set(r, jv_string("seq"), jv_number(atoi(PQgetvalue(res, row, 1))));
	r = jv_object_set(r, jv_string("heading"), heading);
	r = jv_object_set(r, jv_string("content"), jv_string(PQgetvalue(res, row, 4)));
	r = jv_object_set(r, jv_string("summary"), PQgetisnull(res, row, 5)
			  ? jv_null() : jv_string(PQgetvalue(res, row, 5)));
	return r;
}

#define DETAIL_COLUMNS \
	"c.document_id, c.seq, d.path, coalesce(array_to_json(c.heading)::text, '[]'), c.content, d.summary"

static jv search_pgvector(PGconn *db, const float *q, size_t dim, size_t k, dp_err *err)
{
	char *vec = vector_text(q, dim), limit[24];
	const char *params[] = {vec, limit};

	if (vec == NULL) {
		dp_err_set(err, "out of memory");
		return jv_invalid();
	}
	snprintf(limit, sizeof limit, "%zu", k);
	PGresult *res = dp_db_query(db,
		"SELECT " DETAIL_COLUMNS ", 1 - (c.embedding <=> $1::vector)"
		" FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id"
		" WHERE c.embedding IS NOT NULL ORDER BY c.embedding <=> $1::vector LIMIT $2::int",
		2, params, err);
	free(vec);
	if (res == NULL)
		return jv_invalid();
	jv out = jv_array();
	for (int i = 0; i < PQntuples(res); i++)
		out = jv_array_append(out, result_object(res, i, atof(PQgetvalue(res, i, 6))));
	PQclear(res);
	return out;
}

/* Streams every stored vector once; keeps the k best in t. */
static int scan(PGconn *db, const float *q, size_t dim, query_topk *t, dp_err *err)
{
	PGresult *res = PQexec(db, "COPY (SELECT document_id, seq, embedding FROM docpipe.chunks"
				   " WHERE embedding IS NOT NULL) TO STDOUT (FORMAT binary)");
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
		query_hit hit;
		if (rc == 0 && n > 0 && query_copy_row(p, n, &hit, vec, dim, err) == 1) {
			hit.score = query_cosine(q, vec, dim);
			query_topk_push(t, hit);
		} else if (rc == 0 && n > 0 && !(n == 2 && p[0] == 0xff && p[1] == 0xff)) {
			rc = -1;
		}
		PQfreemem(buf);
	}
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
	free(vec);
	return rc;
}

static jv search_scan(PGconn *db, const float *q, size_t dim, size_t k, dp_err *err)
{
	query_topk t;

	if (query_topk_init(&t, k) < 0) {
		dp_err_set(err, "out of memory");
		return jv_invalid();
	}
	if (scan(db, q, dim, &t, err) < 0) {
		query_topk_free(&t);
		return jv_invalid();
	}
	query_topk_sort(&t);
	/* Integer array literals made from numbers we parsed, not from text. */
	size_t cap = t.n * 24 + 3;
	char *ids = malloc(cap), *seqs = malloc(cap);
	size_t oi = 0, os = 0;
	if (ids == NULL || seqs == NULL) {
		free(ids);
		free(seqs);
		query_topk_free(&t);
		dp_err_set(err, "out of memory");
		return jv_invalid();
	}
	ids[oi++] = '{';
	seqs[os++] = '{';
	for (size_t i = 0; i < t.n; i++) {
		oi += (size_t)snprintf(ids + oi, cap - oi, "%s%lld", i ? "," : "", (long long)t.hits[i].doc_id);
		os += (size_t)snprintf(seqs + os, cap - os, "%s%d", i ? "," : "", t.hits[i].seq);
	}
	snprintf(ids + oi, cap - oi, "}");
	snprintf(seqs + os, cap - os, "}");
	const char *params[] = {ids, seqs};
	PGresult *res = dp_db_query(db,
		"SELECT " DETAIL_COLUMNS
		" FROM unnest($1::bigint[], $2::int[]) AS h(id, seq)"
		" JOIN docpipe.chunks c ON c.document_id = h.id AND c.seq = h.seq"
		" JOIN docpipe.documents d ON d.id = c.document_id", 2, params, err);
	free(ids);
	free(seqs);
	if (res == NULL) {
		query_topk_free(&t);
		return jv_invalid();
	}
	/* In score order; a chunk replaced since the scan is left out. */
	jv out = jv_array();
	for (size_t i = 0; i < t.n; i++)
		for (int r = 0; r < PQntuples(res); r++)
			if (atoll(PQgetvalue(res, r, 0)) == t.hits[i].doc_id &&
			    atoi(PQgetvalue(res, r, 1)) == t.hits[i].seq) {
				out = jv_array_append(out, result_object(res, r, t.hits[i].score));
				break;
			}
	PQclear(res);
	query_topk_free(&t);
	return out;
}

jv query_search(PGconn *db, const query_corpus *c, const float *q, size_t k, dp_err *err)
{
	jv out = c->pgvector ? search_pgvector(db, q, (size_t)c->dim, k, err)
			     : search_scan(db, q, (size_t)c->dim, k, err);

	if (!jv_is_valid(out))
		return out;
	jv ranked = jv_array();
	int n = jv_array_length(jv_copy(out));
	for (int i = 0; i < n; i++) {
		jv r = jv_array_get(jv_copy(out), i);
		jv first = jv_object_set(jv_object(), jv_string("rank"), jv_number(i + 1));
		ranked = jv_array_append(ranked, jv_object_merge(first, r));
	}
	jv_free(out);
	return ranked;
}

jv query_snippet(const char *s, size_t max)
{
	size_t len = strlen(s), o = 0;
	char *out = malloc(max + 4);
	int space = 0;

	if (out == NULL)
		return jv_string("");
	for (size_t i = 0; i < len && o < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		if (o < max)
			out[o++] = (char)ch;
	}
	int cut = o >= max;
	o = dp_utf8_floor(out, o);
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	jv r = jv_string_sized(out, (int)o);
	free(out);
	return r;
}

void query_print_text(FILE *out, jv results)
{
	int n = jv_array_length(jv_copy(results));

	for (int i = 0; i < n; i++) {
		jv r = jv_array_get(jv_copy(results), i);
		jv path = jv_object_get(jv_copy(r), jv_string("path"));
		jv heading = jv_object_get(jv_copy(r), jv_string("heading"));
		jv content = jv_object_get(jv_copy(r), jv_string("content"));
		jv score = jv_object_get(jv_copy(r), jv_string("score"));
		fprintf(out, "%d. %.4f  %s", i + 1, jv_number_value(score), jv_string_value(path));
		jv_free(score);
		int nh = jv_array_length(jv_copy(heading));
		for (int h = 0; h < nh; h++) {
			jv part = jv_array_get(jv_copy(heading), h);
			fprintf(out, "%s%s", h == 0 ? "  (" : " > ", jv_string_value(part));
			jv_free(part);
		}
		jv snip = query_snippet(jv_string_value(content), 200);
		fprintf(out, "%s\n   %s\n", nh > 0 ? ")" : "", jv_string_value(snip));
		jv_free(snip);
		jv_free(path);
		jv_free(heading);
		jv_free(content);
		jv_free(r);
	}
	jv_free(results);
}
