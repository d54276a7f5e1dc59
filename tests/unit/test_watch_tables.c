/* Unit tests for docpipe-watch's compact tables.  The known files
 * (src/watch/known.c): paths held as a directory's node and a name, found
 * by hash but told apart by their names (every path of one or two hashes
 * here), files and directories of one path, deletes, the listing under a
 * directory, the index by inode, the names' arena compacted.  The pending
 * paths (src/watch/pending.c): a known file's entry by its node, another's
 * by its copy, told apart under one hash too. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../src/watch/known.h"
#include "../../src/watch/pending.h"
#include "t.h"

static struct stat file_st(unsigned long ino, long size, unsigned nlink)
{
	struct stat st;

	memset(&st, 0, sizeof st);
	st.st_dev = 7;
	st.st_ino = ino;
	st.st_size = size;
	st.st_nlink = nlink;
	st.st_mtim.tv_sec = 1000 + (long)ino;
	st.st_ctim.tv_sec = 2000 + (long)ino;
	return st;
}

struct listing {
	size_t n;
	char all[4096];
};

static void list(void *ctx, uint32_t id, const char *path, size_t r)
{
	struct listing *l = ctx;
	size_t at = strlen(l->all);

	(void)id;
	l->n++;
	snprintf(l->all + at, sizeof l->all - at, "%s%s@%zu", at > 0 ? " " : "", path, r);
}

/* Every path of one table of two hashes (hash_bits 1): each found as
 * itself, never as another. */
static void test_collisions(void)
{
	known_files *k = known_new(1);
	const char *paths[] = {"/r/a.md", "/r/b.md", "/r/sub/a.md", "/r/sub", "/a.md", "/r//a.md",
			       "/r/sub/deeper/x.md", "/ra.md", "/r/a.m"};
	size_t n = sizeof paths / sizeof *paths;

	for (size_t i = 0; i < n; i++) {
		struct stat st = file_st(i + 1, (long)i, 1);
		T_OK(known_set(k, paths[i], i % 2, &st) != KNOWN_NONE, paths[i]);
	}
	T_EQ_INT(known_count(k), n, "every path known, each once");
	int found_all = 1, itself = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = known_find(k, paths[i]);
		struct stat st = file_st(i + 1, (long)i, 1);
		found_all &= id != KNOWN_NONE;
		itself &= id != KNOWN_NONE && strcmp(known_path(k, id), paths[i]) == 0 &&
			  known_root(k, id) == i % 2 && known_same(k, id, &st);
	}
	T_OK(found_all, "each found, two hashes for all");
	T_OK(itself, "each found as itself: its path, root and signature");
	T_EQ_INT(known_find(k, "/r/c.md"), KNOWN_NONE, "a path not known is not found");
	T_EQ_INT(known_find(k, "/r"), KNOWN_NONE, "nor a directory of known files");

	/* A change and a delete reach their path only. */
	struct stat changed = file_st(1, 99, 1);
	uint32_t a = known_find(k, "/r/a.md");
	T_OK(known_set(k, "/r/a.md", 0, &changed) == a, "a change: the same node");
	T_OK(!known_same(k, known_find(k, "/r//a.md"), &changed), "another path of its hash unchanged");
	known_drop(k, known_find(k, "/r/sub"));
	T_EQ_INT(known_find(k, "/r/sub"), KNOWN_NONE, "a file dropped: gone");
	T_OK(known_find(k, "/r/sub/a.md") != KNOWN_NONE, "a file below a directory of its name kept");
	T_EQ_INT(known_count(k), n - 1, "one fewer");

	struct listing l = {0};
	T_EQ_INT(known_each(k, "/r/sub", list, &l), 0, "the listing under a directory");
	T_EQ_STR(l.all, "/r/sub/a.md@0 /r/sub/deeper/x.md@0", "what is under /r/sub, and nothing else");
	memset(&l, 0, sizeof l);
	known_each(k, "/nowhere", list, &l);
	T_EQ_INT(l.n, 0, "nothing under a directory of no known file");
	memset(&l, 0, sizeof l);
	known_each(k, NULL, list, &l);
	T_EQ_INT(l.n, n - 1, "every file listed once");
	known_free(&k);
	T_OK(k == NULL, "freed");
}

/* A file and a directory of one path (a file deleted, a directory made
 * in its place before its delete is settled): two nodes. */
static void test_file_and_dir(void)
{
	known_files *k = known_new(0);
	struct stat st = file_st(1, 1, 1);

	uint32_t f = known_set(k, "/r/x", 0, &st);
	uint32_t below = known_set(k, "/r/x/y.md", 0, &st);
	T_OK(f != KNOWN_NONE && below != KNOWN_NONE && f != below, "the file /r/x and /r/x/y.md");
	T_EQ_INT(known_find(k, "/r/x"), f, "the file found as such");
	known_drop(k, f);
	T_EQ_INT(known_find(k, "/r/x"), KNOWN_NONE, "its delete");
	T_EQ_STR(known_path(k, below), "/r/x/y.md", "the file below kept");
	known_drop(k, below);
	T_EQ_INT(known_count(k), 0, "none left");
	known_free(&k);
}

/* The index by inode: a file taken with one link found by it; another
 * name taken later as that inode takes it over; a file with several
 * links or gone is not there. */
static void test_singles(void)
{
	known_files *k = known_new(1);
	struct stat one = file_st(5, 1, 1), two = file_st(5, 1, 2), other = file_st(6, 1, 1);

	uint32_t a = known_set(k, "/r/a.md", 0, &one);
	T_EQ_INT(known_single(k, 7, 5), a, "a file of one link found by its inode");
	T_EQ_INT(known_single(k, 7, 6), KNOWN_NONE, "another inode not");
	uint32_t b = known_set(k, "/r/b.md", 0, &one);
	T_EQ_INT(known_single(k, 7, 5), b, "the last name taken as that inode");
	known_drop(k, a);
	T_EQ_INT(known_single(k, 7, 5), b, "dropping the other name leaves it");
	known_set(k, "/r/b.md", 0, &two);
	T_EQ_INT(known_single(k, 7, 5), KNOWN_NONE, "taken again with two links: out");
	known_set(k, "/r/b.md", 0, &other);
	T_EQ_INT(known_single(k, 7, 6), b, "taken as another inode: found by that one");
	known_unsingle(k, a, 7, 6);
	T_EQ_INT(known_single(k, 7, 6), b, "unsingle of another node: kept");
	known_unsingle(k, b, 7, 6);
	T_EQ_INT(known_single(k, 7, 6), KNOWN_NONE, "unsingle of its node: out");
	known_free(&k);
}

/* Many files added and dropped: the arena compacted in place, what is
 * left intact. */
static void test_churn(void)
{
	known_files *k = known_new(0);
	char path[128];
	int ok = 1;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 60000; i++) {
			struct stat st = file_st((unsigned long)i, round, 1);
			snprintf(path, sizeof path, "/r/dir%03d/file-with-a-longer-name-%06d.md", i % 300, i);
			ok &= known_set(k, path, 0, &st) != KNOWN_NONE;
		}
		for (int i = 0; i < 60000; i++) {
			if (i % 10 == 0)
				continue;
			snprintf(path, sizeof path, "/r/dir%03d/file-with-a-longer-name-%06d.md", i % 300, i);
			uint32_t id = known_find(k, path);
			ok &= id != KNOWN_NONE;
			if (id != KNOWN_NONE)
				known_drop(k, id);
		}
	}
	T_OK(ok, "180,000 taken, 162,000 dropped");
	T_EQ_INT(known_count(k), 6000, "6,000 left");
	int intact = 1;
	for (int i = 0; i < 60000; i += 10) {
		snprintf(path, sizeof path, "/r/dir%03d/file-with-a-longer-name-%06d.md", i % 300, i);
		uint32_t id = known_find(k, path);
		struct stat st = file_st((unsigned long)i, 2, 1);
		intact &= id != KNOWN_NONE && strcmp(known_path(k, id), path) == 0 && known_same(k, id, &st);
	}
	T_OK(intact, "each left found, its path and signature intact");
	for (int i = 0; i < 60000; i += 10) {
		snprintf(path, sizeof path, "/r/dir%03d/file-with-a-longer-name-%06d.md", i % 300, i);
		known_drop(k, known_find(k, path));
	}
	struct listing l = {0};
	known_each(k, NULL, list, &l);
	T_EQ_INT(l.n, 0, "all dropped: nothing listed");
	known_free(&k);
}

/* Pending paths, two hashes for all: known files' entries (their
 * nodes) and others' (a copy) each found, set again, taken out alone. */
static void test_pending(void)
{
	known_files *k = known_new(1);
	pending *p = pending_new(1);
	const char *paths[] = {"/r/a.md", "/r/b.md", "/r/new.md", "/r/sub/a.md", "/r/other.md"};
	struct stat st = file_st(1, 1, 1);

	known_set(k, "/r/a.md", 0, &st);
	known_set(k, "/r/b.md", 0, &st);
	known_set(k, "/r/sub/a.md", 0, &st);
	for (int i = 0; i < 5; i++)
		T_EQ_INT(pending_set(p, k, paths[i], (size_t)i, 100 + i, i == 2 ? 50 : -1), 0, paths[i]);
	T_EQ_INT(pending_count(p), 5, "five pending");
	T_EQ_INT(pending_set(p, k, "/r/new.md", 2, 300, 60), 0, "one set again");
	T_EQ_INT(pending_count(p), 5, "still five");
	T_EQ_INT(pending_since(p, k, "/r/new.md"), 60, "its writer's first event, set again");
	T_EQ_INT(pending_since(p, k, "/r/a.md"), -1, "a known file's: none");
	T_EQ_INT(pending_since(p, k, "/r/none.md"), -1, "a path not pending: none");
	int each = 1;
	for (uint32_t i = 0; i < pending_end(p); i++) {
		const char *path = pending_path(p, k, i);
		size_t r = pending_root(p, i);
		each &= pending_live(p, i) && r < 5 && strcmp(path, paths[r]) == 0 &&
			pending_at(p, i) == (r == 2 ? 300 : 100 + (long)r);
	}
	T_OK(each, "each entry its path (node or copy), root and deadline");
	for (uint32_t i = 0; i < pending_end(p); i++)
		if (pending_root(p, i) == 0 || pending_root(p, i) == 2)
			pending_drop(p, i);
	T_EQ_INT(pending_count(p), 3, "two taken out");
	T_EQ_INT(pending_set(p, k, "/r/b.md", 1, 400, -1), 0, "another set again");
	T_EQ_INT(pending_count(p), 3, "found among the others of its hash");
	T_EQ_INT(pending_set(p, k, "/r/new.md", 2, 500, -1), 0, "one taken out, set again");
	T_EQ_INT(pending_count(p), 4, "a new entry");
	for (uint32_t i = 0; i < pending_end(p); i++)
		if (pending_live(p, i))
			pending_drop(p, i);
	T_EQ_INT(pending_count(p), 0, "all taken out");
	pending_clear(p);
	T_EQ_INT(pending_end(p), 0, "cleared");
	T_EQ_INT(pending_set(p, k, "/r/sub/a.md", 3, 1, -1), 0, "set after a clear");
	pending_free(&p);
	known_free(&k);
	T_OK(p == NULL, "freed");
}

/* Random takes and drops over 300 paths in 50 directories (emptied and
 * made again often; files of a directory's path among them), four hashes
 * for all, against a plain list: the table agrees after every step. */
static void test_random(void)
{
	enum { PATHS = 300, STEPS = 20000 };
	known_files *k = known_new(2);
	char paths[PATHS][32];
	long size[PATHS];
	int in[PATHS] = {0}, agree = 1;
	size_t count = 0;
	unsigned seed = 52;

	for (int i = 0; i < PATHS; i++)
		snprintf(paths[i], sizeof paths[i], i < 50 ? "/r/d%d" : "/r/d%d/f%d", i % 50, i);
	for (int step = 0; step < STEPS && agree; step++) {
		int i = (int)(rand_r(&seed) % PATHS);
		uint32_t id = known_find(k, paths[i]);
		agree &= (id != KNOWN_NONE) == in[i];
		if (in[i] && rand_r(&seed) % 2 == 0) {
			known_drop(k, id);
			in[i] = 0;
			count--;
		} else {
			struct stat st = file_st((unsigned long)i, step, 1);
			agree &= known_set(k, paths[i], (size_t)i % 4, &st) != KNOWN_NONE;
			count += !in[i];
			in[i] = 1;
			size[i] = step;
		}
		agree &= known_count(k) == count;
	}
	for (int i = 0; i < PATHS; i++) {
		uint32_t id = known_find(k, paths[i]);
		struct stat st = file_st((unsigned long)i, size[i], 1);
		agree &= in[i] ? id != KNOWN_NONE && strcmp(known_path(k, id), paths[i]) == 0 &&
					 known_root(k, id) == (size_t)i % 4 && known_same(k, id, &st)
			       : id == KNOWN_NONE;
	}
	T_OK(agree, "20,000 random takes and drops: the table agrees with a plain list");
	struct listing l = {0};
	known_each(k, NULL, list, &l);
	T_EQ_INT(l.n, count, "each file listed once");
	known_free(&k);
}

int main(void)
{
	test_collisions();
	test_file_and_dir();
	test_singles();
	test_churn();
	test_pending();
	test_random();
	return t_done();
}
