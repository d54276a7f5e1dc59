#include "embed.h"

#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apicli.h"
#include "db.h"
#include "docrec.h"
#include "record.h"
#include "text.h"
#include "vec.h"

size_t embed_cut(const char *text, size_t len, size_t max_tokens)
{
	size_t lo = 0, hi = len;

	if (dp_tokens_estimate(text, len) <= max_tokens)
		return len;
	/* The estimate only grows with the prefix: bisect. */
	while (lo < hi) {
		size_t mid = dp_utf8_floor(text, lo + (hi - lo + 1) / 2);
		if (mid <= lo)
			mid = lo + 1;
		if (dp_tokens_estimate(text, mid) <= max_tokens)
			lo = mid;
		else
			hi = mid - 1;
	}
	return dp_utf8_floor(text, lo);
}

void embed_doc_free(embed_doc *d)
{
	if (d->vecs != NULL)
		for (int i = 0; i < d->n; i++)
			free(d->vecs[i]);
	free(d->texts);
	free(d->lens);
	free(d->tokens);
	free(d->keys);
	free(d->vecs);
	free(d->todo);
	jv_free(d->rec);
	memset(d, 0, sizeof *d);
	d->rec = jv_null();
}

/* The length of text[0..len) in JSON at least: a quote, a backslash and
 * a control character are escaped in two bytes or more. */
static size_t json_len_min(const char *text, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '"' || text[i] == '\\' || (unsigned char)text[i] < 0x20;
	return n;
}

/* Whether d's output record is sure to be over c->max_record (err says
 * so, as the sink would): its chunks' texts (text_bytes, as JSON) and their
 * vectors' fields ("vec":"...",) alone are. */
static int over_max_record(const embed_ctx *c, const embed_doc *d, size_t text_bytes, dp_err *err)
{
	size_t need = text_bytes + (size_t)d->n * (sizeof "\"vec\":\"\"," - 1 +
				      dp_vec_encoded_len((size_t)dp_embedder_dim(c->embedder)));

	if (c->max_record == 0 || need <= c->max_record)
		return 0;
	dp_err why;
	dp_err_set(&why, "JSON text over %zu bytes (its chunks' texts and vectors alone: %zu)", c->max_record,
		   need);
	dp_record_too_big_reason(err, &why, c->max_record);
	return 1;
}

int embed_doc_prepare(embed_ctx *c, jv rec, embed_doc *d, dp_err *err)
{
	int api = !dp_embedder_is_local(c->embedder);
	int n = dp_doc_check_chunks(rec, err);
	size_t m;

	memset(d, 0, sizeof *d);
	d->rec = rec;
	if (n < 0)
		return -1;
	m = (size_t)n + 1;
	d->texts = malloc(m * sizeof *d->texts);
	d->lens = malloc(m * sizeof *d->lens);
	d->tokens = malloc(m * sizeof *d->tokens);
	d->keys = malloc(m * sizeof *d->keys);
	d->vecs = calloc(m, sizeof *d->vecs);
	d->todo = malloc(m * sizeof *d->todo);
	if (!d->texts || !d->lens || !d->tokens || !d->keys || !d->vecs || !d->todo) {
		free(d->vecs);
		d->vecs = NULL;
		dp_err_set(err, "out of memory");
		return -1;
	}
	d->n = n;
	size_t text_bytes = 0;
	for (int i = 0; i < n; i++) {
		int len;
		d->texts[i] = dp_doc_chunk_text(rec, i, &len);
		text_bytes += json_len_min(d->texts[i], (size_t)len);
		d->lens[i] = api ? embed_cut(d->texts[i], (size_t)len, DP_EMBED_INPUT_TOKENS_MAX)
				 : (size_t)len;
		d->tokens[i] = dp_tokens_estimate(d->texts[i], d->lens[i]);
		if (d->lens[i] < (size_t)len) {
			const char *path = dp_record_str(rec, "path");
			dp_diag("%s: chunk %d: ~%zu tokens, cut to %d for embedding (%zu of %d bytes)",
				path != NULL ? path : "?", i,
				dp_tokens_estimate(d->texts[i], (size_t)len),
				DP_EMBED_INPUT_TOKENS_MAX, d->lens[i], len);
		}
	}
	d->text_bytes = text_bytes;
	if (over_max_record(c, d, text_bytes, err))
		return -1;
	d->ntodo = n;
	for (int i = 0; i < n; i++)
		d->todo[i] = i;
	if (c->reuse != NULL || api) {
		char params[32];
		snprintf(params, sizeof params, "dim=%d", dp_embedder_dim(c->embedder));
		for (int i = 0; i < n; i++)
			dp_reuse_key("embedding", dp_embedder_id(c->embedder), params, d->texts[i],
				     d->lens[i], d->keys[i]);
	}
	return 0;
}

size_t embed_doc_held_bytes(const embed_ctx *c, const embed_doc *d)
{
	size_t vec = (size_t)dp_embedder_dim(c->embedder) * sizeof(float);

	return d->text_bytes + (size_t)d->n * (DP_CHUNK_HELD_BYTES + vec);
}

/* dp_api_usable for cached vectors: arg is the embedder; a vector must
 * decode into its dim finite numbers, not all zeros (as the embedder
 * takes answers). */
static int vector_usable(jv vec, void *arg, dp_err *why)
{
	size_t dim = (size_t)dp_embedder_dim(arg);
	float *v = malloc(dim * sizeof *v);
	if (v == NULL)
		return 1; /* unchecked: the store still refuses such a vector */
	int ok = dp_vec_decode(vec, v, dim, why) == 0;
	if (ok && dp_vec_zero(v, dim)) {
		dp_err_set(why, "all zeros");
		ok = 0;
	}
	free(v);
	return ok;
}

int embed_check_corpus(embed_ctx *c, int remote, dp_err *err)
{
	char corpus[256];
	int dim = 0, found = 0;
	dp_err why;

	if (c->reuse != NULL) {
		found = dp_reuse_corpus_embedder(c->reuse, corpus, sizeof corpus, &dim, &why) == 1;
	} else if (dp_reuse_configured()) {
		/* --no-reuse, or the local backend (no cache): the corpus is looked at all the same */
		PGconn *db = dp_db_connect(NULL, "docpipe-embed", &why);
		found = db != NULL && dp_db_corpus_embedder(db, corpus, sizeof corpus, &dim, &why) == 1;
		PQfinish(db);
	}
	if (!found || (strcmp(corpus, dp_embedder_id(c->embedder)) == 0 && dim == dp_embedder_dim(c->embedder)))
		return 0;
	dp_err_set(err, "the corpus in this database was embedded with %s (dim %d), this stage embeds"
		   " with %s (dim %d): the store would refuse every document%s."
		   " Use the corpus's embedder, or re-embed the whole corpus into a new database"
		   " (docpipe-store(1), \"One embedder per corpus\")", corpus, dim,
		   dp_embedder_id(c->embedder), dp_embedder_dim(c->embedder),
		   remote ? " after it was paid for" : "");
	return -1;
}

/* A cached vector (borrowed; vector_usable's) as dim values (owned), or
 * NULL when out of memory (the chunk then fails as one whose vector could
 * not be kept). */
static float *decoded(const embed_ctx *c, jv vec)
{
	size_t dim = (size_t)dp_embedder_dim(c->embedder);
	float *v = malloc(dim * sizeof *v);
	dp_err why;

	if (v != NULL && dp_vec_decode(vec, v, dim, &why) < 0) {
		free(v);
		v = NULL;
	}
	return v;
}

void embed_docs_lookup(embed_ctx *c, embed_doc *const *docs, size_t n)
{
	size_t total = 0, at = 0;

	for (size_t k = 0; k < n; k++)
		total += (size_t)docs[k]->ntodo;
	if (c->reuse == NULL || c->refresh || total == 0)
		return;
	char(*keys)[DP_HASH_HEX] = malloc(total * sizeof *keys);
	jv *vals = malloc(total * sizeof *vals);
	if (keys == NULL || vals == NULL) {
		dp_diag("result cache lookup skipped: out of memory");
		free(keys);
		free(vals);
		return;
	}
	for (size_t k = 0; k < n; k++)
		for (int t = 0; t < docs[k]->ntodo; t++)
			memcpy(keys[at++], docs[k]->keys[docs[k]->todo[t]], DP_HASH_HEX);
	static const char *const noun[2] = {"vector", "vectors"};
	int found = dp_api_reuse_get(c->reuse, DP_REUSE_EMBEDDING, (const char(*)[DP_HASH_HEX])keys,
				     total, vals, vector_usable, c->embedder, noun,
				     "result cache lookup failed, embedding anew");
	if (found > 0)
		atomic_fetch_add(&c->reused, (unsigned long)found);
	at = 0;
	for (size_t k = 0; k < n; k++) {
		embed_doc *d = docs[k];
		int missing = 0;
		for (int t = 0; t < d->ntodo; t++) {
			int i = d->todo[t];
			if (jv_get_kind(vals[at]) != JV_KIND_STRING) {
				jv_free(vals[at++]);
				d->todo[t] = d->todo[missing];
				d->todo[missing++] = i;
				continue;
			}
			free(d->vecs[i]);
			d->vecs[i] = decoded(c, vals[at]);
			jv_free(vals[at++]);
		}
		d->ntodo = missing;
	}
	free(keys);
	free(vals);
}

int embed_vectors_new(const embed_ctx *c, float **vecs, size_t n)
{
	size_t dim = (size_t)dp_embedder_dim(c->embedder);

	for (size_t k = 0; k < n; k++) {
		if ((vecs[k] = malloc(dim * sizeof **vecs)) == NULL) {
			embed_vectors_free(vecs, k);
			return -1;
		}
	}
	return 0;
}

void embed_vectors_free(float **vecs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(vecs[k]);
		vecs[k] = NULL;
	}
}

void embed_keep_vectors(embed_ctx *c, float *const *vecs, size_t n, const char *const *keys)
{
	size_t dim = (size_t)dp_embedder_dim(c->embedder);

	atomic_fetch_add(&c->computed, n);
	if (c->reuse == NULL || n == 0)
		return;
	char(*kk)[DP_HASH_HEX] = malloc(n * sizeof *kk);
	jv *enc = malloc(n * sizeof *enc);
	if (kk == NULL || enc == NULL) {
		dp_diag("could not keep results for reuse: out of memory");
		free(kk);
		free(enc);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		memcpy(kk[k], keys[k], DP_HASH_HEX);
		enc[k] = dp_vec_encode(vecs[k], dim); /* invalid (out of memory): skipped */
	}
	dp_reuse_put(c->reuse, DP_REUSE_EMBEDDING, dp_embedder_id(c->embedder),
		     (const char(*)[DP_HASH_HEX])kk, enc, n, c->refresh);
	for (size_t k = 0; k < n; k++)
		jv_free(enc[k]);
	free(kk);
	free(enc);
}

/* The reason d's record is an error record: reason, or a vector missing
 * (it could not be kept: out of memory); NULL when it is not. */
static const char *failure(const embed_doc *d, const char *reason)
{
	for (int i = 0; reason == NULL && i < d->n; i++)
		if (d->vecs[i] == NULL)
			reason = "out of memory";
	return reason;
}

/* d->rec (taken) as the record written holds it but for its chunks, taken
 * into *chunks (owned): "chunks" (null here) is in the place the record
 * built chunk by chunk gave it, last (jv_object_delete, then set) but for
 * "embedder" and "dim" after it, which are set.  Its text must not change
 * with the way it is written. */
static jv skeleton(const embed_ctx *c, embed_doc *d, jv *chunks)
{
	jv rec = d->rec;

	d->rec = jv_null();
	*chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
	if (d->n > 0)
		rec = jv_object_delete(rec, jv_string("chunks"));
	rec = jv_object_set(rec, jv_string("chunks"), jv_null());
	rec = jv_object_set(rec, jv_string("embedder"), jv_string(dp_embedder_id(c->embedder)));
	return jv_object_set(rec, jv_string("dim"), jv_number(dp_embedder_dim(c->embedder)));
}

/* d's chunk i (consumed) with vec (its vector's base64, consumed) and,
 * where its text was cut, vec_truncated. */
static jv with_vec(const embed_doc *d, int i, jv chunk, jv vec)
{
	jv text = jv_object_get(jv_copy(chunk), jv_string("text"));
	size_t len = (size_t)jv_string_length_bytes(text);

	if (d->lens[i] < len)
		chunk = jv_object_set(chunk, jv_string("vec_truncated"), jv_number((double)d->lens[i]));
	return jv_object_set(chunk, jv_string("vec"), vec);
}

jv embed_doc_finish(embed_ctx *c, embed_doc *d, const char *reason)
{
	size_t dim = (size_t)dp_embedder_dim(c->embedder);
	jv chunks, rec;

	if ((reason = failure(d, reason)) != NULL) {
		rec = dp_record_error(d->rec, "embed", reason);
		d->rec = jv_null();
		embed_doc_free(d);
		return rec;
	}
	rec = skeleton(c, d, &chunks);
	for (int i = 0; i < d->n; i++) {
		jv vec = dp_vec_encode(d->vecs[i], dim);
		if (!jv_is_valid(vec)) {
			jv_free(vec);
			jv_free(chunks);
			embed_doc_free(d);
			return dp_record_error(rec, "embed", "out of memory");
		}
		jv chunk = with_vec(d, i, jv_array_get(jv_copy(chunks), i), vec);
		chunks = jv_array_set(chunks, i, chunk);
	}
	embed_doc_free(d);
	return jv_object_set(rec, jv_string("chunks"), chunks);
}

#define EMBED_TRIM_BYTES (4u << 20)

/* A record written in pieces (embed_doc_put, a dp_piece_fn): its head up
 * to "chunks":[ , each chunk with its vector, then its tail from ] on. */
struct pieces {
	embed_doc *d;
	size_t dim;
	jv chunks;     /* d's (owned): each freed once written */
	dp_json_buf head, tail;
	int next;      /* -1: the head, 0 .. n-1: a chunk, n: the tail */
	jv stand_in;   /* measuring: every vector's text (as long); else invalid */
	size_t freed;  /* vectors' bytes freed since the last trim_now */
};

/* The head and tail of rec (borrowed; skeleton's) into p, as
 * dp_json_append writes the object.  0, or -1 with err. */
static int split(struct pieces *p, jv rec, dp_err *err)
{
	dp_json_buf *b = &p->head;
	int rc = dp_json_put(b, "{", 1, err), first = 1;

	for (int i = jv_object_iter(rec); rc == 0 && jv_object_iter_valid(rec, i);
	     i = jv_object_iter_next(rec, i), first = 0) {
		jv key = jv_object_iter_key(rec, i), val = jv_object_iter_value(rec, i);
		int chunks = strcmp(jv_string_value(key), "chunks") == 0;
		if ((!first && dp_json_put(b, ",", 1, err) < 0) ||
		    dp_json_append(b, key, err) < 0 || dp_json_put(b, ":", 1, err) < 0)
			rc = -1;
		else if (chunks)
			rc = dp_json_put(b, "[", 1, err) < 0 ? -1 : dp_json_put(b = &p->tail, "]", 1, err);
		else
			rc = dp_json_append(b, val, err);
		jv_free(key);
		jv_free(val);
	}
	return rc < 0 ? -1 : dp_json_put(b, "}", 1, err);
}

/* After every EMBED_TRIM_BYTES of vectors freed as their chunks are
 * written, the free pages go back to the system (malloc_trim: glibc's
 * free keeps them in the heap), where a ZeroMQ sink's buffer, which
 * gathers the whole text (a mapping of its own), takes them: its peak is
 * then the text, not the text beside the vectors and chunks it was made
 * of. */
static void trim_now(struct pieces *p)
{
	p->freed += p->dim * sizeof(float);
	if (p->freed < EMBED_TRIM_BYTES)
		return;
	p->freed = 0;
#ifdef __GLIBC__ /* other C libraries have no malloc_trim: their free decides */
	malloc_trim(0);
#endif
}

static int piece(void *arg, dp_json_buf *b, dp_err *err)
{
	struct pieces *p = arg;
	int i = p->next++, measuring = jv_is_valid(p->stand_in), rc;

	if (i < 0)
		return dp_json_put(b, p->head.data, p->head.len, err) < 0 ? -1 : 1;
	if (i == p->d->n)
		return dp_json_put(b, p->tail.data, p->tail.len, err) < 0 ? -1 : 1;
	if (i > p->d->n)
		return 0;
	jv vec = measuring ? jv_copy(p->stand_in) : dp_vec_encode(p->d->vecs[i], p->dim);
	if (!jv_is_valid(vec)) {
		jv_free(vec);
		dp_err_set(err, "out of memory");
		return -1;
	}
	jv chunk = with_vec(p->d, i, jv_array_get(jv_copy(p->chunks), i), vec);
	rc = i > 0 ? dp_json_put(b, ",", 1, err) : 0;
	if (rc == 0)
		rc = dp_json_append(b, chunk, err);
	jv_free(chunk);
	if (!measuring) { /* its text and vector are needed no more */
		free(p->d->vecs[i]);
		p->d->vecs[i] = NULL;
		p->chunks = jv_array_set(p->chunks, i, jv_null());
		trim_now(p);
	}
	return rc < 0 ? -1 : 1;
}

/* The length of p's text, or 0 with err when it is over max (in all, or
 * a piece alone) or memory ran out: the sink's serializer then makes the
 * record its error record, whatever the failure (transport.c). */
static size_t measure(struct pieces *p, size_t max, dp_err *err)
{
	dp_json_buf b;
	size_t len = 0;
	int rc = 0;

	dp_buf_init(&b, max);
	p->next = -1;
	while (len <= max && (rc = piece(p, &b, err)) > 0) {
		len += b.len;
		b.len = 0;
	}
	dp_json_buf_free(&b);
	p->next = -1;
	if (len > max) {
		dp_err_set(err, "JSON text over %zu bytes", max); /* dp_json_append's words */
		return 0;
	}
	return rc < 0 ? 0 : len;
}

int embed_doc_put(embed_ctx *c, embed_doc *d, const char *reason, dp_stage_io *io)
{
	size_t max = dp_sink_max_record(io->sink);
	struct pieces p = {.d = d, .dim = (size_t)dp_embedder_dim(c->embedder)};
	dp_err err;

	if (!dp_sink_takes_text(io->sink) || d->n == 0 || failure(d, reason) != NULL)
		return dp_stage_io_put(io, embed_doc_finish(c, d, reason));
	/* Base64 needs no escape: any text of its length stands in. */
	size_t vlen = dp_vec_encoded_len(p.dim);
	char *as = malloc(vlen);
	p.stand_in = as != NULL ? jv_string_sized(memset(as, 'A', vlen), (int)vlen) : jv_invalid();
	free(as);
	if (!jv_is_valid(p.stand_in)) {
		jv_free(p.stand_in);
		return dp_stage_io_put(io, embed_doc_finish(c, d, "out of memory"));
	}
	jv rec = skeleton(c, d, &p.chunks);
	dp_buf_init(&p.head, max);
	dp_buf_init(&p.tail, max);
	size_t len = split(&p, rec, &err) < 0 ? 0 : measure(&p, max, &err);
	jv_free(p.stand_in);
	p.stand_in = jv_invalid();
	int rc;
	if (len == 0)
		rc = dp_stage_io_put(io, dp_record_too_big(jv_copy(rec), &err, max));
	else
		rc = dp_stage_io_put_pieces(io, len, piece, &p);
	jv_free(rec);
	jv_free(p.chunks);
	dp_json_buf_free(&p.head);
	dp_json_buf_free(&p.tail);
	embed_doc_free(d);
	return rc;
}

jv embed_process(void *ctx, jv rec)
{
	embed_ctx *c = ctx;
	embed_doc d, *dp = &d;
	dp_err err;

	if (embed_doc_prepare(c, rec, &d, &err) < 0) {
		rec = dp_record_error(jv_copy(d.rec), "embed", err.msg);
		embed_doc_free(&d);
		return rec;
	}
	embed_docs_lookup(c, &dp, 1);
	if (d.ntodo == 0)
		return embed_doc_finish(c, &d, NULL);

	size_t n = (size_t)d.ntodo;
	const char **texts = malloc(n * sizeof *texts);
	const char **keys = malloc(n * sizeof *keys);
	size_t *lens = malloc(n * sizeof *lens);
	float **fresh = malloc(n * sizeof *fresh);
	int rc = -1;

	if (texts != NULL && keys != NULL && lens != NULL && fresh != NULL &&
	    embed_vectors_new(c, fresh, n) == 0) {
		for (size_t k = 0; k < n; k++) {
			texts[k] = d.texts[d.todo[k]];
			lens[k] = d.lens[d.todo[k]];
			keys[k] = d.keys[d.todo[k]];
		}
		rc = dp_embedder_embed_each(c->embedder, texts, lens, n, fresh, &err);
		if (rc == 0) {
			embed_keep_vectors(c, fresh, n, keys);
			for (size_t k = 0; k < n; k++) {
				free(d.vecs[d.todo[k]]);
				d.vecs[d.todo[k]] = fresh[k];
			}
		} else {
			embed_vectors_free(fresh, n);
		}
	} else {
		dp_err_set(&err, "out of memory");
	}
	free(texts);
	free(keys);
	free(lens);
	free(fresh);
	return embed_doc_finish(c, &d, rc == 0 ? NULL : err.msg);
}
