#include "pending.h"

#include <stdlib.h>
#include <string.h>

#include "table.h"

struct entry {
	uint32_t node; /* the known file's node, or KNOWN_NONE: path is its copy */
	uint32_t hash; /* its path's; a free entry: the next free one */
	uint32_t root; /* TABLE_NONE: a free entry */
	int64_t at, since;
	char *path;
};

struct pending {
	struct entry *e; /* a mapping (table_grow) */
	size_t end, bytes, n;
	uint32_t free_entries;
	struct table_index index; /* entry numbers by path hash */
	uint32_t hash_mask;
};

pending *pending_new(unsigned hash_bits)
{
	pending *p = calloc(1, sizeof *p);

	if (p != NULL) {
		p->free_entries = TABLE_NONE;
		p->hash_mask = hash_bits > 0 && hash_bits < 32 ? (1u << hash_bits) - 1 : UINT32_MAX;
	}
	return p;
}

void pending_clear(pending *p)
{
	for (size_t i = 0; i < p->end; i++)
		if (p->e[i].root != TABLE_NONE)
			free(p->e[i].path);
	table_unmap(p->e, p->bytes);
	table_index_free(&p->index);
	*p = (pending){.free_entries = TABLE_NONE, .hash_mask = p->hash_mask};
}

void pending_free(pending **p)
{
	if (*p == NULL)
		return;
	pending_clear(*p);
	free(*p);
	*p = NULL;
}

size_t pending_count(const pending *p)
{
	return p->n;
}

static uint32_t entry_hash(const void *ctx, uint32_t id)
{
	const pending *p = ctx;

	return p->e[id].hash;
}

/* What find looks for. */
struct looked {
	const pending *p;
	const known_files *k;
	const char *path;
	uint32_t hash;
};

static int is_looked(const void *ctx, uint32_t id)
{
	const struct looked *l = ctx;
	const struct entry *e = &l->p->e[id];

	return e->hash == l->hash && (e->node != KNOWN_NONE ? known_is(l->k, e->node, l->path)
							    : strcmp(e->path, l->path) == 0);
}

/* Path's entry, or TABLE_NONE; *h: path's hash. */
static uint32_t find(const pending *p, const known_files *k, const char *path, uint32_t *h)
{
	struct looked l = {p, k, path, table_hash(path, strlen(path), p->hash_mask)};

	*h = l.hash;
	return p->index.cap > 0 ? p->index.slot[table_probe(&p->index, l.hash, is_looked, &l)]
				: TABLE_NONE;
}

int pending_set(pending *p, const known_files *k, const char *path, size_t r, long at, long since)
{
	uint32_t h, id = find(p, k, path, &h);

	if (id == TABLE_NONE) {
		if (p->n >= PENDING_MAX || r >= TABLE_NONE || table_room(&p->index, entry_hash, p) < 0)
			return -1;
		uint32_t node = known_find(k, path);
		char *copy = node == KNOWN_NONE ? strdup(path) : NULL;
		if (node == KNOWN_NONE && copy == NULL)
			return -1;
		id = p->free_entries;
		if (id == TABLE_NONE && table_grow((void **)&p->e, &p->bytes, (p->end + 1) * sizeof *p->e) < 0) {
			free(copy);
			return -1;
		}
		if (id == TABLE_NONE)
			id = (uint32_t)p->end++;
		else
			p->free_entries = p->e[id].hash;
		p->e[id] = (struct entry){.node = node, .hash = h, .path = copy};
		table_put(&p->index, h, id);
		p->n++;
	}
	p->e[id].root = (uint32_t)r;
	p->e[id].at = at;
	p->e[id].since = since;
	return 0;
}

long pending_since(const pending *p, const known_files *k, const char *path)
{
	uint32_t h, id = find(p, k, path, &h);

	return id != TABLE_NONE ? (long)p->e[id].since : -1;
}

size_t pending_end(const pending *p)
{
	return p->end;
}

int pending_live(const pending *p, uint32_t i)
{
	return p->e[i].root != TABLE_NONE;
}

long pending_at(const pending *p, uint32_t i)
{
	return (long)p->e[i].at;
}

size_t pending_root(const pending *p, uint32_t i)
{
	return p->e[i].root;
}

const char *pending_path(const pending *p, known_files *k, uint32_t i)
{
	return p->e[i].node != KNOWN_NONE ? known_path(k, p->e[i].node) : p->e[i].path;
}

void pending_drop(pending *p, uint32_t i)
{
	struct entry *e = &p->e[i];

	table_remove(&p->index, e->hash, i, entry_hash, p);
	free(e->path);
	*e = (struct entry){.node = KNOWN_NONE, .hash = p->free_entries, .root = TABLE_NONE};
	p->free_entries = i;
	p->n--;
}
