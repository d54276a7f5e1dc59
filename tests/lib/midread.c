/* An LD_PRELOAD for tests: a file rewritten in place while a process reads
 * it, at the same point every time.
 *
 * A read() of the file MIDREAD_FILE asking for more than one byte gets
 * the first half of what it asked for; before that half returns, the file
 * is rewritten in place from its start with the bytes of MIDREAD_WITH (a
 * save that does not truncate: an editor, a tool, a download's pieces),
 * so the reader's next read() goes on in the new version: one buffer
 * with bytes of two versions.  MIDREAD_TIMES=N (default 1): only the first
 * N such reads are cut so (0: every one).  A line "midread: rewrote FILE"
 * on stderr each time.  Build: cc -shared -fPIC -o midread.so midread.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t (*real_read)(int, void *, size_t);
static int cuts;

/* Whether fd is open on path. */
static int is_file(int fd, const char *path)
{
	char link[64], target[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, path) == 0;
}

/* Copies the file from over the start of the file to (no truncation). */
static void rewrite(const char *to, const char *from)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY);
	ssize_t n;

	while (in >= 0 && out >= 0 && (n = real_read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	fprintf(stderr, "midread: rewrote %s\n", to);
}

ssize_t read(int fd, void *buf, size_t count)
{
	if (real_read == NULL)
		real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	const char *file = getenv("MIDREAD_FILE"), *with = getenv("MIDREAD_WITH");
	const char *times = getenv("MIDREAD_TIMES");
	int most = times != NULL ? atoi(times) : 1;
	if (file == NULL || with == NULL || count < 2 || (most > 0 && cuts >= most) || !is_file(fd, file))
		return real_read(fd, buf, count);
	cuts++;
	ssize_t got = real_read(fd, buf, count / 2);
	rewrite(file, with);
	return got;
}
