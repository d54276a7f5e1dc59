#include "doc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedder.h"
#include "record.h"
#include "vec.h"

/* Borrowed string field of obj (see dp_record_str: the storage is shared
 * with obj, which keeps it alive). */
static const char *str_field(jv obj, const char *key, size_t *len)
{
	jv val = jv_object_get(jv_copy(obj), jv_string(key));
	const char *s = NULL;

	if (jv_get_kind(val) == JV_KIND_STRING) {
		s = jv_string_value(val);
		if (len != NULL)
			*len = (size_t)jv_string_length_bytes(jv_copy(val));
	}
	jv_free(val);
	return s;
}

static int has_field(jv obj, const char *key)
{
	jv val = jv_object_get(jv_copy(obj), jv_string(key));
	int has = jv_is_valid(val) && jv_get_kind(val) != JV_KIND_NULL;

	jv_free(val);
	return has;
}

static int int_value(jv v, long min, long max, long *out)
{
	if (jv_get_kind(v) != JV_KIND_NUMBER)
		return -1;
	double d = jv_number_value(v);
	if (d != floor(d) || d < (double)min || d > (double)max)
		return -1;
	*out = (long)d;
	return 0;
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

/* Validates chunk i of the document and fills c.  Returns 0, or -1 with
 * err naming the chunk. */
static int parse_chunk(store_doc *doc, jv chunk, size_t i, int prev_seq, store_chunk *c,
		       dp_err *err)
{
	long n;

	if (jv_get_kind(chunk) != JV_KIND_OBJECT) {
		dp_err_set(err, "chunk %zu is not an object", i);
		return -1;
	}
	jv seq = jv_object_get(jv_copy(chunk), jv_string("seq"));
	int bad_seq = int_value(seq, 0, STORE_MAX_CHUNKS * 16L, &n) < 0 || n <= prev_seq;
	jv_free(seq);
	if (bad_seq) {
		dp_err_set(err, "chunk %zu: \"seq\" must be a whole number greater than the previous chunk's", i);
		return -1;
	}
	c->seq = (int)n;
	c->text = str_field(chunk, "text", &c->text_len);
	if (c->text == NULL) {
		dp_err_set(err, "chunk %d: \"text\" is missing or not a string", c->seq);
		return -1;
	}
	/* PostgreSQL text cannot hold NUL; say so here rather than fail the batch. */
	if (memchr(c->text, 0, c->text_len) != NULL) {
		dp_err_set(err, "chunk %d: text contains a NUL character, which PostgreSQL text cannot store", c->seq);
		return -1;
	}
	c->summary = str_field(chunk, "summary", &c->summary_len);
	if (c->summary != NULL && memchr(c->summary, 0, c->summary_len) != NULL) {
		dp_err_set(err, "chunk %d: summary contains a NUL character", c->seq);
		return -1;
	}
	jv heading = jv_object_get(jv_copy(chunk), jv_string("heading"));
	if (!jv_is_valid(heading) || jv_get_kind(heading) == JV_KIND_NULL) {
		jv_free(heading);
		c->heading = jv_null();
	} else if (!heading_ok(heading)) {
		jv_free(heading);
		dp_err_set(err, "chunk %d: \"heading\" must be an array of strings", c->seq);
		return -1;
	} else {
		/* Borrowed like the strings: the record still holds the array. */
		c->heading = heading;
		jv_free(heading);
	}
	c->tokens = -1;
	if (has_field(chunk, "tokens")) {
		jv t = jv_object_get(jv_copy(chunk), jv_string("tokens"));
		int bad = int_value(t, 0, INT32_MAX, &n) < 0;
		jv_free(t);
		if (bad) {
			dp_err_set(err, "chunk %d: \"tokens\" must be a whole number", c->seq);
			return -1;
		}
		c->tokens = (int)n;
	}
	int has_vec = has_field(chunk, "vec");
	if (doc->dim == 0) {
		if (has_vec) {
			dp_err_set(err, "chunk %d has a vector but the document names no \"embedder\" and \"dim\"", c->seq);
			return -1;
		}
		c->vec = NULL;
		return 0;
	}
	if (!has_vec) {
		dp_err_set(err, "chunk %d has no vector although the document was embedded (%s)", c->seq,
			   doc->embedder);
		return -1;
	}
	float *v = doc->vecs + i * (size_t)doc->dim;
	jv vec = jv_object_get(jv_copy(chunk), jv_string("vec"));
	dp_err why;
	int rc = dp_vec_decode(vec, v, (size_t)doc->dim, &why);
	jv_free(vec);
	if (rc < 0) {
		dp_err_set(err, "chunk %d: %s", c->seq, why.msg);
		return -1;
	}
	for (int k = 0; k < doc->dim; k++) {
		if (!isfinite(v[k])) {
			dp_err_set(err, "chunk %d: vector value %d is not a finite number", c->seq, k);
			return -1;
		}
	}
	c->vec = v;
	return 0;
}

static int parse_document(store_item *item, dp_err *err)
{
	store_doc *doc = &item->doc;
	jv rec = item->rec;
	long n;

	doc->path = str_field(rec, "path", NULL);
	if (doc->path == NULL || doc->path[0] == '\0') {
		dp_err_set(err, "document has no \"path\" string");
		return -1;
	}
	doc->root = str_field(rec, "root", NULL);
	doc->hash = str_field(rec, "hash", NULL);
	doc->summary = str_field(rec, "summary", NULL);
	doc->summarizer = str_field(rec, "summarizer", NULL);
	doc->chunker = str_field(rec, "chunker", NULL);
	doc->embedder = str_field(rec, "embedder", NULL);
	doc->has_size = dp_record_num(rec, "size", &doc->size) == 0;
	doc->has_mtime = dp_record_num(rec, "mtime", &doc->mtime) == 0;
	if (has_field(rec, "dim")) {
		jv d = jv_object_get(jv_copy(rec), jv_string("dim"));
		int bad = int_value(d, 1, DP_EMBED_DIM_MAX, &n) < 0;
		jv_free(d);
		if (bad) {
			dp_err_set(err, "\"dim\" must be a whole number from 1 to %d", DP_EMBED_DIM_MAX);
			return -1;
		}
		doc->dim = (int)n;
	}
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
	doc->meta = jv_is_valid(meta) ? meta : (jv_free(meta), jv_null());
	store_fingerprint(doc->chunker, doc->summarizer, doc->embedder, doc->dim, doc->fingerprint);

	jv chunks = jv_object_get(jv_copy(rec), jv_string("chunks"));
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
	doc->chunks = calloc(doc->nchunks > 0 ? doc->nchunks : 1, sizeof *doc->chunks);
	if (doc->dim > 0 && doc->nchunks > 0)
		doc->vecs = malloc(doc->nchunks * (size_t)doc->dim * sizeof *doc->vecs);
	if (doc->chunks == NULL || (doc->dim > 0 && doc->nchunks > 0 && doc->vecs == NULL)) {
		jv_free(chunks);
		dp_err_set(err, "out of memory");
		return -1;
	}
	int prev_seq = -1;
	for (size_t i = 0; i < doc->nchunks; i++) {
		jv chunk = jv_array_get(jv_copy(chunks), (int)i);
		int rc = parse_chunk(doc, chunk, i, prev_seq, &doc->chunks[i], err);
		jv_free(chunk);
		if (rc < 0) {
			jv_free(chunks);
			return -1;
		}
		prev_seq = doc->chunks[i].seq;
	}
	jv_free(chunks);
	return 0;
}

static void doc_clear(store_doc *doc)
{
	jv_free(doc->meta);
	free(doc->chunks);
	free(doc->vecs);
	memset(doc, 0, sizeof *doc);
	doc->meta = jv_null();
}

void store_item_init(store_item *item, jv rec)
{
	const char *kind = dp_record_kind(rec);
	dp_err err;

	memset(item, 0, sizeof *item);
	item->rec = rec;
	item->doc.meta = jv_null();
	item->chunks = -1;
	if (kind == NULL) {
		item->kind = STORE_ITEM_FAILED;
		store_item_fail(item, "record has no \"kind\"");
	} else if (strcmp(kind, DP_KIND_DOCUMENT) == 0) {
		item->kind = STORE_ITEM_DOCUMENT;
		if (parse_document(item, &err) < 0) {
			doc_clear(&item->doc);
			item->kind = STORE_ITEM_FAILED;
			store_item_fail(item, err.msg);
		}
	} else if (strcmp(kind, DP_KIND_DELETE) == 0) {
		item->kind = STORE_ITEM_DELETE;
		if (dp_record_str(rec, "path") == NULL) {
			item->kind = STORE_ITEM_FAILED;
			store_item_fail(item, "delete record has no \"path\" string");
		}
	} else if (strcmp(kind, DP_KIND_ERROR) == 0) {
		const char *stage = dp_record_str(rec, "stage");
		const char *why = dp_record_str(rec, "error");
		item->kind = STORE_ITEM_FAILED;
		item->status = "failed";
		item->fail_stage = stage != NULL ? stage : "unknown";
		snprintf(item->reason, sizeof item->reason, "%s", why != NULL ? why : "unknown error");
	} else if (strcmp(kind, DP_KIND_FILE) == 0) {
		/* A file record names a document that skipped chunking: report it,
		 * so every discovered file appears in the receipts. */
		item->kind = STORE_ITEM_FAILED;
		store_item_fail(item, "a file record reached the store without being chunked");
	} else if (strcmp(kind, DP_KIND_SKIP) == 0) {
		/* A name discover did not take: its receipt says so, with why. */
		const char *stage = dp_record_str(rec, "stage");
		const char *why = dp_record_str(rec, "reason");
		item->kind = STORE_ITEM_FAILED;
		item->status = "skipped";
		item->fail_stage = stage != NULL ? stage : "unknown";
		snprintf(item->reason, sizeof item->reason, "%s", why != NULL ? why : "skipped");
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
}

void store_item_clear(store_item *item)
{
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
