#include "known.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "table.h"

#define DIR_BIT (1u << 31) /* a node's info: a directory's, with its nodes below */
#define ARENA_COMPACT_MIN (1u << 20) /* free arena bytes before a compaction is worth it */

struct node {
	/* Its directory's node, or KNOWN_NONE: a name right under "/"; a
	 * free node: the next free one. */
	uint32_t parent;
	uint32_t name; /* its name's entry in the arena; KNOWN_NONE: a free node */
	uint32_t hash; /* its path's (path_hash) */
	uint32_t info; /* a file: its root index; a directory: DIR_BIT | its nodes below */
	uint64_t dev, ino; /* a file's signature when taken */
	int64_t size, mtime, ctime; /* times in ns */
};

struct known_files {
	struct node *nodes; /* a mapping: pages never touched take no memory */
	size_t nnodes, nodes_bytes;
	uint32_t free_nodes;
	size_t files, dirs;
	/* Names: each entry its node's number (4 bytes, to compact), the
	 * name and a NUL; garbage: the bytes of entries dropped. */
	char *arena;
	size_t used, arena_bytes, garbage;
	struct table_index paths, singles; /* node numbers (table.h) */
	uint32_t hash_mask;
	char *buf; /* known_path's */
	size_t buf_cap;
};

static uint32_t path_hash(const known_files *k, const char *path, size_t len)
{
	return table_hash(path, len, k->hash_mask);
}

static uint32_t inode_hash(const known_files *k, uint64_t dev, uint64_t ino)
{
	uint64_t key[2] = {dev, ino};

	return table_hash(key, sizeof key, k->hash_mask);
}

static uint32_t node_path_hash(const void *ctx, uint32_t id)
{
	const known_files *k = ctx;

	return k->nodes[id].hash;
}

static uint32_t node_inode_hash(const void *ctx, uint32_t id)
{
	const known_files *k = ctx;

	return inode_hash(k, k->nodes[id].dev, k->nodes[id].ino);
}

static const char *name_of(const known_files *k, uint32_t id)
{
	return k->arena + k->nodes[id].name + sizeof(uint32_t);
}

static int is_dir(const known_files *k, uint32_t id)
{
	return (k->nodes[id].info & DIR_BIT) != 0;
}

/* Whether node id is the path path (len bytes): its name and each
 * directory's above it, up to "/", the path's. */
static int node_is(const known_files *k, uint32_t id, const char *path, size_t len)
{
	for (;;) {
		const char *name = name_of(k, id);
		size_t nl = strlen(name);
		if (len < nl + 1 || path[len - nl - 1] != '/' || memcmp(path + len - nl, name, nl) != 0)
			return 0;
		len -= nl + 1;
		id = k->nodes[id].parent;
		if (id == KNOWN_NONE)
			return len == 0;
	}
}

/* What find looks for. */
struct looked {
	const known_files *k;
	const char *path;
	size_t len;
	uint32_t hash;
	int dir;
};

static int is_looked(const void *ctx, uint32_t id)
{
	const struct looked *l = ctx;

	return l->k->nodes[id].hash == l->hash && is_dir(l->k, id) == l->dir &&
	       node_is(l->k, id, l->path, l->len);
}

/* The node of path (len bytes) of the kind dir says, or KNOWN_NONE. */
static uint32_t find(const known_files *k, const char *path, size_t len, int dir)
{
	struct looked l = {k, path, len, path_hash(k, path, len), dir};

	return k->paths.cap > 0 ? k->paths.slot[table_probe(&k->paths, l.hash, is_looked, &l)]
				: KNOWN_NONE;
}

/* Drops the names whose nodes are gone, moving the others down in place
 * (each entry names its node); the pages freed are given back. */
static void compact(known_files *k)
{
	size_t r = 0, w = 0;

	while (r < k->used) {
		uint32_t id;
		memcpy(&id, k->arena + r, sizeof id);
		size_t n = sizeof id + strlen(k->arena + r + sizeof id) + 1;
		if (id < k->nnodes && k->nodes[id].name == r) {
			memmove(k->arena + w, k->arena + r, n);
			k->nodes[id].name = (uint32_t)w;
			w += n;
		}
		r += n;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE), from = (w + page - 1) / page * page;
	if (from < k->used)
		madvise(k->arena + from, k->used - from, MADV_DONTNEED);
	k->used = w;
	k->garbage = 0;
}

/* A node for name (nl bytes) below parent (or KNOWN_NONE), its path's
 * hash h, info: its number, or KNOWN_NONE (a maximum, out of memory). */
static uint32_t node_make(known_files *k, uint32_t parent, const char *name, size_t nl, uint32_t h,
			  uint32_t info)
{
	size_t entry = sizeof(uint32_t) + nl + 1;

	if (k->used + entry > KNOWN_MAX_NAME_BYTES && k->garbage > 0)
		compact(k);
	if (k->used + entry > KNOWN_MAX_NAME_BYTES || table_room(&k->paths, node_path_hash, k) < 0 ||
	    table_grow((void **)&k->arena, &k->arena_bytes, k->used + entry) < 0)
		return KNOWN_NONE;
	uint32_t id = k->free_nodes;
	if (id == KNOWN_NONE) {
		if (k->nnodes >= KNOWN_MAX_FILES + KNOWN_MAX_DIRS ||
		    table_grow((void **)&k->nodes, &k->nodes_bytes, (k->nnodes + 1) * sizeof *k->nodes) < 0)
			return KNOWN_NONE;
		id = (uint32_t)k->nnodes++;
	} else {
		k->free_nodes = k->nodes[id].parent;
	}
	memcpy(k->arena + k->used, &id, sizeof id);
	memcpy(k->arena + k->used + sizeof id, name, nl);
	k->arena[k->used + entry - 1] = '\0';
	k->nodes[id] = (struct node){.parent = parent, .name = (uint32_t)k->used, .hash = h, .info = info};
	k->used += entry;
	table_put(&k->paths, h, id);
	if (parent != KNOWN_NONE)
		k->nodes[parent].info++;
	return id;
}

/* Frees node id: out of the path index, its name garbage, one node
 * fewer below its directory. */
static void node_drop(known_files *k, uint32_t id)
{
	struct node *n = &k->nodes[id];

	table_remove(&k->paths, n->hash, id, node_path_hash, k);
	k->garbage += sizeof(uint32_t) + strlen(name_of(k, id)) + 1;
	if (n->parent != KNOWN_NONE)
		k->nodes[n->parent].info--;
	n->name = KNOWN_NONE;
	n->parent = k->free_nodes;
	k->free_nodes = id;
	if (k->garbage >= ARENA_COMPACT_MIN && k->garbage * 2 > k->used)
		compact(k);
}

/* Drops directory node id, and the ones above, while nothing is below. */
static void prune(known_files *k, uint32_t id)
{
	while (id != KNOWN_NONE && k->nodes[id].info == DIR_BIT) {
		uint32_t up = k->nodes[id].parent;
		node_drop(k, id);
		k->dirs--;
		id = up;
	}
}

/* The node of directory path (len bytes; 0: "/", KNOWN_NONE) into *id,
 * made with those above it when missing.  Returns 0 or -1 (none made). */
static int dir_node(known_files *k, const char *path, size_t len, uint32_t *id)
{
	*id = KNOWN_NONE;
	if (len == 0)
		return 0;
	uint32_t at = find(k, path, len, 1), parent;
	if (at != KNOWN_NONE) {
		*id = at;
		return 0;
	}
	const char *slash = memrchr(path, '/', len);
	if (slash == NULL || k->dirs >= KNOWN_MAX_DIRS ||
	    dir_node(k, path, (size_t)(slash - path), &parent) < 0)
		return -1;
	at = node_make(k, parent, slash + 1, len - (size_t)(slash + 1 - path), path_hash(k, path, len),
		       DIR_BIT);
	if (at == KNOWN_NONE) {
		prune(k, parent);
		return -1;
	}
	k->dirs++;
	*id = at;
	return 0;
}

known_files *known_new(unsigned hash_bits)
{
	known_files *k = calloc(1, sizeof *k);

	if (k == NULL)
		return NULL;
	k->free_nodes = KNOWN_NONE;
	k->hash_mask = hash_bits > 0 && hash_bits < 32 ? (1u << hash_bits) - 1 : UINT32_MAX;
	return k;
}

void known_free(known_files **k)
{
	if (*k == NULL)
		return;
	table_unmap((*k)->nodes, (*k)->nodes_bytes);
	table_unmap((*k)->arena, (*k)->arena_bytes);
	table_index_free(&(*k)->paths);
	table_index_free(&(*k)->singles);
	free((*k)->buf);
	free(*k);
	*k = NULL;
}

size_t known_count(const known_files *k)
{
	return k->files;
}

uint32_t known_find(const known_files *k, const char *path)
{
	return find(k, path, strlen(path), 0);
}

int known_is(const known_files *k, uint32_t id, const char *path)
{
	return node_is(k, id, path, strlen(path));
}

/* What single_slot looks for. */
struct inode {
	const known_files *k;
	uint64_t dev, ino;
};

static int is_inode(const void *ctx, uint32_t id)
{
	const struct inode *i = ctx;

	return i->k->nodes[id].dev == i->dev && i->k->nodes[id].ino == i->ino;
}

/* The singles slot of (dev, ino), or its empty slot. */
static size_t single_slot(const known_files *k, uint64_t dev, uint64_t ino)
{
	struct inode i = {k, dev, ino};

	return table_probe(&k->singles, inode_hash(k, dev, ino), is_inode, &i);
}

uint32_t known_single(const known_files *k, dev_t dev, ino_t ino)
{
	return k->singles.cap > 0 ? k->singles.slot[single_slot(k, dev, ino)] : KNOWN_NONE;
}

void known_unsingle(known_files *k, uint32_t id, dev_t dev, ino_t ino)
{
	if (known_single(k, dev, ino) == id)
		table_remove(&k->singles, inode_hash(k, dev, ino), id, node_inode_hash, k);
}

uint32_t known_set(known_files *k, const char *path, size_t r, const struct stat *st)
{
	size_t len = strlen(path);
	uint32_t id = find(k, path, len, 0), parent;

	if (len == 0 || path[0] != '/' || r >= DIR_BIT || table_room(&k->singles, node_inode_hash, k) < 0)
		return KNOWN_NONE;
	if (id == KNOWN_NONE) {
		const char *slash = memrchr(path, '/', len);
		if (k->files >= KNOWN_MAX_FILES || dir_node(k, path, (size_t)(slash - path), &parent) < 0)
			return KNOWN_NONE;
		id = node_make(k, parent, slash + 1, len - (size_t)(slash + 1 - path),
			       path_hash(k, path, len), 0);
		if (id == KNOWN_NONE) {
			prune(k, parent);
			return KNOWN_NONE;
		}
		k->files++;
	} else {
		known_unsingle(k, id, k->nodes[id].dev, k->nodes[id].ino);
	}
	struct node *n = &k->nodes[id];
	n->info = (uint32_t)r;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->size = st->st_size;
	n->mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	n->ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	if (st->st_nlink < 2) {
		size_t at = single_slot(k, n->dev, n->ino);
		if (k->singles.slot[at] == KNOWN_NONE)
			k->singles.n++;
		k->singles.slot[at] = id;
	}
	return id;
}

void known_drop(known_files *k, uint32_t id)
{
	uint32_t parent = k->nodes[id].parent;

	known_unsingle(k, id, k->nodes[id].dev, k->nodes[id].ino);
	node_drop(k, id);
	k->files--;
	prune(k, parent);
}

size_t known_root(const known_files *k, uint32_t id)
{
	return k->nodes[id].info;
}

int known_same(const known_files *k, uint32_t id, const struct stat *st)
{
	const struct node *n = &k->nodes[id];

	return n->dev == st->st_dev && n->ino == st->st_ino && n->size == st->st_size &&
	       n->mtime == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
	       n->ctime == (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void known_inode(const known_files *k, uint32_t id, dev_t *dev, ino_t *ino)
{
	*dev = k->nodes[id].dev;
	*ino = k->nodes[id].ino;
}

/* Node id's path into *buf (of *cap bytes, grown): written from its end,
 * each name after a '/'.  Returns *buf or NULL (out of memory). */
static char *path_into(const known_files *k, uint32_t id, char **buf, size_t *cap)
{
	size_t len = 0;

	for (uint32_t at = id; at != KNOWN_NONE; at = k->nodes[at].parent)
		len += 1 + strlen(name_of(k, at));
	if (len + 1 > *cap) {
		char *b = realloc(*buf, len + 1);
		if (b == NULL)
			return NULL;
		*buf = b;
		*cap = len + 1;
	}
	(*buf)[len] = '\0';
	for (uint32_t at = id; at != KNOWN_NONE; at = k->nodes[at].parent) {
		size_t nl = strlen(name_of(k, at));
		len -= nl;
		memcpy(*buf + len, name_of(k, at), nl);
		(*buf)[--len] = '/';
	}
	return *buf;
}

const char *known_path(known_files *k, uint32_t id)
{
	return path_into(k, id, &k->buf, &k->buf_cap);
}

int known_each(const known_files *k, const char *dir,
	       void (*fn)(void *ctx, uint32_t id, const char *path, size_t r), void *ctx)
{
	uint32_t d = dir != NULL ? find(k, dir, strlen(dir), 1) : KNOWN_NONE;
	char *buf = NULL;
	size_t cap = 0;

	if (dir != NULL && d == KNOWN_NONE)
		return 0;
	for (uint32_t id = 0; id < k->nnodes; id++) {
		if (k->nodes[id].name == KNOWN_NONE || is_dir(k, id))
			continue;
		uint32_t up = k->nodes[id].parent;
		while (d != KNOWN_NONE && up != KNOWN_NONE && up != d)
			up = k->nodes[up].parent;
		if (d != KNOWN_NONE && up != d)
			continue;
		if (path_into(k, id, &buf, &cap) == NULL) {
			free(buf);
			return -1;
		}
		fn(ctx, id, buf, k->nodes[id].info);
	}
	free(buf);
	return 0;
}
