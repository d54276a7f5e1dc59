/* A record as the store sees it: a document to write (validated, vectors
 * decoded), a delete, or an error to report, and the receipt it earns.
 * No database here, so all of it is unit-testable. */
#ifndef STORE_DOC_H
#define STORE_DOC_H

#include <stddef.h>

#include <jv.h>

#include "buf.h"
#include "err.h"
#include "hash.h"

/* Bounds on one document (a record is already bounded by --max-record;
 * these keep the numbers we send in range of int4 columns). */
#define STORE_MAX_CHUNKS 1000000
/* Longest path/root: a path is the key of documents, tombstones and
 * failures, and a btree entry on PostgreSQL's 8 KB pages holds at most
 * 2,704 bytes, 2,692 of them text.  A longer path that did not compress
 * failed its document's write, then its failure's, and the store exited 3
 * on every try.  Longest identity: the store keeps the corpus's embedder
 * in a 256-byte buffer. */
#define STORE_MAX_PATH 2692
#define STORE_MAX_IDENTITY 255

typedef struct store_chunk {
	int seq;
	const char *text; /* borrowed from the record */
	size_t text_len;
	jv heading;       /* borrowed: an array of strings (maybe empty) */
	int tokens;       /* -1: not given */
	const char *summary; /* borrowed, NULL when absent */
	size_t summary_len;
	/* Into store_doc.vecs; NULL when the document has no vectors, or when
	 * this chunk's vector is all zeros (stored as a NULL embedding: its
	 * cosine distance to anything is NaN, so it must never be ranked). */
	const float *vec;
	/* Provenance (docs/protocol.md), -1 when absent: byte range
	 * [byte_start, byte_end), first/last line, first/last page. */
	long long byte_start, byte_end;
	int line_start, line_end, page_start, page_end;
	/* Its tsvector's binary value in store_doc.tsv (when the store lexes). */
	size_t tsv_at, tsv_len;
} store_chunk;

typedef struct store_doc {
	/* Borrowed from the item's record (NULL when absent). */
	const char *path, *root, *hash, *summary, *summarizer, *chunker, *embedder;
	int dim;          /* 0: no vectors */
	int has_size, has_mtime;
	double size, mtime;
	jv meta;          /* owned: the meta object, or jv_null() */
	/* Identity of everything that made the stored rows besides the file's
	 * bytes (chunker, summarizer, embedder, dim): equal hash and
	 * fingerprint mean an unchanged document. */
	char fingerprint[DP_HASH_HEX];
	size_t nchunks;
	store_chunk *chunks;
	float *vecs;      /* nchunks * dim */
	/* The chunks' tsvectors (binary, back to back) when the store lexes:
	 * made off the writer's thread by the feed (store_fulltext_lex). */
	dp_buf tsv;
} store_doc;

enum store_item_kind {
	STORE_ITEM_DOCUMENT, /* doc is valid */
	STORE_ITEM_DELETE,
	STORE_ITEM_FAILED,   /* an error record or an invalid document: reported as failed */
	STORE_ITEM_PASS,     /* a kind the store does not process: passed on untouched */
};

typedef struct store_item {
	jv rec;                   /* owned: the input record */
	enum store_item_kind kind;
	store_doc doc;
	/* The outcome, filled by the writer. */
	const char *status;       /* "stored", "unchanged", "deleted", "failed", "skipped"; NULL: none yet */
	long long id;             /* 0: unknown */
	int created;              /* for "stored": the path was new to the store */
	long long chunks;         /* -1: not reported */
	const char *fail_stage;   /* for "failed", "skipped": the stage that said so */
	char reason[DP_ERR_MAX];  /* for "failed", "skipped" */
	long held;                /* dp_stats_hold's token, released by store_item_clear */
} store_item;

/* A document's vectors decoded from its record's text before the rest of
 * the record is parsed (store_doc_parse_text), for store_item_init_vecs. */
typedef struct store_vecs {
	float *v;           /* nchunks * dim, owned (NULL: none taken) */
	unsigned char *has; /* owned: per chunk, 1 when its "vec" is a string */
	size_t nchunks;
	int dim;
	size_t bad;         /* the first chunk whose vector did not decode (nchunks: none) */
	dp_err bad_err;     /* why */
} store_vecs;

/* Frees what vecs holds; it is then empty. */
void store_vecs_clear(store_vecs *vecs);

/* The record of text[0..len), a document with "dim", parsed without its
 * chunks' vectors: each chunk's last "vec" value is decoded from the text
 * into vecs (emptied first; a string with escapes, or a value of another
 * kind, as jq's parse of it reads it), and every "vec" is null in the
 * record (kept when shorter than null: the text without the vectors is
 * never longer than the text).  Why: the vectors as jv strings took more
 * memory than the text (a record of 4,302 chunks at 1,536 dimensions:
 * 41.6 MB of text, 35 MB of strings, 26 MB of floats; the store's peak was
 * 97 MB).  The text is memory its source drops after this
 * (dp_source_peek's text): its pages are given back to the system as the
 * pass reads them (MADV_DONTNEED; then zeros), so the peak is the text, or the floats and the rest of the
 * record, not both.  Returns the record (dp_record_parse's but for
 * "vec"), or an error record (out of memory) once a page may be gone;
 * jv_invalid() with the text untouched when it is not such a record or
 * its whole parse could fail (no "dim" of a whole number, chunks no
 * array, another kind or version, text the scan does not take as RFC
 * 8259 JSON, not UTF-8, a surrogate's \u escape: jq's to judge): the
 * caller parses it as usual then, for the same outcome. */
jv store_doc_parse_text(char *text, size_t len, store_vecs *vecs);

/* Classifies and validates rec (consumed) into item.  Never fails: a
 * document that cannot be stored becomes a STORE_ITEM_FAILED item with
 * the reason already set; a failed item's record loses its chunks.  store_item_init_vecs: rec's vectors are in vecs
 * (store_doc_parse_text's; consumed, emptied), not in rec. */
void store_item_init(store_item *item, jv rec);
void store_item_init_vecs(store_item *item, jv rec, store_vecs *vecs);
void store_item_clear(store_item *item);

/* Marks item failed by this stage with reason. */
void store_item_fail(store_item *item, const char *reason);
/* Makes item a STORE_ITEM_FAILED one with reason, its document (if any)
 * dropped, and its record's chunks: never written, its receipt and
 * outcome a failure of this stage (a document invalid here, or one the
 * crash journal lists). */
void store_item_refuse(store_item *item, const char *reason);
/* Marks a document or delete superseded by a newer version of its path
 * (write.c): "skipped", with why; nothing of it was written. */
void store_item_supersede(store_item *item);
/* Forgets any outcome (before a retry). */
void store_item_reset(store_item *item);

/* What a queued document's chunk holds besides its texts and vector: its
 * jq object in the record (seq, heading, tokens, the byte and line ranges;
 * its "vec" deleted, the object's slots not given back) and the item's
 * store_chunk.  Measured (mallinfo2) on embed's record of a 5 MB document
 * (4,302 chunks of 1.2 KB, two titles a heading): 1.5 KB a chunk; the 1 KB
 * of DP_CHUNK_HELD_BYTES counted that record 6% under what it held.
 * tests/unit/test_store_held.c checks the count against such chunks. */
#define STORE_CHUNK_HELD_BYTES 2048

/* The bytes item holds while queued (feed.h, STORE_QUEUE_BYTES): its
 * chunks' texts and summaries, STORE_CHUNK_HELD_BYTES a chunk, and each
 * vector decoded (4 bytes a number; the record's base64 text of it is
 * gone once the item is made, on either parse: parse_document).  0 for an
 * item that is no document: a failed one holds its record's head only
 * (store_item_init).  Stable while queued: the same on the way in and
 * out. */
size_t store_item_held_bytes(const store_item *item);

/* The receipt answering item (run and seq copied from its record), or
 * for STORE_ITEM_PASS the record itself. */
jv store_item_receipt(const store_item *item);

/* Fingerprint of the four identities (NULL: absent) and dim. */
void store_fingerprint(const char *chunker, const char *summarizer, const char *embedder,
		       int dim, char out[DP_HASH_HEX]);

#endif
