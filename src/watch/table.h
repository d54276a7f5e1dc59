/* The pieces of docpipe-watch's compact tables (known.c, pending.c):
 * arrays in anonymous mappings grown with mremap, and open-addressing
 * indexes of 4-byte entry numbers (linear probing, at most 7/10 full,
 * deletes by backward shift).  An index holds numbers only: the caller
 * says how an entry hashes and whether it is the one looked for. */
#ifndef WATCH_TABLE_H
#define WATCH_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define TABLE_NONE UINT32_MAX

struct table_index {
	uint32_t *slot; /* TABLE_NONE where empty */
	size_t cap, n;
};

typedef uint32_t (*table_hash_fn)(const void *ctx, uint32_t id);

/* The upper 32 bits of data's XXH3-64, masked (tests: a mask of one bit
 * makes every key collide). */
uint32_t table_hash(const void *data, size_t len, uint32_t mask);

/* Makes *p (a mapping of *bytes, or NULL) at least need bytes, doubling:
 * mremap copies no page, and one not yet touched takes no memory (a
 * realloc'd heap block keeps its old copy resident).  Returns 0 or -1. */
int table_grow(void **p, size_t *bytes, size_t need);
void table_unmap(void *p, size_t bytes);

/* Room in ix for one more entry: twice the slots, every entry placed
 * again by hash_of, when it would pass 7/10.  Returns 0 or -1. */
int table_room(struct table_index *ix, table_hash_fn hash_of, const void *ctx);
/* Adds id, of hash h, to ix, which has room. */
void table_put(struct table_index *ix, uint32_t h, uint32_t id);
/* The slot of the entry of hash h that is(ctx, id) says is the one, or
 * the empty slot where the search ended; ix has slots. */
size_t table_probe(const struct table_index *ix, uint32_t h,
		   int (*is)(const void *ctx, uint32_t id), const void *ctx);
/* Takes id, of hash h, out of ix; the entries after it that probed past
 * its slot move back (hash_of: where each belongs). */
void table_remove(struct table_index *ix, uint32_t h, uint32_t id, table_hash_fn hash_of,
		  const void *ctx);
void table_index_free(struct table_index *ix);

#endif
