#include <stdlib.h>
#include <string.h>

#include "../store/doc.h"
#include "../store/pgbin.h"
#include "../summarize/prompts.h"
#include "db.h"
#include "docrec.h"
#include "path.h"
#include "plan.h"
#include "record.h"
#include "reuse.h"
#include "text.h"

#define PATHS_MAX 10000000 /* documents one plan keeps track of */
/* Result keys one plan keeps (64 bits of each: a collision among 8M keys
 * has odds ~2e-6); past it, repeats count as new (requests then says at
 * most, never less than the run sends). */
#define KEYS_MAX ((size_t)8 << 20)

static int oom(dp_err *err)
{
	dp_err_set(err, "out of memory");
	return -1;
}

static int remember_path(plan *p, const char *path, dp_err *err)
{
	if (path == NULL)
		return 0;
	if (p->npaths == p->cap_paths) {
		size_t cap = p->cap_paths ? 2 * p->cap_paths : 1024;
		char **np = cap <= PATHS_MAX ? realloc(p->paths, cap * sizeof *np) : NULL;
		if (np == NULL)
			return oom(err);
		p->paths = np;
		p->cap_paths = cap;
	}
	if ((p->paths[p->npaths] = strdup(path)) == NULL)
		return oom(err);
	p->npaths++;
	return 0;
}

/* 1 when key was counted earlier in this plan; else remembers it and
 * returns 0 (also when the set is full or out of memory: counted anew). */
static int repeated_key(plan *p, const char key[DP_HASH_HEX])
{
	char hex[17];

	memcpy(hex, key, 16);
	hex[16] = '\0';
	uint64_t k = strtoull(hex, NULL, 16);
	k += k == 0; /* 0 marks an empty slot */
	if (2 * (p->nkeys + 1) > p->cap_keys) {
		size_t cap = p->cap_keys ? 2 * p->cap_keys : 4096;
		uint64_t *nk = p->nkeys < KEYS_MAX ? calloc(cap, sizeof *nk) : NULL;
		if (nk == NULL)
			return 0;
		for (size_t i = 0; i < p->cap_keys; i++)
			if (p->keys[i] != 0) {
				size_t j = (size_t)(p->keys[i] & (cap - 1));
				while (nk[j] != 0)
					j = (j + 1) & (cap - 1);
				nk[j] = p->keys[i];
			}
		free(p->keys);
		p->keys = nk;
		p->cap_keys = cap;
	}
	size_t j = (size_t)(k & (p->cap_keys - 1));
	for (; p->keys[j] != 0; j = (j + 1) & (p->cap_keys - 1))
		if (p->keys[j] == k)
			return 1;
	p->keys[j] = k;
	p->nkeys++;
	return 0;
}

/* New, changed or unchanged, by the store's rule: the stored row's hash
 * and fingerprint (chunker, summarizer, embedder, dim) against the run's. */
static int classify(plan *p, jv *docs, size_t m, dp_err *err)
{
	unsigned char *same = calloc(m + 1, 1), *stored = calloc(m + 1, 1);
	const char **paths = malloc((m + 1) * sizeof *paths);
	int rc = 0;

	if (same == NULL || stored == NULL || paths == NULL)
		rc = oom(err);
	for (size_t i = 0; rc == 0 && i < m; i++)
		paths[i] = dp_record_str(docs[i], "path");
	if (rc == 0 && p->db != NULL && p->have_documents && m > 0) {
		store_buf buf;
		store_buf_init(&buf, (size_t)64 << 20);
		store_value_text_array(&buf, paths, m);
		const char *vals[] = {(const char *)buf.data};
		int lens[] = {(int)buf.len}, fmts[] = {1};
		Oid types[] = {DP_OID_TEXT_ARRAY};
		PGresult *res = buf.overflow ? NULL : PQexecParams(p->db,
			"SELECT u.i, d.content_hash, d.fingerprint FROM unnest($1::text[])"
			" WITH ORDINALITY AS u(p, i) JOIN docpipe.documents d ON d.path = u.p",
			1, types, vals, lens, fmts, 0);
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
			dp_db_err(err, p->db, res, "documents lookup");
			rc = -1;
		}
		for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
			size_t i = (size_t)strtoull(PQgetvalue(res, r, 0), NULL, 10) - 1;
			const char *hash = dp_record_str(docs[i], "hash");
			char fp[DP_HASH_HEX];
			store_fingerprint(dp_record_str(docs[i], "chunker"), p->sum.identity,
					  dp_embedder_id(p->emb.embedder), dp_embedder_dim(p->emb.embedder), fp);
			stored[i] = 1;
			same[i] = hash != NULL && strcmp(hash, PQgetvalue(res, r, 1)) == 0 &&
				  strcmp(fp, PQgetvalue(res, r, 2)) == 0;
		}
		PQclear(res);
		store_buf_free(&buf);
	}
	for (size_t i = 0; rc == 0 && i < m; i++) {
		if (same[i])
			p->unchanged++;
		else if (stored[i])
			p->updated++;
		else
			p->added++;
	}
	free(same);
	free(stored);
	free(paths);
	return rc;
}

/* One chat request that the cache does not answer. */
static void count_chat(plan *p, const char *prompt, int guessed)
{
	plan_stage *st = &p->stage[PLAN_SUMMARIZE];

	st->requests++;
	st->inputs++;
	st->tokens += dp_tokens_estimate(prompt, strlen(prompt)) + SUMMARIZE_ANSWER_TOKENS;
	st->guessed += guessed != 0;
}

/* Looks prompts[0..n) up in the summary cache (when the run reads it) and
 * counts what is not there, a prompt the plan counted already once
 * (repeated: the run pays it once).  answers[i] (owned): the cached
 * answer, or null.  unknown: NULL when the prompts hold only summaries
 * known, else unknown[i] tells which summary not made yet prompt i holds
 * in the placeholder's place (two such prompts are one only when that
 * summary is the same); those are never cached.  Returns 0 or -1 with err. */
static int ask(plan *p, char *const *prompts, size_t n, const char (*unknown)[DP_HASH_HEX], jv *answers,
	       dp_err *err)
{
	char (*keys)[DP_HASH_HEX] = malloc((n + 1) * sizeof *keys);
	unsigned char *found = calloc(n + 1, 1);
	int rc = keys != NULL && found != NULL ? 0 : oom(err), cache = p->stage[PLAN_SUMMARIZE].cache;

	for (size_t i = 0; i < n; i++)
		answers[i] = jv_null();
	for (size_t i = 0; rc == 0 && cache && i < n; i++)
		dp_reuse_key("summary", p->sum.identity, unknown != NULL ? unknown[i] : "", prompts[i],
			     strlen(prompts[i]), keys[i]);
	if (rc == 0 && cache && unknown == NULL)
		rc = plan_cache_lookup(p->db, 1, (const char(*)[DP_HASH_HEX])keys, n, found, answers, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (found[i])
			p->stage[PLAN_SUMMARIZE].cached++;
		else if (cache && repeated_key(p, keys[i]))
			p->stage[PLAN_SUMMARIZE].repeated++;
		else
			count_chat(p, prompts[i], unknown != NULL);
	}
	free(keys);
	free(found);
	return rc;
}

/* Later rounds of one document's summary (its first round had np > 1
 * answers, consumed; unknown ones are null; ident: the document's summary
 * identity, doc_summaries').  *summary: the summary when every answer is
 * known, else an invalid jv.  Returns 0 or -1 with err. */
static int later_rounds(plan *p, const char *path, jv answers, const char ident[DP_HASH_HEX], jv *summary,
			dp_err *err)
{
	for (;;) {
		int guessed = 0, n = jv_array_length(jv_copy(answers));
		jv parts = jv_array();
		for (int i = 0; i < n; i++) {
			jv a = jv_array_get(jv_copy(answers), i);
			guessed |= jv_get_kind(a) != JV_KIND_STRING;
			parts = jv_array_append(parts, jv_get_kind(a) == JV_KIND_STRING ? a
						: (jv_free(a), jv_string(p->placeholder)));
		}
		jv_free(answers);
		size_t np;
		char **prompts = summarize_round_prompts(&p->sum, path, parts, &np, err);
		jv *got = prompts != NULL ? calloc(np + 1, sizeof *got) : NULL;
		char (*unknown)[DP_HASH_HEX] = prompts != NULL ? malloc((np + 1) * sizeof *unknown) : NULL;
		int rc = prompts == NULL ? -1 : got == NULL || unknown == NULL ? oom(err) : 0;
		for (size_t i = 0; rc == 0 && i < np; i++)
			memcpy(unknown[i], ident, DP_HASH_HEX);
		if (rc == 0)
			rc = ask(p, prompts, np, guessed ? (const char(*)[DP_HASH_HEX])unknown : NULL, got, err);
		summarize_prompts_free(prompts, np);
		free(unknown);
		if (rc < 0) {
			free(got);
			return -1;
		}
		answers = jv_array();
		for (size_t i = 0; i < np; i++)
			answers = jv_array_append(answers, got[i]);
		free(got);
		if (np <= 1) {
			jv a = np == 1 ? jv_array_get(jv_copy(answers), 0) : jv_string("");
			jv_free(answers);
			*summary = jv_get_kind(a) == JV_KIND_STRING ? a : (jv_free(a), jv_invalid());
			return 0;
		}
	}
}

/* The chunk texts of a document (rec borrowed, n chunks) as parts. */
static jv chunk_parts(jv rec, int n)
{
	jv parts = jv_array();

	for (int i = 0; i < n; i++) {
		int len;
		const char *t = dp_doc_chunk_text(rec, i, &len);
		parts = jv_array_append(parts, jv_string_sized(t, len));
	}
	return parts;
}

/* The document summaries of docs[0..m) (nchunks[i] each): first rounds
 * asked together, later rounds (long documents) one by one.  summaries[i]
 * (owned): the summary, or invalid when it is not made yet; idents[i]: its
 * identity, a hash of its first round's prompts (documents with the same
 * are given the same summary).  Returns 0 or -1 with err. */
static int doc_summaries(plan *p, jv *docs, const int *nchunks, size_t m, jv *summaries,
			 char (*idents)[DP_HASH_HEX], dp_err *err)
{
	char ***prompts = calloc(m + 1, sizeof *prompts), **all = NULL;
	size_t *np = calloc(m + 1, sizeof *np), total = 0;
	jv *answers = NULL;
	int rc = prompts != NULL && np != NULL ? 0 : oom(err);

	for (size_t d = 0; rc == 0 && d < m; d++) {
		const char *path = dp_record_str(docs[d], "path");
		prompts[d] = summarize_round_prompts(&p->sum, path != NULL ? path : "",
						     chunk_parts(docs[d], nchunks[d]), &np[d], err);
		rc = prompts[d] == NULL ? -1 : 0;
		dp_hasher h;
		dp_hasher_init(&h);
		for (size_t i = 0; rc == 0 && i < np[d]; i++)
			dp_hasher_add(&h, prompts[d][i], strlen(prompts[d][i]));
		dp_hasher_hex(&h, idents[d]);
		total += np[d];
	}
	if (rc == 0 && ((all = malloc((total + 1) * sizeof *all)) == NULL ||
			(answers = calloc(total + 1, sizeof *answers)) == NULL))
		rc = oom(err);
	for (size_t d = 0, k = 0; rc == 0 && d < m; d++)
		for (size_t i = 0; i < np[d]; i++)
			all[k++] = prompts[d][i];
	if (rc == 0)
		rc = ask(p, all, total, NULL, answers, err);
	for (size_t d = 0, k = 0; d < m; d++) {
		summaries[d] = jv_invalid();
		if (rc == 0 && np[d] == 0) {
			summaries[d] = jv_string("");
		} else if (rc == 0 && np[d] == 1) {
			summaries[d] = jv_get_kind(answers[k]) == JV_KIND_STRING ? jv_copy(answers[k])
										: jv_invalid();
		} else if (rc == 0) {
			jv round = jv_array();
			for (size_t i = 0; i < np[d]; i++)
				round = jv_array_append(round, jv_copy(answers[k + i]));
			const char *path = dp_record_str(docs[d], "path");
			rc = later_rounds(p, path != NULL ? path : "", round, idents[d], &summaries[d], err);
		}
		for (size_t i = 0; answers != NULL && i < np[d]; i++)
			jv_free(answers[k + i]);
		k += np[d];
		summarize_prompts_free(prompts[d], np[d]);
	}
	free(prompts);
	free(np);
	free(all);
	free(answers);
	return rc;
}

/* The chunk summaries of docs[0..m): their prompts hold the document's
 * summary, so a document whose summary is not made yet cannot have them
 * cached (its prompts use the placeholder, told apart by idents[d]).
 * Returns 0 or -1 with err. */
static int chunk_summaries(plan *p, jv *docs, const int *nchunks, size_t m, const jv *summaries,
			   const char (*idents)[DP_HASH_HEX], dp_err *err)
{
	int rc = 0;

	for (int guessed = 0; guessed <= 1 && rc == 0; guessed++) {
		size_t total = 0, k = 0;
		for (size_t d = 0; d < m; d++)
			if ((!jv_is_valid(summaries[d])) == guessed)
				total += (size_t)nchunks[d];
		char **prompts = calloc(total + 1, sizeof *prompts);
		jv *answers = calloc(total + 1, sizeof *answers);
		char (*unknown)[DP_HASH_HEX] = malloc((total + 1) * sizeof *unknown);
		if (prompts == NULL || answers == NULL || unknown == NULL)
			rc = oom(err);
		for (size_t d = 0; rc == 0 && d < m; d++) {
			if ((!jv_is_valid(summaries[d])) != guessed)
				continue;
			const char *sum = guessed ? p->placeholder : jv_string_value(summaries[d]);
			for (int i = 0; rc == 0 && i < nchunks[d]; i++) {
				memcpy(unknown[k], idents[d], DP_HASH_HEX);
				if ((prompts[k++] = summarize_make_chunk_prompt(&p->sum, docs[d], i, sum)) == NULL)
					rc = oom(err);
			}
		}
		if (rc == 0)
			rc = ask(p, prompts, total, guessed ? (const char(*)[DP_HASH_HEX])unknown : NULL, answers,
				 err);
		for (size_t i = 0; i < k; i++) {
			free(prompts[i]);
			if (rc == 0)
				jv_free(answers[i]);
		}
		free(prompts);
		free(answers);
		free(unknown);
	}
	return rc;
}

static int predict_summaries(plan *p, jv *docs, const int *nchunks, size_t m, dp_err *err)
{
	plan_stage *st = &p->stage[PLAN_SUMMARIZE];

	if (!st->remote) {
		st->inputs += m; /* the built-in summarizer: no requests */
		return 0;
	}
	jv *summaries = calloc(m + 1, sizeof *summaries);
	char (*idents)[DP_HASH_HEX] = malloc((m + 1) * sizeof *idents);
	if (summaries == NULL || idents == NULL) {
		free(summaries);
		free(idents);
		return oom(err);
	}
	int rc = doc_summaries(p, docs, nchunks, m, summaries, idents, err);
	if (rc == 0 && p->sum.chunk_summaries)
		rc = chunk_summaries(p, docs, nchunks, m, summaries, (const char(*)[DP_HASH_HEX])idents, err);
	for (size_t d = 0; d < m; d++)
		jv_free(summaries[d]);
	free(summaries);
	free(idents);
	return rc;
}

/* Adds one input of t tokens to the embedding requests as the stage
 * packs them when documents arrive faster than it sends (batch.h): in
 * order, up to --batch-inputs inputs and DP_EMBED_REQUEST_TOKENS_MAX
 * tokens per request. */
static void pack(plan *p, size_t t)
{
	size_t batch = (size_t)dp_embedder_batch_inputs(p->emb.embedder);

	if (p->pack_n == batch || (p->pack_n > 0 && p->pack_tokens + t > DP_EMBED_REQUEST_TOKENS_MAX)) {
		p->stage[PLAN_EMBED].requests++;
		p->pack_n = p->pack_tokens = 0;
	}
	p->pack_n++;
	p->pack_tokens += t;
}

static int predict_embeddings(plan *p, jv *docs, size_t m, dp_err *err)
{
	plan_stage *st = &p->stage[PLAN_EMBED];
	embed_doc *ed = calloc(m + 1, sizeof *ed);
	size_t total = 0, prepared = 0;
	int rc = ed != NULL ? 0 : oom(err);

	for (; rc == 0 && prepared < m; prepared++) {
		dp_err why;
		if (embed_doc_prepare(&p->emb, jv_copy(docs[prepared]), &ed[prepared], &why) < 0)
			ed[prepared].n = 0; /* the run fails it without a request */
		total += (size_t)ed[prepared].n;
	}
	char (*keys)[DP_HASH_HEX] = rc == 0 ? malloc((total + 1) * sizeof *keys) : NULL;
	unsigned char *found = rc == 0 ? calloc(total + 1, 1) : NULL;
	if (rc == 0 && (keys == NULL || found == NULL))
		rc = oom(err);
	if (rc == 0 && st->remote && st->cache) {
		size_t k = 0;
		for (size_t d = 0; d < m; d++)
			for (int i = 0; i < ed[d].n; i++)
				memcpy(keys[k++], ed[d].keys[i], DP_HASH_HEX);
		rc = plan_cache_lookup(p->db, 0, (const char(*)[DP_HASH_HEX])keys, total, found, NULL, err);
	}
	for (size_t d = 0, k = 0; rc == 0 && d < m; d++) {
		int missing = 0;
		for (int i = 0; i < ed[d].n; i++, k++) {
			if (!st->remote) {
				st->inputs++;
			} else if (found[k]) {
				st->cached++;
			} else if (st->cache && repeated_key(p, ed[d].keys[i])) {
				st->repeated++;
			} else {
				st->inputs++;
				st->tokens += ed[d].tokens[i];
				pack(p, ed[d].tokens[i]);
				missing = 1;
			}
		}
		p->emb_docs_missing += missing;
	}
	for (size_t d = 0; d < prepared; d++)
		embed_doc_free(&ed[d]);
	free(ed);
	free(keys);
	free(found);
	return rc;
}

/* Counts a failure (rec borrowed: an error record). */
static void add_failure(plan *p, jv rec)
{
	p->failed++;
	if (jv_array_length(jv_copy(p->failures)) >= PLAN_FAILURES_MAX)
		return;
	jv f = jv_object();
	const char *keys[] = {"path", "stage", "error"};
	for (size_t k = 0; k < 3; k++) {
		const char *v = dp_record_str(rec, keys[k]);
		f = jv_object_set(f, jv_string(keys[k]), v != NULL ? jv_string(v) : jv_null());
	}
	p->failures = jv_array_append(p->failures, f);
}

int plan_take(plan *p, jv *recs, size_t n, dp_err *err)
{
	jv *docs = malloc((n + 1) * sizeof *docs);
	int *nchunks = malloc((n + 1) * sizeof *nchunks);
	size_t m = 0;
	int rc = docs != NULL && nchunks != NULL ? 0 : oom(err);

	for (size_t i = 0; i < n; i++) {
		const char *kind = dp_record_kind(recs[i]);
		if (rc == 0)
			rc = remember_path(p, dp_record_str(recs[i], "path"), err);
		if (rc == 0 && kind != NULL && strcmp(kind, DP_KIND_ERROR) == 0) {
			add_failure(p, recs[i]);
		} else if (rc == 0 && kind != NULL && strcmp(kind, DP_KIND_DOCUMENT) == 0) {
			dp_err why;
			nchunks[m] = dp_doc_check_chunks(recs[i], &why);
			if (nchunks[m] < 0) {
				jv e = dp_record_error(jv_copy(recs[i]), "summarize", why.msg);
				add_failure(p, e);
				jv_free(e);
			} else {
				p->chunks += (unsigned long long)nchunks[m];
				docs[m++] = recs[i];
				continue;
			}
		}
		jv_free(recs[i]);
	}
	p->seen += n;
	if (rc == 0)
		rc = classify(p, docs, m, err);
	if (rc == 0)
		rc = predict_summaries(p, docs, nchunks, m, err);
	if (rc == 0)
		rc = predict_embeddings(p, docs, m, err);
	for (size_t i = 0; i < m; i++)
		jv_free(docs[i]);
	free(docs);
	free(nchunks);
	return rc;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether path is under (or is) one of the roots that empty[] marks (an
 * empty directory, looked at once per root). */
static int under_empty_root(const char *path, const plan_opts *o, const char *empty)
{
	for (size_t i = 0; i < o->nroots; i++) {
		size_t len = strlen(o->roots[i]);
		while (len > 0 && o->roots[i][len - 1] == '/')
			len--;
		if (empty[i] && strncmp(path, o->roots[i], len) == 0 &&
		    (path[len] == '\0' || path[len] == '/'))
			return 1;
	}
	return 0;
}

/* Documents stored under the roots whose path the plan did not see and
 * that the run's sweep deletes: those whose files are gone (all of them
 * with --delete-excluded), none under a root that is an empty directory
 * (dp_path_still_there, dp_path_empty_directory: the sweep's rules).
 * Before, a plan with a narrower --glob counted every stored document it
 * left out as gone, which the run keeps. */
static int count_gone(plan *p, const plan_opts *o, dp_err *err)
{
	if (p->db == NULL || !p->have_documents)
		return 0;
	if (p->npaths > 0) /* paths is NULL when none: qsort and bsearch must not see it */
		qsort(p->paths, p->npaths, sizeof *p->paths, by_string);
	store_buf buf;
	store_buf_init(&buf, (size_t)1 << 20);
	store_value_text_array(&buf, (const char *const *)o->roots, o->nroots);
	const char *vals[] = {(const char *)buf.data};
	int lens[] = {(int)buf.len}, fmts[] = {1};
	Oid types[] = {DP_OID_TEXT_ARRAY};
	/* The sweep's root rule (src/store/sweep.c). */
	PGresult *res = buf.overflow ? NULL : PQexecParams(p->db,
		"SELECT d.path FROM docpipe.documents d WHERE EXISTS (SELECT 1 FROM unnest($1::text[])"
		" AS r(root) WHERE d.root = r.root OR starts_with(d.path, rtrim(r.root, '/') || '/'))",
		1, types, vals, lens, fmts, 0);
	char *empty = calloc(o->nroots > 0 ? o->nroots : 1, 1);
	int rc = 0;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		dp_db_err(err, p->db, res, "documents under the roots");
		rc = -1;
	} else if (empty == NULL) {
		dp_err_set(err, "out of memory");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < o->nroots; i++)
		empty[i] = (char)dp_path_empty_directory(o->roots[i]);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		const char *path = PQgetvalue(res, r, 0);
		int seen = p->npaths > 0 &&
			   bsearch(&path, p->paths, p->npaths, sizeof *p->paths, by_string) != NULL;
		p->gone += !seen &&
			   (o->delete_excluded || !dp_path_still_there(path, o->roots, o->nroots)) &&
			   !under_empty_root(path, o, empty);
	}
	free(empty);
	PQclear(res);
	store_buf_free(&buf);
	return rc;
}

int plan_finish(plan *p, const plan_opts *o, dp_err *err)
{
	plan_stage *e = &p->stage[PLAN_EMBED];

	if (p->pack_n > 0)
		e->requests++;
	p->pack_n = p->pack_tokens = 0;
	/* At most: every request full (--batch-inputs) but one partial request
	 * per document with inputs to send (the stage sends what it holds when
	 * input pauses), and never more than one per input.  With more than one
	 * request in flight (--threads N > 1 or auto), what it holds when input
	 * pauses is shared out among them (batch.h): only the last bound holds. */
	if (e->remote) {
		unsigned long long batch = (unsigned long long)dp_embedder_batch_inputs(p->emb.embedder);
		unsigned long long sent = e->inputs + e->repeated; /* copies raced past the registry */
		unsigned long long most = sent / batch + p->emb_docs_missing;
		if (p->emb_api.threads != 1)
			most = sent;
		e->requests_max = most < sent ? most : sent;
		if (e->requests_max < e->requests)
			e->requests_max = e->requests;
	}
	p->stage[PLAN_SUMMARIZE].requests_max =
		p->stage[PLAN_SUMMARIZE].requests + p->stage[PLAN_SUMMARIZE].repeated;
	return count_gone(p, o, err);
}
