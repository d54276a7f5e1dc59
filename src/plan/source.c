#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lines.h"
#include "plan.h"
#include "record.h"

extern char **environ;

/* The stage executables sit beside this one (bin/ or build/asan/bin/). */
static int sibling(const char *stage, char *out, size_t size, dp_err *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n < 0) {
		dp_err_set(err, "cannot find my own executable: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*slash = '\0';
	if ((size_t)snprintf(out, size, "%s/docpipe-%s", self, stage) >= size) {
		dp_err_set(err, "path too long");
		return -1;
	}
	return 0;
}

/* Starts bin with args (NULL-terminated after extra; argv[0] is bin),
 * stdin from in_fd and stdout to out_fd.  Returns the pid or -1 with err. */
static pid_t spawn(const char *bin, char *const *args, size_t nargs, char *const *extra,
		   size_t nextra, int in_fd, int out_fd, dp_err *err)
{
	char **argv = calloc(nargs + nextra + 2, sizeof *argv);
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;

	if (argv == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	argv[0] = (char *)bin;
	for (size_t i = 0; i < nargs; i++)
		argv[1 + i] = args[i];
	for (size_t i = 0; i < nextra; i++)
		argv[1 + nargs + i] = extra[i];
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	if (rc != 0) {
		dp_err_set(err, "cannot start %s: %s", bin, strerror(rc));
		return -1;
	}
	return pid;
}

/* Waits for pid; returns its exit status (128+signal when killed). */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 128;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reads records from fd and hands them on in batches.  Returns 0 or -1
 * with err. */
static int read_all(int fd, int (*take)(plan *, jv *, size_t, dp_err *), plan *p, size_t batch,
		    dp_err *err)
{
	dp_lines *lines = dp_lines_new(fd, DP_RECORD_MAX_DEFAULT);
	jv *recs = malloc(batch * sizeof *recs);
	const char *line;
	size_t len, n = 0;
	unsigned long lineno;
	int st, rc = 0;

	if (lines == NULL || recs == NULL) {
		dp_lines_free(&lines);
		free(recs);
		dp_err_set(err, "out of memory");
		return -1;
	}
	while (rc == 0 && (st = dp_lines_next(lines, &line, &len, &lineno, err)) != DP_LINES_EOF) {
		if (st == DP_LINES_ERROR) {
			rc = -1;
			break;
		}
		if (st != DP_LINES_OK || len == 0)
			continue;
		jv rec = dp_record_parse(line, len, err);
		if (!jv_is_valid(rec)) {
			jv_free(rec);
			continue; /* chunk writes records only; not ours to judge */
		}
		recs[n++] = rec;
		if (n == batch) {
			rc = take(p, recs, n, err);
			n = 0;
		}
	}
	if (rc == 0 && n > 0)
		rc = take(p, recs, n, err);
	else if (rc < 0)
		for (size_t i = 0; i < n; i++)
			jv_free(recs[i]);
	free(recs);
	dp_lines_free(&lines);
	return rc;
}

int plan_read_documents(const plan_opts *o, int (*take)(plan *, jv *, size_t, dp_err *),
			plan *p, size_t batch, dp_err *err)
{
	char disc[PATH_MAX], chunk[PATH_MAX];
	int a[2], b[2];

	if (sibling("discover", disc, sizeof disc, err) < 0 ||
	    sibling("chunk", chunk, sizeof chunk, err) < 0)
		return -1;
	if (pipe2(a, O_CLOEXEC) < 0) {
		dp_err_set(err, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(b, O_CLOEXEC) < 0) {
		dp_err_set(err, "pipe: %s", strerror(errno));
		close(a[0]), close(a[1]);
		return -1;
	}
	pid_t dpid = spawn(disc, o->discover_argv, o->ndiscover, o->roots, o->nroots, -1, a[1], err);
	close(a[1]);
	pid_t cpid = dpid < 0 ? -1 : spawn(chunk, o->chunk_argv, o->nchunk, NULL, 0, a[0], b[1], err);
	close(a[0]);
	close(b[1]);
	int rc = cpid < 0 ? -1 : read_all(b[0], take, p, batch, err);
	close(b[0]); /* a stage still writing gets EPIPE and ends */
	int dst = dpid < 0 ? 0 : reap(dpid), cst = cpid < 0 ? 0 : reap(cpid);
	/* Status 1: some records failed; they are error records we counted. */
	if (rc == 0 && (dst > 1 || cst > 1)) {
		dp_err_set(err, "%s exited with status %d", dst > 1 ? "docpipe-discover" : "docpipe-chunk",
			   dst > 1 ? dst : cst);
		rc = -1;
	}
	return rc;
}
