#include "table.h"

#include <string.h>
#include <sys/mman.h>

#include "hash.h"

uint32_t table_hash(const void *data, size_t len, uint32_t mask)
{
	return (uint32_t)(dp_hash64(data, len) >> 32) & mask;
}

int table_grow(void **p, size_t *bytes, size_t need)
{
	size_t n = *bytes > 0 ? *bytes : 1u << 16;

	if (need <= *bytes)
		return 0;
	while (n < need)
		n *= 2;
	void *q = *p == NULL ? mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
			     : mremap(*p, *bytes, n, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return -1;
	*p = q;
	*bytes = n;
	return 0;
}

void table_unmap(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes);
}

int table_room(struct table_index *ix, table_hash_fn hash_of, const void *ctx)
{
	if ((ix->n + 1) * 10 <= ix->cap * 7)
		return 0;
	size_t cap = ix->cap > 0 ? ix->cap * 2 : 1024;
	uint32_t *slot = mmap(NULL, cap * sizeof *slot, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (slot == MAP_FAILED)
		return -1;
	memset(slot, 0xff, cap * sizeof *slot);
	for (size_t i = 0; i < ix->cap; i++) {
		uint32_t id = ix->slot[i];
		if (id == TABLE_NONE)
			continue;
		size_t at = hash_of(ctx, id) & (cap - 1);
		while (slot[at] != TABLE_NONE)
			at = (at + 1) & (cap - 1);
		slot[at] = id;
	}
	table_unmap(ix->slot, ix->cap * sizeof *ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return 0;
}

void table_put(struct table_index *ix, uint32_t h, uint32_t id)
{
	size_t at = h & (ix->cap - 1);

	while (ix->slot[at] != TABLE_NONE)
		at = (at + 1) & (ix->cap - 1);
	ix->slot[at] = id;
	ix->n++;
}

size_t table_probe(const struct table_index *ix, uint32_t h,
		   int (*is)(const void *ctx, uint32_t id), const void *ctx)
{
	size_t at = h & (ix->cap - 1);

	while (ix->slot[at] != TABLE_NONE && !is(ctx, ix->slot[at]))
		at = (at + 1) & (ix->cap - 1);
	return at;
}

void table_remove(struct table_index *ix, uint32_t h, uint32_t id, table_hash_fn hash_of,
		  const void *ctx)
{
	size_t mask = ix->cap - 1, i = h & mask;

	while (ix->slot[i] != id) {
		if (ix->slot[i] == TABLE_NONE)
			return;
		i = (i + 1) & mask;
	}
	for (size_t j = (i + 1) & mask; ix->slot[j] != TABLE_NONE; j = (j + 1) & mask) {
		size_t home = hash_of(ctx, ix->slot[j]) & mask;
		/* slot j's entry may fill i unless its home lies in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			ix->slot[i] = ix->slot[j];
			i = j;
		}
	}
	ix->slot[i] = TABLE_NONE;
	ix->n--;
}

void table_index_free(struct table_index *ix)
{
	table_unmap(ix->slot, ix->cap * sizeof *ix->slot);
	*ix = (struct table_index){0};
}
