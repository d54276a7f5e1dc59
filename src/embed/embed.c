#include "embed.h"

#include <stdlib.h>
#include <string.h>

#include "docrec.h"
#include "record.h"
#include "text.h"
#include "vec.h"

#include <stdio.h>

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

struct work {
	int n;
	size_t dim;
	const char **texts;
	size_t *lens;
	jv *vecs;            /* base64 per chunk, or null while missing */
	char (*keys)[DP_HASH_HEX];
	const char **todo_texts; /* the chunks that need a request */
	size_t *todo_lens;
	int *todo_at;
	float *out;
};

static void work_free(struct work *w)
{
	if (w->vecs != NULL)
		for (int i = 0; i < w->n; i++)
			jv_free(w->vecs[i]);
	free(w->texts);
	free(w->lens);
	free(w->vecs);
	free(w->keys);
	free(w->todo_texts);
	free(w->todo_lens);
	free(w->todo_at);
	free(w->out);
}

static int work_alloc(struct work *w, int n, size_t dim)
{
	size_t m = (size_t)n + 1;

	w->n = n;
	w->dim = dim;
	w->texts = malloc(m * sizeof *w->texts);
	w->lens = malloc(m * sizeof *w->lens);
	w->vecs = malloc(m * sizeof *w->vecs);
	w->keys = malloc(m * sizeof *w->keys);
	w->todo_texts = malloc(m * sizeof *w->todo_texts);
	w->todo_lens = malloc(m * sizeof *w->todo_lens);
	w->todo_at = malloc(m * sizeof *w->todo_at);
	w->out = malloc(m * dim * sizeof *w->out);
	if (w->vecs != NULL)
		for (int i = 0; i < n; i++)
			w->vecs[i] = jv_null();
	return w->texts && w->lens && w->vecs && w->keys && w->todo_texts && w->todo_lens &&
			       w->todo_at && w->out
		       ? 0
		       : -1;
}

jv embed_process(void *ctx, jv rec)
{
	embed_ctx *c = ctx;
	int api = !dp_embedder_is_local(c->embedder);
	struct work w = {0};
	dp_err err;
	int n = dp_doc_check_chunks(rec, &err);
	size_t ntodo = 0;

	if (n < 0)
		return dp_record_error(rec, "embed", err.msg);
	if (work_alloc(&w, n, (size_t)dp_embedder_dim(c->embedder)) < 0) {
		dp_err_set(&err, "out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		int len;
		w.texts[i] = dp_doc_chunk_text(rec, i, &len);
		w.lens[i] = api ? embed_cut(w.texts[i], (size_t)len, DP_EMBED_INPUT_TOKENS_MAX)
				: (size_t)len;
		if (w.lens[i] < (size_t)len) {
			const char *path = dp_record_str(rec, "path");
			dp_diag("%s: chunk %d: ~%zu tokens, cut to %d for embedding (%zu of %d bytes)",
				path != NULL ? path : "?", i, dp_tokens_estimate(w.texts[i], (size_t)len),
				DP_EMBED_INPUT_TOKENS_MAX, w.lens[i], len);
		}
	}
	if (c->reuse != NULL) {
		char params[32];
		snprintf(params, sizeof params, "dim=%zu", w.dim);
		for (int i = 0; i < n; i++)
			dp_reuse_key("embedding", dp_embedder_id(c->embedder), params, w.texts[i],
				     w.lens[i], w.keys[i]);
		if (!c->refresh) {
			int found = dp_reuse_get(c->reuse, DP_REUSE_EMBEDDING,
						 (const char(*)[DP_HASH_HEX])w.keys, (size_t)n, w.vecs, &err);
			if (found < 0)
				dp_diag("result cache lookup failed, embedding anew: %s", err.msg);
			else
				atomic_fetch_add(&c->reused, (unsigned long)found);
		}
	}
	for (int i = 0; i < n; i++)
		if (jv_get_kind(w.vecs[i]) != JV_KIND_STRING) {
			w.todo_texts[ntodo] = w.texts[i];
			w.todo_lens[ntodo] = w.lens[i];
			w.todo_at[ntodo++] = i;
		}
	if (ntodo > 0) {
		if (api && atomic_load(&c->refused)) {
			dp_err_set(&err, "not embedded: the API refused the run");
			goto fail;
		}
		int rc = dp_embedder_embed(c->embedder, w.todo_texts, w.todo_lens, ntodo, w.out, &err);
		if (rc == DP_HTTP_REFUSED)
			atomic_store(&c->refused, 1);
		if (rc != 0)
			goto fail;
		atomic_fetch_add(&c->computed, ntodo);
		jv *fresh = calloc(ntodo, sizeof *fresh);
		char (*fresh_keys)[DP_HASH_HEX] = malloc(ntodo * sizeof *fresh_keys);
		if (fresh == NULL || fresh_keys == NULL) {
			free(fresh);
			free(fresh_keys);
			dp_err_set(&err, "out of memory");
			goto fail;
		}
		for (size_t k = 0; k < ntodo; k++) {
			int i = w.todo_at[k];
			jv v = dp_vec_encode(w.out + k * w.dim, w.dim);
			if (!jv_is_valid(v)) {
				jv_free(v);
				v = jv_null();
			}
			jv_free(w.vecs[i]);
			w.vecs[i] = v;
			fresh[k] = jv_copy(v);
			memcpy(fresh_keys[k], w.keys[i], DP_HASH_HEX);
		}
		if (c->reuse != NULL &&
		    dp_reuse_put(c->reuse, DP_REUSE_EMBEDDING, dp_embedder_id(c->embedder),
				 (const char(*)[DP_HASH_HEX])fresh_keys, fresh, ntodo, c->refresh, &err) < 0)
			dp_diag("could not keep results for reuse: %s", err.msg);
		for (size_t k = 0; k < ntodo; k++)
			jv_free(fresh[k]);
		free(fresh);
		free(fresh_keys);
	}
	/* The texts point into rec: change rec only now. */
	for (int i = 0; i < n; i++) {
		if (jv_get_kind(w.vecs[i]) != JV_KIND_STRING) {
			dp_err_set(&err, "out of memory");
			goto fail;
		}
		int len;
		size_t full;
		dp_doc_chunk_text(rec, i, &len);
		full = (size_t)len;
		if (w.lens[i] < full)
			rec = dp_doc_chunk_set(rec, i, "vec_truncated", jv_number((double)w.lens[i]));
		rec = dp_doc_chunk_set(rec, i, "vec", jv_copy(w.vecs[i]));
	}
	rec = jv_object_set(rec, jv_string("embedder"), jv_string(dp_embedder_id(c->embedder)));
	rec = jv_object_set(rec, jv_string("dim"), jv_number((double)w.dim));
	work_free(&w);
	return rec;
fail:
	work_free(&w);
	return dp_record_error(rec, "embed", err.msg);
}
