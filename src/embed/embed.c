#include "embed.h"

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
			jv_free(d->vecs[i]);
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
	d->vecs = malloc(m * sizeof *d->vecs);
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
		d->vecs[i] = jv_null();
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
	size_t vec = dp_vec_encoded_len((size_t)dp_embedder_dim(c->embedder));

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
			jv_free(d->vecs[i]);
			d->vecs[i] = vals[at++];
		}
		d->ntodo = missing;
	}
	free(keys);
	free(vals);
}

void embed_encode_and_keep(embed_ctx *c, const float *out, size_t n,
			   const char *const *keys, jv *vecs)
{
	size_t dim = (size_t)dp_embedder_dim(c->embedder);

	for (size_t k = 0; k < n; k++) {
		vecs[k] = dp_vec_encode(out + k * dim, dim);
		if (!jv_is_valid(vecs[k])) {
			jv_free(vecs[k]);
			vecs[k] = jv_null();
		}
	}
	atomic_fetch_add(&c->computed, n);
	if (c->reuse == NULL || n == 0)
		return;
	char(*kk)[DP_HASH_HEX] = malloc(n * sizeof *kk);
	if (kk == NULL) {
		dp_diag("could not keep results for reuse: out of memory");
		return;
	}
	for (size_t k = 0; k < n; k++)
		memcpy(kk[k], keys[k], DP_HASH_HEX);
	dp_reuse_put(c->reuse, DP_REUSE_EMBEDDING, dp_embedder_id(c->embedder),
		     (const char(*)[DP_HASH_HEX])kk, vecs, n, c->refresh);
	free(kk);
}

jv embed_doc_finish(embed_ctx *c, embed_doc *d, const char *reason)
{
	jv rec = d->rec;

	d->rec = jv_null();
	for (int i = 0; reason == NULL && i < d->n; i++)
		if (jv_get_kind(d->vecs[i]) != JV_KIND_STRING)
			reason = "out of memory";
	if (reason != NULL) {
		rec = dp_record_error(rec, "embed", reason);
		embed_doc_free(d);
		return rec;
	}
	/* The texts point into rec: change rec only now. */
	for (int i = 0; i < d->n; i++) {
		int len;
		dp_doc_chunk_text(rec, i, &len);
		if (d->lens[i] < (size_t)len)
			rec = dp_doc_chunk_set(rec, i, "vec_truncated", jv_number((double)d->lens[i]));
		rec = dp_doc_chunk_set(rec, i, "vec", d->vecs[i]);
		d->vecs[i] = jv_null();
	}
	rec = jv_object_set(rec, jv_string("embedder"), jv_string(dp_embedder_id(c->embedder)));
	rec = jv_object_set(rec, jv_string("dim"), jv_number(dp_embedder_dim(c->embedder)));
	embed_doc_free(d);
	return rec;
}

jv embed_process(void *ctx, jv rec)
{
	embed_ctx *c = ctx;
	size_t dim = (size_t)dp_embedder_dim(c->embedder);
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

	const char **texts = malloc((size_t)d.ntodo * sizeof *texts);
	const char **keys = malloc((size_t)d.ntodo * sizeof *keys);
	size_t *lens = malloc((size_t)d.ntodo * sizeof *lens);
	float *out = malloc((size_t)d.ntodo * dim * sizeof *out);
	jv *fresh = malloc((size_t)d.ntodo * sizeof *fresh);
	int rc = -1;

	if (texts != NULL && keys != NULL && lens != NULL && out != NULL && fresh != NULL) {
		for (int k = 0; k < d.ntodo; k++) {
			texts[k] = d.texts[d.todo[k]];
			lens[k] = d.lens[d.todo[k]];
			keys[k] = d.keys[d.todo[k]];
		}
		rc = dp_embedder_embed(c->embedder, texts, lens, (size_t)d.ntodo, out, &err);
		if (rc == 0) {
			embed_encode_and_keep(c, out, (size_t)d.ntodo, keys, fresh);
			for (int k = 0; k < d.ntodo; k++) {
				jv_free(d.vecs[d.todo[k]]);
				d.vecs[d.todo[k]] = fresh[k];
			}
		}
	} else {
		dp_err_set(&err, "out of memory");
	}
	free(texts);
	free(keys);
	free(lens);
	free(out);
	free(fresh);
	return embed_doc_finish(c, &d, rc == 0 ? NULL : err.msg);
}
