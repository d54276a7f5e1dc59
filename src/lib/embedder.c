#include "embedder.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "text.h"
#include "vec.h"

enum backend { LOCAL, OPENAI, OLLAMA };

/* What an OpenAI-compatible server does with "encoding_format": "base64"
 * (what OpenAI's own client asks for: each vector as base64 of float32,
 * a quarter of the bytes of JSON numbers and no number to parse).  Until a
 * request worked, a refusal (4xx) whose message names base64 or
 * encoding_format is tried once more with JSON numbers; if that one works,
 * the server refuses base64 and later requests ask for numbers.  Other
 * refusals (a bad input) are not sent twice. */
enum vector_encoding { BASE64_UNTRIED, BASE64_WORKS, BASE64_REFUSED };

struct dp_embedder {
	enum backend backend;
	enum dp_local_model local; /* the local backend's model */
	int dim;
	int batch_inputs;
	char id[256];
	char model[200];
	char dim_hint[DP_EMBED_HINT_MAX]; /* dp_embedder_opts.dim_hint */
	dp_http *http;
	atomic_int encoding; /* enum vector_encoding (threads share e) */
	atomic_int dim_answered; /* some answer's vectors had dim values */
	atomic_int dim_wrong;    /* answers of vectors of another size before one */
};

dp_embedder *dp_embedder_new(const dp_embedder_opts *opts, dp_err *err)
{
	const char *backend = opts->backend != NULL ? opts->backend : "local";
	int dim = opts->dim > 0 ? opts->dim : DP_EMBED_DIM_DEFAULT;
	enum backend b;
	const char *model;

	if (strcmp(backend, "local") == 0) {
		b = LOCAL;
		model = DP_LOCAL_MODEL_DEFAULT;
	} else if (strcmp(backend, "openai") == 0) {
		b = OPENAI;
		model = DP_OPENAI_EMBED_MODEL_DEFAULT;
	} else if (strcmp(backend, "ollama") == 0) {
		b = OLLAMA;
		model = DP_OLLAMA_EMBED_MODEL_DEFAULT;
	} else {
		dp_err_set(err, "unknown embedding backend '%s' (known: local, openai, ollama)",
			   backend);
		return NULL;
	}
	if (opts->dim < 0 || dim > DP_EMBED_DIM_MAX) {
		dp_err_set(err, "--dim must be between 1 and %d", DP_EMBED_DIM_MAX);
		return NULL;
	}
	if (opts->batch_inputs < 0 || opts->batch_inputs > DP_EMBED_BATCH_MAX) {
		dp_err_set(err, "--batch-inputs must be between 1 and %d", DP_EMBED_BATCH_MAX);
		return NULL;
	}
	if (opts->model != NULL) {
		if (b == LOCAL && strcmp(opts->model, "fh-v1") != 0 &&
		    strcmp(opts->model, "fh-v2") != 0) {
			dp_err_set(err, "the local backend's models are fh-v1 and fh-v2, not '%s'",
				   opts->model);
			return NULL;
		}
		if (opts->model[0] == '\0' || strlen(opts->model) >= sizeof ((dp_embedder *)0)->model) {
			dp_err_set(err, "--model must be 1 to 199 bytes");
			return NULL;
		}
		model = opts->model;
	}
	dp_embedder *e = calloc(1, sizeof *e);
	if (e == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	e->backend = b;
	e->local = strcmp(model, "fh-v1") == 0 ? DP_LOCAL_FH_V1 : DP_LOCAL_FH_V2;
	e->dim = dim;
	e->batch_inputs = opts->batch_inputs > 0 ? opts->batch_inputs : DP_EMBED_BATCH_DEFAULT;
	snprintf(e->model, sizeof e->model, "%s", model);
	snprintf(e->dim_hint, sizeof e->dim_hint, "%s",
		 opts->dim_hint != NULL ? opts->dim_hint : "see --dim");
	snprintf(e->id, sizeof e->id, "%s/%s", backend, model);
	if (b != LOCAL) {
		dp_http_opts ho = {0};
		if (opts->http != NULL)
			ho = *opts->http;
		dp_http_resolve_server(&ho, opts->base_url, opts->api_key, b == OLLAMA);
		e->http = dp_http_new(&ho, err);
		if (e->http == NULL) {
			free(e);
			return NULL;
		}
	}
	return e;
}

void dp_embedder_free(dp_embedder **e)
{
	if (*e == NULL)
		return;
	dp_http_free(&(*e)->http);
	free(*e);
	*e = NULL;
}

const char *dp_embedder_id(const dp_embedder *e) { return e->id; }

int dp_embedder_dim(const dp_embedder *e) { return e->dim; }

int dp_embedder_batch_inputs(const dp_embedder *e) { return e->batch_inputs; }

int dp_embedder_is_local(const dp_embedder *e) { return e->backend == LOCAL; }

dp_http *dp_embedder_http(dp_embedder *e) { return e->http; }

/* 0 when out[0..dim), input which's vector, has a direction; -1 with err
 * when it is all zeros: a model that embeds nothing (its pooling off, not
 * an embedding model) answers so, a vector whose cosine distance to any
 * other is undefined (NaN): stored, it ranked nowhere or first, and
 * cached, it stood for its text on every later run (fault sweep 20). */
static int nonzero(const float *out, size_t dim, size_t which, dp_err *err)
{
	if (!dp_vec_zero(out, dim))
		return 0;
	dp_err_set(err, "the server's vector for input %zu is all zeros (no direction: its cosine"
		   " distance to anything is undefined)", which);
	return -1;
}

/* Reads the vector v (its JSON text; p NULL: none) into out[0..e->dim);
 * -1 with err unless it is an array of dim numbers or the base64 of dim
 * float32 values, each a finite number as a float32 (not NaN, an infinity,
 * nor a JSON number out of float32's range), not all zeros: a bad answer,
 * never kept.  A
 * vector of another size is said with e->dim_hint, its size in *size (a
 * base64 one's rounded down), which is left alone otherwise. */
static int take_vector(const dp_embedder *e, dp_jspan v, float *out, size_t which, size_t *size,
		       dp_err *err)
{
	size_t dim = (size_t)e->dim;

	if (v.p != NULL && v.p[0] == '"') {
		dp_err why;
		/* Decoded in place; one that fails is decoded again as jq's
		 * string, so an escape ("\/") or bad UTF-8 is judged as jq
		 * reads it. */
		int rc = memchr(v.p, '\\', v.n) == NULL
				 ? dp_vec_decode_text(v.p + 1, v.n - 2, out, dim, &why)
				 : -1;
		if (rc < 0) {
			jv str = dp_jscan_parse(v.p, v.n);
			rc = dp_vec_decode(str, out, dim, &why);
			jv_free(str);
		}
		if (rc == -1) { /* not the length of dim float32 values */
			dp_err_set(err, "the server's base64 vector for input %zu: %s (%s)", which,
				   why.msg, e->dim_hint);
			*size = (v.n - 2) * 3 / 16;
		}
		else if (rc < 0)
			dp_err_set(err, "the server's base64 vector for input %zu: %s", which, why.msg);
		return rc < 0 ? -1 : nonzero(out, dim, which, err);
	}
	dp_jscan it;
	if (v.p == NULL || v.p[0] != '[' || dp_jscan_open(&it, v) < 0) {
		dp_err_set(err, "the server returned no vector array for input %zu", which);
		return -1;
	}
	/* One pass: the first value that is no number or not finite, and the
	 * count, which is said first when it is wrong.  A null is a NaN: what
	 * jq's dump (a body only jq reads, "NaN" in it) and JavaScript's
	 * JSON.stringify write for one. */
	size_t count = 0, bad = dim;
	int not_number = 0;
	dp_jspan k, x;
	while (dp_jscan_next(&it, &k, &x) == 1) {
		double d;
		if (count < dim && bad == dim) {
			if (x.n == 4 && memcmp(x.p, "null", 4) == 0)
				bad = count;
			else if (dp_jscan_number(x, &d) < 0)
				bad = count, not_number = 1;
			else if (!isfinite(out[count] = (float)d))
				bad = count;
		}
		count++;
	}
	if (count != dim) {
		dp_err_set(err, "the server returned a vector of %zu values for input %zu; "
				"expected %zu (%s)", count, which, dim, e->dim_hint);
		*size = count;
		return -1;
	}
	if (bad < dim) {
		if (not_number)
			dp_err_set(err, "the server's vector for input %zu holds a non-number", which);
		else
			dp_err_set(err, "the server's vector for input %zu: vector value %zu is not a "
					"finite float32 number", which, bad);
		return -1;
	}
	return nonzero(out, dim, which, err);
}

/* Reads the vectors of an answer (its JSON text, dp_http_post_json_text)
 * for n inputs into outs[0..n).  One pass: an item's fault is said unless the
 * count is wrong, which is said first.  *size: as take_vector's. */
static int take_response(const dp_embedder *e, dp_jspan resp, size_t n, float *const *outs,
			 size_t *size, dp_err *err)
{
	static const char *const item_keys[] = {"\"index\"", "\"embedding\""};
	const char *field = e->backend == OPENAI ? "\"data\"" : "\"embeddings\"";
	dp_jspan list;
	dp_jscan it;

	dp_jscan_members(resp, &field, &list, 1);
	if (list.p == NULL || list.p[0] != '[' || dp_jscan_open(&it, list) < 0) {
		dp_err_set(err, "malformed response: no %s array", field);
		return -1;
	}
	unsigned char *seen = calloc(n, 1);
	if (seen == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	dp_err first = {.msg = ""};
	size_t got = 0;
	dp_jspan k, item;
	for (; dp_jscan_next(&it, &k, &item) == 1; got++) {
		if (got >= n || first.msg[0] != '\0')
			continue;
		size_t at = got;
		dp_jspan vec = item;
		if (e->backend == OPENAI) {
			/* Responses may come in any order: "index" says whose it is. */
			dp_jspan got_members[2];
			double d = -1;
			dp_jscan_members(item, item_keys, got_members, 2);
			if (got_members[0].p == NULL || dp_jscan_number(got_members[0], &d) < 0)
				d = -1;
			if (d < 0 || d >= (double)n || d != (double)(size_t)d || seen[(size_t)d]) {
				dp_err_set(&first, "malformed response: data[%zu] has a missing, "
						   "repeated or out-of-range index", got);
				continue;
			}
			at = (size_t)d;
			vec = got_members[1];
		}
		seen[at] = 1;
		take_vector(e, vec, outs[at], at, size, &first);
	}
	free(seen);
	if (got != n) {
		dp_err_set(err, "the server returned %zu vectors for %zu inputs", got, n);
		return -1;
	}
	if (first.msg[0] != '\0') {
		dp_err_set(err, "%s", first.msg);
		return -1;
	}
	return 0;
}

/* An answer whose vectors are of size values, not e->dim, err saying so.
 * Before any answer of e->dim, the model's size is not the one asked for
 * (a server that ignores "dimensions": Ollama, LM Studio; a model of
 * another size), not an input's fault: every request would fail alike,
 * each paid, over the whole corpus (fault sweep 20: 59 requests for 30
 * documents, all failed).  The DP_HTTP_NEVER_REACHED_CALLS-th such answer
 * refuses the run (DP_HTTP_REFUSED, err the reason, for dp_http: read in
 * the call's judge, vectors_of); earlier ones, or any after an answer of
 * e->dim, are the request's (DP_HTTP_FAILED, err kept). */
static int wrong_size(dp_embedder *e, size_t size, dp_err *err)
{
	if (atomic_load(&e->dim_answered) ||
	    atomic_fetch_add(&e->dim_wrong, 1) + 1 < DP_HTTP_NEVER_REACHED_CALLS)
		return DP_HTTP_FAILED;
	char why[DP_ERR_MAX];
	snprintf(why, sizeof why, "the model API answered %d requests with vectors of %s%zu values and"
		 " none with the %d asked for (sent as \"dimensions\"): the model makes vectors of"
		 " another size or ignores \"dimensions\" (%.200s)", DP_HTTP_NEVER_REACHED_CALLS,
		 strstr(err->msg, "base64") != NULL ? "about " : "", size, e->dim,
		 e->dim_hint);
	dp_err_set(err, "%s", why);
	return DP_HTTP_REFUSED;
}

/* What a request's answer is read into: its n inputs' vectors at outs. */
struct vectors {
	dp_embedder *e;
	size_t n;
	float *const *outs;
	int answered; /* the server answered 2xx JSON */
};

/* The request's judge (dp_http_judge, arg a struct vectors): the answer's
 * text read into the vectors, so that a wrong size refuses the run before
 * the request's place is given back.  DP_HTTP_OK, or take_response's
 * fault (DP_HTTP_FAILED, err set), or wrong_size's verdict. */
static int vectors_of(void *arg, const jv *value, const char *text, size_t len, dp_err *err)
{
	struct vectors *v = arg;
	size_t size = 0;

	(void)value;
	v->answered = 1;
	if (take_response(v->e, (dp_jspan){text, len}, v->n, v->outs, &size, err) == 0) {
		atomic_store(&v->e->dim_answered, 1);
		return DP_HTTP_OK;
	}
	return size > 0 ? wrong_size(v->e, size, err) : DP_HTTP_FAILED;
}

/* Posts one request for texts[0..n), its vectors read into outs; an
 * OpenAI request asks for base64 vectors or not.  Returns
 * dp_http_post_json_text's code (vectors_of's verdict on an answer);
 * *answered: whether the server answered 2xx JSON (set, never cleared). */
static int embed_post(dp_embedder *e, const char *const *texts, const size_t *lens, size_t n,
		      size_t tokens, int base64, float *const *outs, int *answered, dp_err *err)
{
	jv input = jv_array();
	jv body = jv_object();

	for (size_t i = 0; i < n; i++)
		input = jv_array_append(input, jv_string_sized(texts[i], (int)lens[i]));
	body = jv_object_set(body, jv_string("model"), jv_string(e->model));
	body = jv_object_set(body, jv_string("input"), input);
	body = jv_object_set(body, jv_string("dimensions"), jv_number(e->dim));
	if (e->backend == OPENAI)
		body = jv_object_set(body, jv_string("encoding_format"),
				     jv_string(base64 ? "base64" : "float"));
	else
		body = jv_object_set(body, jv_string("truncate"), jv_false());
	/* What n vectors of dim values can take as JSON text (a float is
	 * 10-25 characters; base64 is less) and per input room for the
	 * envelope ("index", "object"), so a huge answer is refused early. */
	size_t max_response = n * ((size_t)e->dim * 32 + 1024) + (64u << 10);
	struct vectors v = {e, n, outs, 0};
	const dp_http_judge judge = {.fn = vectors_of, .arg = &v};
	char *text;
	size_t len;
	int rc = dp_http_post_json_text(e->http, e->backend == OPENAI ? "/embeddings" : "/api/embed",
					body, tokens, max_response, n > 1 ? DP_HTTP_SHRINKABLE : 0,
					&judge, &text, &len, err);
	free(text);
	*answered |= v.answered;
	return rc;
}

/* One request for texts[0..n) (see enum vector_encoding). */
static int embed_request(dp_embedder *e, const char *const *texts, const size_t *lens,
			 size_t n, size_t tokens, float *const *outs, dp_err *err)
{
	int was = atomic_load(&e->encoding);
	int base64 = e->backend == OPENAI && was != BASE64_REFUSED, answered = 0;
	int rc = embed_post(e, texts, lens, n, tokens, base64, outs, &answered, err);

	if (rc == DP_HTTP_REJECTED && base64 && was == BASE64_UNTRIED &&
	    (strcasestr(err->msg, "base64") != NULL || strcasestr(err->msg, "encoding_format") != NULL)) {
		answered = 0;
		rc = embed_post(e, texts, lens, n, tokens, 0, outs, &answered, err);
		if (answered)
			atomic_store(&e->encoding, BASE64_REFUSED);
	} else if (answered && base64 && was == BASE64_UNTRIED) {
		atomic_compare_exchange_strong(&e->encoding, &was, BASE64_WORKS);
	}
	return rc;
}

int dp_embedder_embed(dp_embedder *e, const char *const *texts, const size_t *lens,
		      size_t n, float *out, dp_err *err)
{
	float **outs = malloc((n + 1) * sizeof *outs);

	if (outs == NULL) {
		dp_err_set(err, "out of memory");
		return DP_HTTP_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		outs[i] = out + i * (size_t)e->dim;
	int rc = dp_embedder_embed_each(e, texts, lens, n, outs, err);
	free(outs);
	return rc;
}

int dp_embedder_embed_each(dp_embedder *e, const char *const *texts, const size_t *lens,
			   size_t n, float *const *outs, dp_err *err)
{
	size_t start = 0, tokens = 0;

	if (e->backend == LOCAL) {
		for (size_t i = 0; i < n; i++)
			dp_embed_local_model(e->local, texts[i], lens[i], outs[i], (size_t)e->dim);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t t = dp_tokens_estimate(texts[i], lens[i]);
		if (t > DP_EMBED_INPUT_TOKENS_MAX) {
			dp_err_set(err, "input %zu has ~%zu tokens, over the limit of %d", i, t,
				   DP_EMBED_INPUT_TOKENS_MAX);
			return DP_HTTP_REJECTED;
		}
		if (i > start && (i - start >= (size_t)e->batch_inputs ||
				  tokens + t > DP_EMBED_REQUEST_TOKENS_MAX)) {
			int rc = embed_request(e, texts + start, lens + start, i - start, tokens,
					       outs + start, err);
			if (rc != 0)
				return rc;
			start = i;
			tokens = 0;
		}
		tokens += t;
	}
	if (n > start)
		return embed_request(e, texts + start, lens + start, n - start, tokens, outs + start,
				     err);
	return 0;
}
