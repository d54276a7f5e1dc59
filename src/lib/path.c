#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path (absolute, owned, consumed) with its ".." components gone, as the
 * kernel reads them: the part through the last one resolved (realpath:
 * the parent of a symbolic link is its target's), the rest as it is, its
 * links kept.  A path whose part cannot be resolved (gone, no permission,
 * out of memory) is returned as it is. */
static char *without_dotdot(char *path)
{
	char *last = NULL, *resolved, *out;

	for (char *c = path; (c = strstr(c, "/..")) != NULL; c += 3)
		if (c[3] == '/' || c[3] == '\0')
			last = c + 3;
	if (last == NULL)
		return path;
	char rest = *last;
	*last = '\0';
	resolved = realpath(path, NULL);
	*last = rest;
	if (resolved == NULL)
		return path;
	size_t rlen = strcmp(resolved, "/") == 0 ? 0 : strlen(resolved), tail = strlen(last);
	out = malloc(rlen + tail + 2);
	if (out != NULL) {
		memcpy(out, resolved, rlen);
		memcpy(out + rlen, last, tail + 1);
		if (rlen + tail == 0)
			strcpy(out, "/");
	}
	free(resolved);
	if (out == NULL)
		return path;
	free(path);
	return out;
}

char *dp_path_absolute(const char *path, dp_err *err)
{
	char *cwd = NULL;
	size_t cap;
	char *out;

	if (path[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (cwd == NULL) {
			dp_err_set(err, "cannot get the working directory: %s", strerror(errno));
			return NULL;
		}
	}
	cap = (cwd != NULL ? strlen(cwd) : 0) + strlen(path) + 3;
	out = malloc(cap);
	if (out == NULL) {
		free(cwd);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	/* Join, then copy component by component dropping "", "." */
	char *joined = malloc(cap);
	if (joined == NULL) {
		free(cwd);
		free(out);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	snprintf(joined, cap, "%s/%s", cwd != NULL ? cwd : "", path);
	free(cwd);
	size_t n = 0;
	for (char *c = joined; *c != '\0';) {
		while (*c == '/')
			c++;
		size_t clen = strcspn(c, "/");
		if (clen > 0 && !(clen == 1 && c[0] == '.')) {
			out[n++] = '/';
			memcpy(out + n, c, clen);
			n += clen;
		}
		c += clen;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(joined);
	return without_dotdot(out);
}

const char *dp_path_file_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

const char *dp_path_extension(const char *path)
{
	return strrchr(dp_path_file_name(path), '.');
}

int dp_path_still_there(const char *path, char *const *roots, size_t nroots)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno != ENOENT && errno != ENOTDIR;
	if (S_ISREG(st.st_mode))
		return 1;
	if (S_ISLNK(st.st_mode))
		for (size_t i = 0; i < nroots; i++)
			if (strcmp(roots[i], path) == 0)
				return stat(path, &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

int dp_path_empty_directory(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = d != NULL;

	while (d != NULL && empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	if (d != NULL)
		closedir(d);
	return empty;
}
