#include "doc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docrec.h"
#include "embedder.h"
#include "jscan.h"
#include "record.h"
#include "stats.h"
#include "vec.h"

/* A field that must be present: dp_record_get_* returned got (0: absent). */
static int required(int got, const char *what, dp_err *err)
{
	if (got == 0)
		dp_err_set(err, "%s is missing", what);
	return got == 1 ? 0 : -1;
}

void store_fingerprint(const char *chunker, const char *summarizer, const char *embedder,
		       int dim, char out[DP_HASH_HEX])
{
	const char *parts[] = {chunker, summarizer, embedder};
	char dims[16];
	dp_hasher h;

	dp_hasher_init(&h);
	/* Absent and empty differ: each part is a presence byte, then the
	 * text when present. */
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		dp_hasher_add(&h, parts[i] != NULL ? "\1" : "\0", 1);
		if (parts[i] != NULL)
			dp_hasher_add(&h, parts[i], strlen(parts[i]));
	}
	snprintf(dims, sizeof dims, "%d", dim);
	dp_hasher_add(&h, dims, strlen(dims));
	dp_hasher_hex(&h, out);
}

static int heading_ok(jv heading)
{
	if (jv_get_kind(heading) != JV_KIND_ARRAY)
		return 0;
	int n = jv_array_length(jv_copy(heading));
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(heading), i);
		int ok = jv_get_kind(s) == JV_KIND_STRING &&
			 memchr(jv_string_value(s), 0, (size_t)jv_string_length_bytes(jv_copy(s))) == NULL;
		jv_free(s);
		if (!ok)
			return 0;
	}
	return 1;
}

/* Reads the optional integer fields of a chunk into c; -1 where absent. */
static int parse_provenance(jv chunk, store_chunk *c, dp_err *err)
{
	static const char *const names[] = {"line_start", "line_end", "page_start", "page_end"};
	int *lines[] = {&c->line_start, &c->line_end, &c->page_start, &c->page_end};
	long long n;

	c->byte_start = c->byte_end = -1;
	if (dp_record_get_int(chunk, "start", 0, 1LL << 53, &c->byte_start, err) < 0 ||
	    dp_record_get_int(chunk, "end", 0, 1LL << 53, &c->byte_end, err) < 0)
		return -1;
	if (c->byte_start >= 0 && c->byte_end >= 0 && c->byte_end < c->byte_start) {
		dp_err_set(err, "\"end\" is before \"start\"");
		return -1;
	}
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		int got = dp_record_get_int(chunk, names[k], 1, INT32_MAX, &n, err);
		if (got < 0)
			return -1;
		*lines[k] = got == 1 ? (int)n : -1;
	}
	return 0;
}

/* Reads the fields of a chunk other than its vector.  Returns 0, or -1
 * with err (without the chunk's name). */
static int parse_chunk_fields(jv chunk, int prev_seq, store_chunk *c, dp_err *err)
{
	long long n;

	if (required(dp_record_get_int(chunk, "seq", prev_seq + 1LL, STORE_MAX_CHUNKS * 16LL, &n, err),
		     "\"seq\"", err) < 0) {
		dp_err_set(err, "\"seq\" must be a whole number greater than the previous chunk's");
		return -1;
	}
	c->seq = (int)n;
	if (required(dp_record_get_str(chunk, "text", SIZE_MAX, &c->text, &c->text_len, err), "\"text\"", err) < 0 ||
	    dp_record_get_str(chunk, "summary", SIZE_MAX, &c->summary, &c->summary_len, err) < 0)
		return -1;
	jv heading = jv_object_get(jv_copy(chunk), jv_string("heading"));
	if (!jv_is_valid(heading) || jv_get_kind(heading) == JV_KIND_NULL) {
		jv_free(heading);
		c->heading = jv_null();
	} else if (!heading_ok(heading)) {
		jv_free(heading);
		dp_err_set(err, "\"heading\" must be an array of strings");
		return -1;
	} else {
		/* Borrowed like the strings: the record still holds the array. */
		c->heading = heading;
		jv_free(heading);
	}
	c->tokens = -1;
	int got = dp_record_get_int(chunk, "tokens", 0, INT32_MAX, &n, err);
	if (got < 0)
		return -1;
	if (got == 1)
		c->tokens = (int)n;
	return parse_provenance(chunk, c, err);
}

/* The chunk's vector into v (dim floats): decoded from its "vec", or with
 * pre (store_doc_parse_text's), chunk i's, already there.  c->vec is v,
 * or NULL for an all-zero vector.  Returns 0 or -1 with err. */
static int parse_chunk_vec(const store_doc *doc, jv chunk, const store_vecs *pre, size_t i, float *v,
			   store_chunk *c, dp_err *err)
{
	jv vec = pre != NULL ? jv_null() : jv_object_get(jv_copy(chunk), jv_string("vec"));
	int has_vec = pre != NULL ? pre->has[i] : jv_is_valid(vec) && jv_get_kind(vec) != JV_KIND_NULL;
	int rc = 0;

	c->vec = NULL;
	if (doc->dim == 0 || !has_vec) {
		jv_free(vec);
		if (doc->dim == 0 && has_vec)
			dp_err_set(err, "has a vector but the document names no \"embedder\" and \"dim\"");
		else if (doc->dim > 0)
			dp_err_set(err, "has no vector although the document was embedded (%s)", doc->embedder);
		return doc->dim == 0 && !has_vec ? 0 : -1;
	}
	/* Refuses a value that is not a finite number too. */
	if (pre == NULL)
		rc = dp_vec_decode(vec, v, (size_t)doc->dim, err);
	else if (i == pre->bad)
		rc = -1, *err = pre->bad_err;
	jv_free(vec);
	if (rc < 0)
		return -1;
	int zero = 1;
	for (int k = 0; k < doc->dim; k++)
		zero = zero && v[k] == 0.0f;
	c->vec = zero ? NULL : v;
	return 0;
}

/* Validates chunk i of the document and fills c.  Returns 0, or -1 with
 * err naming the chunk. */
static int parse_chunk(store_doc *doc, jv chunk, const store_vecs *pre, size_t i, int prev_seq,
		       store_chunk *c, dp_err *err)
{
	dp_err why;

	if (jv_get_kind(chunk) != JV_KIND_OBJECT) {
		dp_err_set(err, "chunk %zu is not an object", i);
		return -1;
	}
	if (parse_chunk_fields(chunk, prev_seq, c, &why) < 0 ||
	    parse_chunk_vec(doc, chunk, pre, i, doc->vecs + i * (size_t)doc->dim, c, &why) < 0) {
		if (c->seq > prev_seq)
			dp_err_set(err, "chunk %d: %s", c->seq, why.msg);
		else
			dp_err_set(err, "chunk %zu: %s", i, why.msg);
		return -1;
	}
	return 0;
}

/* The "path" of rec (borrowed; what: "document" or "delete record", for
 * the message), or NULL with err: absent, not a string, empty, or longer
 * than the store keeps. */
static const char *record_path(jv rec, const char *what, dp_err *err)
{
	const char *path;
	size_t len;

	if (dp_record_get_str(rec, "path", SIZE_MAX, &path, &len, err) != 1 || len == 0) {
		dp_err_set(err, "%s has no \"path\" string", what);
		return NULL;
	}
	if (len > STORE_MAX_PATH) {
		dp_err_set(err, "its path has %zu bytes: the store keeps paths of at most %d"
			   " (PostgreSQL's limit on an index entry)", len, STORE_MAX_PATH);
		return NULL;
	}
	return path;
}

/* The range of "mtime" (seconds since 1970) that PostgreSQL's timestamptz
 * holds: 4713 BC to 294276 AD. */
#define STORE_MTIME_MIN (-210866803200.0)
#define STORE_MTIME_MAX 9224318015999.0

/* Reads "size" and "mtime" (each optional): numbers the documents table
 * holds, else -1 with err naming the field (PostgreSQL's "bigint out of
 * range" or "timestamp out of range" named none). */
static int parse_size_mtime(store_doc *doc, jv rec, dp_err *err)
{
	doc->has_size = dp_record_num(rec, "size", &doc->size) == 0;
	doc->has_mtime = dp_record_num(rec, "mtime", &doc->mtime) == 0;
	if (doc->has_size && !(doc->size >= 0 && doc->size <= 9007199254740992.0 && doc->size == floor(doc->size))) {
		dp_err_set(err, "\"size\" must be a whole number of bytes from 0 to 2^53, not %g", doc->size);
		return -1;
	}
	if (doc->has_mtime && !(doc->mtime >= STORE_MTIME_MIN && doc->mtime <= STORE_MTIME_MAX)) {
		dp_err_set(err, "\"mtime\" must be seconds since 1970 within PostgreSQL's timestamps"
			   " (4713 BC to 294276 AD), not %g", doc->mtime);
		return -1;
	}
	return 0;
}

/* Reads the document's own fields (all but its chunks). */
static int parse_doc_fields(store_doc *doc, jv rec, dp_err *err)
{
	long long n;

	if ((doc->path = record_path(rec, "document", err)) == NULL)
		return -1;
	if (dp_record_get_str(rec, "root", STORE_MAX_PATH, &doc->root, NULL, err) < 0 ||
	    dp_record_get_str(rec, "hash", STORE_MAX_IDENTITY, &doc->hash, NULL, err) < 0 ||
	    dp_record_get_str(rec, "summary", SIZE_MAX, &doc->summary, NULL, err) < 0 ||
	    dp_record_get_str(rec, "summarizer", STORE_MAX_IDENTITY, &doc->summarizer, NULL, err) < 0 ||
	    dp_record_get_str(rec, "chunker", STORE_MAX_IDENTITY, &doc->chunker, NULL, err) < 0 ||
	    dp_record_get_str(rec, "embedder", STORE_MAX_IDENTITY, &doc->embedder, NULL, err) < 0)
		return -1;
	if (parse_size_mtime(doc, rec, err) < 0)
		return -1;
	int got = dp_record_get_int(rec, "dim", 1, DP_EMBED_DIM_MAX, &n, err);
	if (got < 0)
		return -1;
	doc->dim = got == 1 ? (int)n : 0;
	if ((doc->dim > 0) != (doc->embedder != NULL)) {
		dp_err_set(err, "\"embedder\" and \"dim\" must be given together");
		return -1;
	}
	jv meta = jv_object_get(jv_copy(rec), jv_string("meta"));
	if (jv_is_valid(meta) && jv_get_kind(meta) != JV_KIND_NULL && jv_get_kind(meta) != JV_KIND_OBJECT) {
		jv_free(meta);
		dp_err_set(err, "\"meta\" must be an object");
		return -1;
	}
	if (jv_get_kind(meta) == JV_KIND_OBJECT && dp_doc_holds_nul(meta)) {
		jv_free(meta);
		dp_err_set(err, "\"meta\" holds a U+0000 character, which PostgreSQL's jsonb cannot store");
		return -1;
	}
	doc->meta = jv_is_valid(meta) ? meta : (jv_free(meta), jv_null());
	store_fingerprint(doc->chunker, doc->summarizer, doc->embedder, doc->dim, doc->fingerprint);
	return 0;
}

/* pre: the record's vectors, decoded from its text (store_doc_parse_text;
 * their floats taken), or NULL: they are in the record. */
static int parse_document(store_item *item, store_vecs *pre, dp_err *err)
{
	store_doc *doc = &item->doc;

	if (parse_doc_fields(doc, item->rec, err) < 0)
		return -1;
	jv chunks = jv_object_get(jv_copy(item->rec), jv_string("chunks"));
	if (jv_get_kind(chunks) != JV_KIND_ARRAY) {
		jv_free(chunks);
		dp_err_set(err, "document has no \"chunks\" array");
		return -1;
	}
	doc->nchunks = (size_t)jv_array_length(jv_copy(chunks));
	if (doc->nchunks > STORE_MAX_CHUNKS) {
		jv_free(chunks);
		dp_err_set(err, "document has %zu chunks; at most %d are stored", doc->nchunks,
			   STORE_MAX_CHUNKS);
		return -1;
	}
	if (pre != NULL && (pre->nchunks != doc->nchunks || pre->dim != doc->dim)) {
		/* Not met: the text pass read the same members (jscan.h). */
		jv_free(chunks);
		dp_err_set(err, "vectors of %zu chunks at %d dimensions for %zu chunks at %d",
			   pre->nchunks, pre->dim, doc->nchunks, doc->dim);
		return -1;
	}
	doc->chunks = calloc(doc->nchunks > 0 ? doc->nchunks : 1, sizeof *doc->chunks);
	if (pre != NULL)
		doc->vecs = pre->v, pre->v = NULL;
	else if (doc->dim > 0 && doc->nchunks > 0)
		doc->vecs = malloc(doc->nchunks * (size_t)doc->dim * sizeof *doc->vecs);
	if (doc->chunks == NULL || (doc->dim > 0 && doc->nchunks > 0 && doc->vecs == NULL)) {
		jv_free(chunks);
		dp_err_set(err, "out of memory");
		return -1;
	}
	/* Each chunk's vector text is dropped once decoded (it is a third
	 * larger than the floats, and a batch holds 20k chunks): the chunks
	 * leave the record so that each is the only reference to itself and
	 * loses "vec" in place, then go back, still lending their strings. */
	item->rec = jv_object_delete(item->rec, jv_string("chunks"));
	int prev_seq = -1, rc = 0;
	for (size_t i = 0; i < doc->nchunks && rc == 0; i++) {
		jv chunk = jv_array_get(jv_copy(chunks), (int)i);
		chunks = jv_array_set(chunks, (int)i, jv_null());
		rc = parse_chunk(doc, chunk, pre, i, prev_seq, &doc->chunks[i], err);
		if (jv_get_kind(chunk) == JV_KIND_OBJECT)
			chunk = jv_object_delete(chunk, jv_string("vec"));
		chunks = jv_array_set(chunks, (int)i, chunk);
		prev_seq = doc->chunks[i].seq;
	}
	item->rec = jv_object_set(item->rec, jv_string("chunks"), chunks);
	return rc;
}

static void doc_clear(store_doc *doc)
{
	jv_free(doc->meta);
	free(doc->chunks);
	free(doc->vecs);
	dp_buf_free(&doc->tsv);
	memset(doc, 0, sizeof *doc);
	doc->meta = jv_null();
}

void store_vecs_clear(store_vecs *vecs)
{
	free(vecs->v);
	free(vecs->has);
	memset(vecs, 0, sizeof *vecs);
}

/* A UTF-16 surrogate's \u escape (\uD800-\uDFFF) in the JSON text:
 * dp_jscan_parse leaves such text to jq, which may refuse it. */
static int has_surrogate_escape(const char *text, size_t len)
{
	for (const char *u = text; (u = memchr(u, '\\', (size_t)(text + len - u))) != NULL; u += 2) {
		int x = u[1] == 'u' && (u[2] | 0x20) == 'd' ? u[3] | 0x20 : 0;
		if (x >= '8' && (x <= '9' || (x >= 'a' && x <= 'f')))
			return 1;
	}
	return 0;
}

/* The text pass's checks, nothing written: the text is a document record
 * whose parse cannot fail, dp_record_parse's checks met (RFC 8259 JSON as
 * the scan reads it, dp_record_text_ok's, no surrogate's escape, version
 * and kind), with "dim" a whole number in range and "chunks" an array.
 * Sets *chunks and *dim.  0, or -1: not such a record. */
static int text_pass_takes(const char *text, size_t len, dp_jspan *chunks, int *dim)
{
	static const char *const keys[] = {"\"kind\"", "\"dim\"", "\"chunks\"", "\"v\""};
	dp_jspan vals[4] = {{NULL, 0}}, k, v;
	dp_jscan it;
	dp_err err;
	double d, version;
	int rc;

	/* A record without the bytes "dim" (no vectors, or a key written
	 * with an escape) is parsed as usual at the cost of this look. */
	if (memmem(text, len, "\"dim\"", 5) == NULL || dp_jscan_open(&it, (dp_jspan){text, len}) < 0 ||
	    it.close != '}')
		return -1;
	/* The members' values are checked as they are skipped: the text whole
	 * in one pass, the last of a repeated key kept (as jq keeps it). */
	while ((rc = dp_jscan_next(&it, &k, &v)) == 1)
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (dp_jscan_key_eq(k, dp_jspan_of(keys[i])))
				vals[i] = v;
	if (rc < 0 || !dp_jscan_blank(text, len, it.at + 1))
		return -1;
	if (vals[0].p == NULL || vals[0].p[0] != '"' ||
	    !dp_jscan_key_eq(vals[0], dp_jspan_of("\"" DP_KIND_DOCUMENT "\"")) ||
	    vals[1].p == NULL || dp_jscan_number(vals[1], &d) < 0 ||
	    !(d == floor(d) && d >= 1 && d <= DP_EMBED_DIM_MAX) ||
	    (vals[3].p != NULL && (dp_jscan_number(vals[3], &version) < 0 || version != DP_PROTOCOL_VERSION)) ||
	    vals[2].p == NULL || vals[2].p[0] != '[' || dp_record_text_ok(text, len, &err) < 0 ||
	    has_surrogate_escape(text, len))
		return -1;
	*chunks = vals[2];
	*dim = (int)d;
	return 0;
}

/* Makes room in vecs for chunk i, *cap chunks allocated (0: none yet):
 * at first for as many chunks as the text can hold with a vector each
 * (len bytes: the pages are taken as they are written), twice as many
 * when more come without.  0, or -1: out of memory. */
static int vecs_room(store_vecs *vecs, size_t i, size_t len, size_t *cap)
{
	if (i < *cap)
		return 0;
	size_t more = *cap > 0 ? *cap * 2 : len / dp_vec_encoded_len((size_t)vecs->dim) + 1;
	float *v = realloc(vecs->v, more * (size_t)vecs->dim * sizeof *v);
	unsigned char *has = v != NULL ? realloc(vecs->has, more) : NULL;

	if (v != NULL)
		vecs->v = v;
	if (has == NULL)
		return -1;
	vecs->has = has;
	*cap = more;
	return 0;
}

/* Chunk i's vector, the value v of its last "vec" member, into vecs:
 * decoded where it lies when it is a string without escapes (base64 has
 * none), else as jq's parse of it reads (the same outcome as the whole
 * record's parse: store_item_init).  null: no vector. */
static void take_vec(store_vecs *vecs, size_t i, dp_jspan v)
{
	float *out = vecs->v + i * (size_t)vecs->dim;
	dp_err err;
	int rc;

	vecs->has[i] = !(v.n == 4 && memcmp(v.p, "null", 4) == 0);
	if (!vecs->has[i])
		return;
	if (v.p[0] == '"' && memchr(v.p, '\\', v.n) == NULL) {
		rc = dp_vec_decode_text(v.p + 1, v.n - 2, out, (size_t)vecs->dim, &err);
	} else {
		jv val = dp_jscan_parse(v.p, v.n);
		rc = dp_vec_decode(val, out, (size_t)vecs->dim, &err);
		jv_free(val);
	}
	if (rc < 0 && vecs->bad == SIZE_MAX)
		vecs->bad = i, vecs->bad_err = err;
}

jv store_doc_parse_text(char *text, size_t len, store_vecs *vecs)
{
	dp_jspan chunks, c, none, k, v, last;
	dp_jscan it, cit;
	dp_buf rest;
	dp_err err;
	size_t i = 0, cap = 0, copied = 0, done = 0;
	int dim, nomem;

	store_vecs_clear(vecs);
	if (text_pass_takes(text, len, &chunks, &dim) < 0)
		return jv_invalid();
	vecs->dim = dim;
	vecs->bad = SIZE_MAX;
	/* The record's text without its vectors, shorter than the text: its
	 * pages too are taken as they are written. */
	dp_buf_init(&rest, len);
	if (vecs_room(vecs, 0, len, &cap) < 0 || dp_buf_reserve(&rest, len) < 0) {
		dp_buf_free(&rest);
		store_vecs_clear(vecs);
		return jv_invalid();
	}
	/* From here the text is given back as it is read: no way back to
	 * dp_record_parse, nor any need (text_pass_takes). */
	dp_jscan_open(&it, chunks);
	while (!(nomem = vecs_room(vecs, i, len, &cap) < 0) && dp_jscan_next(&it, &none, &c) == 1) {
		vecs->has[i] = 0;
		last = (dp_jspan){NULL, 0};
		/* Every "vec" member's value longer than null is null in the
		 * record, a shorter one (a number such as 5, "", []) kept, so
		 * that rest is never longer than the text (the last "vec" is
		 * chunk i's vector, read from the text; store_item_init drops
		 * the record's); a chunk that is no object is copied as it is
		 * (store_item_init refuses it). */
		if (dp_jscan_open(&cit, c) == 0 && cit.close == '}')
			while (dp_jscan_next(&cit, &k, &v) == 1)
				if (dp_jscan_key_eq(k, dp_jspan_of("\"vec\""))) {
					last = v;
					if (v.n <= 4)
						continue;
					dp_buf_append(&rest, text + copied, (size_t)(v.p - (text + copied)));
					dp_buf_append(&rest, "null", 4);
					copied = (size_t)(v.p + v.n - text);
				}
		if (last.p != NULL)
			take_vec(vecs, i, last);
		dp_jspan_give_back((dp_jspan){text, len}, copied, &done);
		i++;
	}
	vecs->nchunks = i;
	/* The floats were sized for as many chunks as the text could hold
	 * (vecs_room): what the chunks do not take goes back (a chunk's text
	 * of 1.6 KB beside its vector: a fifth more than the item holds). */
	float *fit = i > 0 && i < cap ? realloc(vecs->v, i * (size_t)dim * sizeof *fit) : NULL;
	if (fit != NULL)
		vecs->v = fit;
	if (vecs->bad == SIZE_MAX)
		vecs->bad = i;
	dp_buf_append(&rest, text + copied, len - copied);
	jv rec = jv_invalid();
	if (nomem || rest.overflow)
		dp_err_set(&err, "out of memory");
	else
		rec = dp_record_parse(rest.data, rest.len, &err);
	dp_buf_free(&rest);
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		store_vecs_clear(vecs);
		return dp_record_error(jv_null(), dp_stage(), err.msg);
	}
	return rec;
}

/* An outcome another stage decided (an error or a skip record): its
 * receipt gets status, the record's stage and its why_key field (else
 * why_default).  rec is borrowed. */
static void upstream_outcome(store_item *item, jv rec, const char *status, const char *why_key,
			     const char *why_default)
{
	const char *stage = dp_record_str(rec, "stage");
	const char *why = dp_record_str(rec, why_key);

	item->kind = STORE_ITEM_FAILED;
	item->status = status;
	item->fail_stage = stage != NULL ? stage : "unknown";
	snprintf(item->reason, sizeof item->reason, "%s", why != NULL ? why : why_default);
}

/* A failed item's record without its chunks: its rows and receipt are
 * made of the record's other fields, and the chunks (texts, and the whole
 * parse's vectors past a chunk refused) would be held for nothing and
 * uncounted (store_item_held_bytes). */
static void drop_chunks(store_item *item)
{
	if (jv_get_kind(item->rec) == JV_KIND_OBJECT)
		item->rec = jv_object_delete(item->rec, jv_string("chunks"));
}

void store_item_init(store_item *item, jv rec)
{
	store_item_init_vecs(item, rec, NULL);
}

void store_item_init_vecs(store_item *item, jv rec, store_vecs *vecs)
{
	const char *kind = dp_record_kind(rec);
	dp_err err;

	memset(item, 0, sizeof *item);
	item->rec = rec;
	/* Listed to the hub as held while the store waits on its database. */
	item->held = dp_stats_hold(rec);
	item->doc.meta = jv_null();
	item->chunks = -1;
	if (kind == NULL) {
		item->kind = STORE_ITEM_FAILED;
		store_item_fail(item, "record has no \"kind\"");
	} else if (strcmp(kind, DP_KIND_DOCUMENT) == 0) {
		item->kind = STORE_ITEM_DOCUMENT;
		if (parse_document(item, vecs, &err) < 0)
			store_item_refuse(item, err.msg);
	} else if (strcmp(kind, DP_KIND_DELETE) == 0) {
		item->kind = STORE_ITEM_DELETE;
		if (record_path(rec, "delete record", &err) == NULL) {
			item->kind = STORE_ITEM_FAILED;
			store_item_fail(item, err.msg);
		}
	} else if (strcmp(kind, DP_KIND_ERROR) == 0) {
		upstream_outcome(item, rec, "failed", "error", "unknown error");
	} else if (strcmp(kind, DP_KIND_FILE) == 0) {
		/* A file record names a document that skipped chunking: report it,
		 * so every discovered file appears in the receipts. */
		item->kind = STORE_ITEM_FAILED;
		store_item_fail(item, "a file record reached the store without being chunked");
	} else if (strcmp(kind, DP_KIND_SKIP) == 0) {
		/* A name discover did not take: its receipt says so, with why. */
		upstream_outcome(item, rec, "skipped", "reason", "skipped");
	} else if (strcmp(kind, DP_KIND_END) == 0 || strcmp(kind, DP_KIND_RECEIPT) == 0 ||
		   strcmp(kind, "stats") == 0) {
		/* Known kinds that are no document: passed on as they came. */
		item->kind = STORE_ITEM_PASS;
	} else {
		/* Every record gets an outcome: one of a kind nobody knows would
		 * otherwise vanish from the run's counts. */
		char why[DP_ERR_MAX];
		snprintf(why, sizeof why, "unknown record kind \"%.64s\"", kind);
		item->kind = STORE_ITEM_FAILED;
		store_item_fail(item, why);
	}
	if (item->kind == STORE_ITEM_FAILED)
		drop_chunks(item);
	if (vecs != NULL)
		store_vecs_clear(vecs);
}

void store_item_clear(store_item *item)
{
	dp_stats_release(item->held);
	item->held = -1;
	doc_clear(&item->doc);
	/* Last: the borrowed strings of doc pointed into it. */
	jv_free(item->rec);
	item->rec = jv_null();
}

void store_item_fail(store_item *item, const char *reason)
{
	item->status = "failed";
	item->fail_stage = dp_stage();
	item->id = 0;
	item->created = 0;
	item->chunks = -1;
	snprintf(item->reason, sizeof item->reason, "%s", reason);
}

void store_item_refuse(store_item *item, const char *reason)
{
	doc_clear(&item->doc);
	item->kind = STORE_ITEM_FAILED;
	store_item_fail(item, reason);
	drop_chunks(item);
}

void store_item_supersede(store_item *item)
{
	item->status = "skipped";
	item->fail_stage = dp_stage();
	item->id = 0;
	item->created = 0;
	item->chunks = -1;
	snprintf(item->reason, sizeof item->reason, "%s",
		 "superseded: a later version of this path from the same hub or watcher was stored or deleted");
}

void store_item_reset(store_item *item)
{
	if (item->kind != STORE_ITEM_DOCUMENT && item->kind != STORE_ITEM_DELETE)
		return; /* failed items keep their reason: it came with the record */
	item->status = NULL;
	item->id = 0;
	item->created = 0;
	item->chunks = -1;
	item->reason[0] = '\0';
}

size_t store_item_held_bytes(const store_item *item)
{
	const store_doc *d = &item->doc;
	size_t bytes = 0;

	if (item->kind != STORE_ITEM_DOCUMENT)
		return 0;
	for (size_t i = 0; i < d->nchunks; i++)
		bytes += d->chunks[i].text_len + d->chunks[i].summary_len;
	return bytes + d->nchunks * (STORE_CHUNK_HELD_BYTES + (size_t)d->dim * sizeof(float));
}

jv store_item_receipt(const store_item *item)
{
	static const char *const carried[] = {"run", "seq"};

	if (item->kind == STORE_ITEM_PASS)
		return jv_copy(item->rec);
	jv r = jv_object();
	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string(DP_KIND_RECEIPT));
	jv path = jv_object_get(jv_copy(item->rec), jv_string("path"));
	r = jv_object_set(r, jv_string("path"), jv_get_kind(path) == JV_KIND_STRING ? path
									 : (jv_free(path), jv_null()));
	r = jv_object_set(r, jv_string("status"), jv_string(item->status != NULL ? item->status : "failed"));
	if (item->chunks >= 0)
		r = jv_object_set(r, jv_string("chunks"), jv_number((double)item->chunks));
	if (item->id > 0)
		r = jv_object_set(r, jv_string("id"), jv_number((double)item->id));
	if (item->status != NULL && strcmp(item->status, "stored") == 0)
		r = jv_object_set(r, jv_string("created"), jv_bool(item->created));
	if (item->status == NULL || strcmp(item->status, "failed") == 0) {
		r = jv_object_set(r, jv_string("stage"), jv_string(item->fail_stage != NULL ? item->fail_stage : dp_stage()));
		r = jv_object_set(r, jv_string("error"), jv_string(item->reason[0] != '\0' ? item->reason : "not written"));
	}
	if (item->status != NULL && strcmp(item->status, "skipped") == 0) {
		r = jv_object_set(r, jv_string("stage"), jv_string(item->fail_stage));
		r = jv_object_set(r, jv_string("reason"), jv_string(item->reason));
	}
	for (size_t i = 0; i < sizeof carried / sizeof carried[0]; i++) {
		jv val = jv_object_get(jv_copy(item->rec), jv_string(carried[i]));
		if (jv_is_valid(val))
			r = jv_object_set(r, jv_string(carried[i]), val);
		else
			jv_free(val);
	}
	return r;
}
