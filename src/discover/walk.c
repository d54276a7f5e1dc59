#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endrec.h"
#include "hash.h"
#include "path.h"
#include "record.h"
#include "text.h"

/* Longest path we build (openat needs no PATH_MAX, but a bound is due). */
#define DISCOVER_MAX_PATH 16384
/* Most entries read from one directory; the rest are reported, not read. */
#define DISCOVER_MAX_ENTRIES ((size_t)1 << 22)

/* Markdown and text, and the formats docpipe-chunk converts (their
 * content is checked there, where the file is read anyway). */
static const char *const default_globs[] = {"*.md",   "*.markdown", "*.txt",  "*.html",
					    "*.htm",  "*.xhtml",    "*.pdf",  "*.docx",
					    "*.odt",  "*.epub",     "*.ipynb"};

int discover_match(const char *pattern, const char *relpath)
{
	if (strchr(pattern, '/') != NULL)
		return fnmatch(pattern, relpath, FNM_PATHNAME) == 0;
	return fnmatch(pattern, dp_path_file_name(relpath), 0) == 0;
}

void discover_match_utf8(void)
{
	/* glibc's fnmatch matches a name that is not valid UTF-8 byte by
	 * byte; without C.UTF-8 the C locale stays. */
	setlocale(LC_CTYPE, "C.UTF-8");
}

int discover_excluded(const discover_opts *opts, const char *relpath)
{
	for (size_t i = 0; i < opts->n_excludes; i++)
		if (discover_match(opts->excludes[i], relpath))
			return 1;
	return 0;
}

int discover_wanted(const discover_opts *opts, const char *relpath)
{
	int hit = 0;

	if (opts->n_globs == 0) {
		/* Their extensions in any case, as docpipe-chunk reads them:
		 * README.MD, SCAN0001.PDF and INDEX.HTM were left out without a
		 * word (a corpus from Windows or a scanner). */
		const char *name = dp_path_file_name(relpath);
		for (size_t i = 0; i < sizeof default_globs / sizeof default_globs[0]; i++)
			hit |= fnmatch(default_globs[i], name, FNM_CASEFOLD) == 0;
	} else {
		for (size_t i = 0; i < opts->n_globs && !hit; i++)
			hit = discover_match(opts->globs[i], relpath);
	}
	return hit && !discover_excluded(opts, relpath);
}

void discover_printable(const char *s, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0, len = strlen(s);

	if (outsz == 0)
		return;
	for (size_t i = 0; i < len;) {
		size_t k = u[i] >= 0x20 && u[i] != 0x7f ? dp_utf8_seq_len(u + i, len - i) : 0;
		if (k > 0) {
			if (n + k >= outsz)
				break;
			memcpy(out + n, s + i, k);
			n += k;
			i += k;
		} else {
			if (n + 4 >= outsz)
				break;
			snprintf(out + n, outsz - n, "\\x%02x", u[i]);
			n += 4;
			i++;
		}
	}
	out[n] = '\0';
}

struct walker {
	const discover_opts *opts;
	discover_emit_fn emit;
	void *ctx;
	discover_stats *stats;
	const char *root;            /* absolute root, as records carry it */
	char path[DISCOVER_MAX_PATH]; /* absolute path of the entry at hand */
	size_t root_len;             /* the relative path starts at path + root_len + 1 */
	int stopped;
	/* The other roots of the run inside this one (opts->roots). */
	const char **inner;
	size_t n_inner;
};

/* Whether the entry at hand is another root of the run, walked as its own. */
static int another_root(const struct walker *w)
{
	for (size_t i = 0; i < w->n_inner; i++)
		if (strcmp(w->inner[i], w->path) == 0)
			return 1;
	return 0;
}

static void skip_diag(struct walker *w, const char *why)
{
	char shown[DISCOVER_MAX_PATH];

	discover_printable(w->path, shown, sizeof shown);
	dp_diag("%s: %s", shown, why);
	w->stats->skipped++;
}

/* A directory (or part of one) not read: files there went unseen, so the
 * walk is not complete; a sweep may follow it only keeping what is stored
 * under the paths listed (stats->unread). */
static void unwalked(struct walker *w)
{
	discover_unwalked(w->stats, w->path);
}

void discover_unwalked(discover_stats *st, const char *path)
{
	st->unwalked++;
	/* A name that is not UTF-8 comes out with U+FFFD in it: no stored
	 * path lies under it, at worst one is kept. */
	if (st->unread != NULL && jv_array_length(jv_copy(*st->unread)) < DP_END_UNREAD_MAX)
		*st->unread = jv_array_append(*st->unread, jv_string(path));
}

/* Like skip_diag, for a directory (or part of one) not read. */
static void unwalked_diag(struct walker *w, const char *why)
{
	skip_diag(w, why);
	unwalked(w);
}

enum emitted { EMIT_FILE, EMIT_ERROR, EMIT_SKIP };

static void emit(struct walker *w, jv rec, enum emitted what)
{
	if (w->stopped) {
		jv_free(rec);
		return;
	}
	if (what == EMIT_ERROR)
		w->stats->errors++;
	else if (what == EMIT_SKIP)
		w->stats->skips++;
	else
		w->stats->files++;
	if (w->emit(w->ctx, rec) < 0)
		w->stopped = 1;
}

/* An error record for the entry at w->path. */
static void emit_error(struct walker *w, const char *reason)
{
	char shown[DISCOVER_MAX_PATH];
	jv from = jv_object();

	discover_printable(w->path, shown, sizeof shown);
	from = jv_object_set(from, jv_string("path"), jv_string(shown));
	from = jv_object_set(from, jv_string("root"), jv_string(w->root));
	emit(w, dp_record_error(from, "discover", reason), EMIT_ERROR);
}

/* A wanted name at w->path that is no regular file: a diagnostic, and
 * with skip_records a skip record, whose receipt says "skipped" so that
 * the run's counts add up. */
static void emit_skip(struct walker *w, const char *reason)
{
	skip_diag(w, reason);
	if (w->opts->skip_records)
		emit(w, discover_skip_record(w->path, w->root, "discover", reason), EMIT_SKIP);
}

jv discover_skip_record(const char *path, const char *root, const char *stage, const char *reason)
{
	char shown[DISCOVER_MAX_PATH];
	jv rec = jv_object();

	discover_printable(path, shown, sizeof shown);
	rec = jv_object_set(rec, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	rec = jv_object_set(rec, jv_string("kind"), jv_string(DP_KIND_SKIP));
	rec = jv_object_set(rec, jv_string("path"), jv_string(shown));
	rec = jv_object_set(rec, jv_string("root"), jv_string(root));
	rec = jv_object_set(rec, jv_string("stage"), jv_string(stage));
	return jv_object_set(rec, jv_string("reason"), jv_string(reason));
}

const char *discover_not_regular(mode_t mode)
{
	return S_ISLNK(mode)    ? "symbolic link, not followed"
	       : S_ISFIFO(mode) ? "FIFO skipped, not a regular file"
	       : S_ISSOCK(mode) ? "socket skipped, not a regular file"
				: "device skipped, not a regular file";
}

jv discover_end_record(const char *stage, unsigned long records, const discover_stats *st,
		       char *const *roots, size_t nroots, int status)
{
	jv r = jv_object(), list = jv_array();

	for (size_t i = 0; i < nroots; i++)
		list = jv_array_append(list, jv_string(roots[i]));
	r = jv_object_set(r, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	r = jv_object_set(r, jv_string("kind"), jv_string(DP_KIND_END));
	r = jv_object_set(r, jv_string("stage"), jv_string(stage));
	r = jv_object_set(r, jv_string("records"), jv_number((double)records));
	r = jv_object_set(r, jv_string("files"), jv_number((double)st->files));
	r = jv_object_set(r, jv_string("errors"), jv_number((double)st->errors));
	r = jv_object_set(r, jv_string("skips"), jv_number((double)st->skips));
	r = jv_object_set(r, jv_string("roots"), list);
	r = jv_object_set(r, jv_string("status"), jv_number(status));
	/* Every part not read listed (a directory unreadable to this user, a
	 * lost+found): a sweep keeps what is stored under them and deletes
	 * the rest (dp_end_unread). */
	if (st->unwalked > 0 && st->unread != NULL &&
	    (unsigned long)jv_array_length(jv_copy(*st->unread)) == st->unwalked)
		r = jv_object_set(r, jv_string("unread"), jv_copy(*st->unread));
	return jv_object_set(r, jv_string("complete"), jv_bool(status != DP_EXIT_SYSTEM &&
								   st->unwalked == 0));
}

/* An entry its directory listed that is gone when stat'ed or opened (a
 * temporary file, a file renamed or deleted meanwhile): nothing to store
 * and no failure.  The walk stays complete, so a sweep after it deletes
 * what was stored under that path, as for any file deleted before the
 * walk.  (A directory gone so is an unwalked one: its files may live on
 * under a new name the walk has passed.) */
static void vanished(struct walker *w)
{
	skip_diag(w, "gone since its directory was listed; not stored");
}

/* The file record for w->path, opened as `name` relative to dfd; listed:
 * the name comes from a directory listing (vanished when not there). */
static void emit_file(struct walker *w, int dfd, const char *name, int nofollow, int listed)
{
	int fd = openat(dfd, name,
			O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	char reason[DP_ERR_MAX + 64];
	char hex[DP_HASH_HEX];
	unsigned long long size;
	struct stat st;
	dp_err err;

	if (fd < 0 && errno == ENOENT && listed) {
		vanished(w);
		return;
	}
	if (fd < 0) {
		snprintf(reason, sizeof reason, "cannot open: %s", strerror(errno));
		emit_error(w, reason);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		emit_error(w, "not a regular file any more");
		return;
	}
	if ((unsigned long long)st.st_size > w->opts->max_size) {
		close(fd);
		snprintf(reason, sizeof reason, "file is %lld bytes, over --max-size %llu",
			 (long long)st.st_size, w->opts->max_size);
		emit_error(w, reason);
		return;
	}
	int rc = dp_hash_fd(fd, w->opts->max_size, hex, &size, &err);
	close(fd);
	if (rc < 0) {
		emit_error(w, err.msg);
		return;
	}
	jv rec = jv_object();
	rec = jv_object_set(rec, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	rec = jv_object_set(rec, jv_string("kind"), jv_string(DP_KIND_FILE));
	rec = jv_object_set(rec, jv_string("path"), jv_string(w->path));
	rec = jv_object_set(rec, jv_string("root"), jv_string(w->root));
	rec = jv_object_set(rec, jv_string("size"), jv_number((double)size));
	rec = jv_object_set(rec, jv_string("mtime"),
			    jv_number((double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9));
	rec = jv_object_set(rec, jv_string("hash"), jv_string(hex));
	emit(w, rec, EMIT_FILE);
}

/* Entries as read_names keeps them: the d_type byte, then the name. */
static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

/* Reads the entries of directory d, sorted by name, each its d_type byte
 * then its name.  Returns the count (the array in *names, each malloc'ed),
 * or -1 on allocation failure. */
static long read_names(struct walker *w, DIR *d, char ***names)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	struct dirent *e;

	for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '.' && !w->opts->hidden)
			continue;
		if (n == DISCOVER_MAX_ENTRIES) {
			unwalked_diag(w, "directory has too many entries; the rest are skipped");
			break;
		}
		if (n == cap) {
			size_t ncap = cap == 0 ? 64 : cap * 2;
			char **nv = realloc(v, ncap * sizeof *nv);
			if (nv == NULL)
				goto oom;
			v = nv;
			cap = ncap;
		}
		size_t len = strlen(e->d_name);
		if ((v[n] = malloc(len + 2)) == NULL)
			goto oom;
		v[n][0] = (char)e->d_type;
		memcpy(v[n] + 1, e->d_name, len + 1);
		n++;
	}
	if (errno != 0) {
		char why[DP_ERR_MAX];
		snprintf(why, sizeof why, "reading the directory: %s", strerror(errno));
		unwalked_diag(w, why);
	}
	if (n > 0)
		qsort(v, n, sizeof *v, by_name);
	*names = v;
	return (long)n;
oom:
	while (n > 0)
		free(v[--n]);
	free(v);
	return -1;
}

static int walk_dir(struct walker *w, int dfd, size_t len, int depth, dp_err *err);

/* Handles entry `name` of the directory dfd, of d_type `type` as listed;
 * w->path holds its path. */
static int visit(struct walker *w, int dfd, const char *name, unsigned char type, size_t len,
		 int depth, dp_err *err)
{
	const char *rel = w->path + w->root_len + 1;
	struct stat st;
	char why[DP_ERR_MAX];

	if (another_root(w))
		return 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && type != DT_DIR && type != DT_UNKNOWN) {
			vanished(w);
			return 0;
		}
		snprintf(why, sizeof why, "cannot stat: %s", strerror(errno));
		unwalked_diag(w, why);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		if (discover_wanted(w->opts, rel))
			emit_skip(w, discover_not_regular(st.st_mode));
		else if (!discover_excluded(w->opts, rel))
			skip_diag(w, discover_not_regular(st.st_mode));
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (discover_excluded(w->opts, rel))
			return 0;
		if (dp_utf8_invalid_at(name, strlen(name)) < strlen(name)) {
			emit_error(w, "directory name is not valid UTF-8; not walked");
			unwalked(w);
			return 0;
		}
		if (depth >= DISCOVER_MAX_DEPTH) {
			unwalked_diag(w, "directories nested too deep; not walked");
			return 0;
		}
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* The process's limit, not the directory: skipped as
			 * unreadable, the files under it went unseen with exit 0
			 * (a tree deeper than the limit: ulimit -n 64, 60 levels).
			 * The walk holds one descriptor per level. */
			char shown[DISCOVER_MAX_PATH];
			discover_printable(w->path, shown, sizeof shown);
			dp_err_set(err, "%s: cannot open directory: %s (the walk holds one for each directory"
				   " level, %d here): raise the limit on open files (ulimit -n)", shown,
				   strerror(errno), depth + 2);
			w->stopped = 1;
			return -1;
		}
		if (fd < 0) {
			snprintf(why, sizeof why, "cannot open directory: %s", strerror(errno));
			unwalked_diag(w, why);
			return 0;
		}
		return walk_dir(w, fd, len, depth + 1, err);
	}
	if (!discover_wanted(w->opts, rel))
		return 0;
	if (!S_ISREG(st.st_mode)) {
		emit_skip(w, discover_not_regular(st.st_mode));
		return 0;
	}
	if (dp_utf8_invalid_at(name, strlen(name)) < strlen(name)) {
		emit_error(w, "file name is not valid UTF-8");
		return 0;
	}
	emit_file(w, dfd, name, 1, 1);
	return 0;
}

/* Walks the directory open as dfd (consumed), whose path is w->path[0..len). */
static int walk_dir(struct walker *w, int dfd, size_t len, int depth, dp_err *err)
{
	DIR *d = fdopendir(dfd);
	char **names;
	long n;

	if (d == NULL) {
		close(dfd);
		w->path[len] = '\0';
		unwalked_diag(w, "cannot read directory");
		return 0;
	}
	w->path[len] = '\0';
	n = read_names(w, d, &names);
	if (n < 0) {
		closedir(d);
		dp_err_set(err, "out of memory");
		w->stopped = 1;
		return -1;
	}
	for (long i = 0; i < n; i++) {
		const char *name = names[i] + 1;
		size_t nlen = strlen(name);
		if (w->stopped)
			break;
		if (len + 1 + nlen >= sizeof w->path) {
			w->path[len] = '\0';
			unwalked_diag(w, "path too long; an entry is skipped");
			continue;
		}
		w->path[len] = '/';
		memcpy(w->path + len + 1, name, nlen + 1);
		if (visit(w, dirfd(d), name, (unsigned char)names[i][0], len + 1 + nlen, depth, err) < 0)
			break;
	}
	w->path[len] = '\0';
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return w->stopped ? -1 : 0;
}

int discover_walk(const char *root, const discover_opts *opts, discover_emit_fn emit_fn,
		  void *ctx, discover_stats *stats, dp_err *err)
{
	struct walker *w;
	struct stat st;
	char *abs;
	int rc = 0;

	if (stat(root, &st) != 0) {
		dp_err_set(err, "%s: %s", root, strerror(errno));
		return 1;
	}
	abs = dp_path_absolute(root, err);
	if (abs == NULL)
		return 1;
	if (dp_utf8_invalid_at(abs, strlen(abs)) < strlen(abs)) {
		dp_err_set(err, "%s: path is not valid UTF-8", root);
		free(abs);
		return 1;
	}
	if (strlen(abs) >= DISCOVER_MAX_PATH) {
		dp_err_set(err, "%s: path too long", root);
		free(abs);
		return 1;
	}
	w = calloc(1, sizeof *w);
	if (w == NULL) {
		dp_err_set(err, "out of memory");
		free(abs);
		return 1;
	}
	*w = (struct walker){.opts = opts, .emit = emit_fn, .ctx = ctx, .stats = stats};
	strcpy(w->path, abs);
	if (S_ISDIR(st.st_mode) && opts->n_roots > 0) {
		size_t len = strlen(abs);
		w->inner = malloc(opts->n_roots * sizeof *w->inner);
		if (w->inner == NULL) {
			dp_err_set(err, "out of memory");
			free(w);
			free(abs);
			return 1;
		}
		for (size_t i = 0; i < opts->n_roots; i++)
			if (opts->roots[i] != NULL && strncmp(opts->roots[i], abs, len) == 0 &&
			    (opts->roots[i][len] == '/' || (len == 1 && opts->roots[i][1] != '\0')))
				w->inner[w->n_inner++] = opts->roots[i];
	}
	if (S_ISDIR(st.st_mode)) {
		int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		w->root = abs;
		w->root_len = strcmp(abs, "/") == 0 ? 0 : strlen(abs);
		if (fd < 0) {
			dp_err_set(err, "%s: %s", root, strerror(errno));
			rc = 1;
		} else {
			rc = walk_dir(w, fd, w->root_len, 0, err);
		}
	} else if (S_ISREG(st.st_mode)) {
		/* A file named on the command line is taken whatever its name; its
		 * directory is its root. */
		char *slash = strrchr(abs, '/');
		*slash = '\0';
		w->root = slash == abs ? "/" : abs;
		emit_file(w, AT_FDCWD, root, 0, 0);
		rc = w->stopped ? -1 : 0;
	} else {
		dp_err_set(err, "%s: not a directory or regular file", root);
		rc = 1;
	}
	free(w->inner);
	free(w);
	free(abs);
	return rc;
}

int discover_file(const char *root, const char *path, const discover_opts *opts,
		  discover_emit_fn emit_fn, void *ctx, discover_stats *stats)
{
	struct walker *w = calloc(1, sizeof *w);

	if (w == NULL || strlen(path) >= DISCOVER_MAX_PATH) {
		free(w);
		return -2;
	}
	*w = (struct walker){.opts = opts, .emit = emit_fn, .ctx = ctx, .stats = stats,
			     .root = root};
	strcpy(w->path, path);
	emit_file(w, AT_FDCWD, path, 1, 0);
	int rc = w->stopped ? -1 : 0;
	free(w);
	return rc;
}
