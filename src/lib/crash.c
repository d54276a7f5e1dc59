#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jv.h>

#include "clock.h"
#include "err.h"
#include "lines.h"


/* The crashed list is a few lines per crash; beyond this it is not read. */
#define CRASHED_MAX (16u << 20)
#define CRASHED_LINE_MAX (64u << 10) /* a signal's name and a path in JSON */
#define WATCH_MS 250 /* the watchdog looks at the document in progress this often */

struct dp_crash {
	char *doing_path, *crashed_path, *reading_path;
	int doing_fd;
	int reading_fd;     /* DIR/reading.PID, made at the first dp_crash_reading; -1 before */
	unsigned long done; /* documents finished: the journal line's first field */
	/* The crashed list as last read, under list_lock: the lookups come
	 * from two threads in the store (its reader and its writer). */
	pthread_mutex_t list_lock;
	off_t crashed_size; /* of the list when last read, -1 before */
	jv crashed;         /* object: path -> signal name */
	jv suspects;        /* object: path -> signal name (SUSPECT lines) */
	size_t doing_n;     /* documents in progress (dp_crash_done counts them) */
	/* The watchdog (dp_crash_watch): the document in progress as its
	 * journal line, since when (ms, 0: none), under lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the watcher's naps, cut short by dp_crash_close */
	pthread_t watcher;
	int watching, limit_s;
	int stop;
	char *doing_line;
	double doing_since;
};

dp_crash *dp_crash_open(const char *dir, dp_err *err)
{
	dp_crash *c = calloc(1, sizeof *c);

	if (c == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	c->doing_fd = -1;
	c->reading_fd = -1;
	c->crashed_size = -1;
	c->crashed = jv_object();
	c->suspects = jv_object();
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->list_lock, NULL);
	dp_cond_init(&c->wake);
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    asprintf(&c->doing_path, "%s/doing.%ld", dir, (long)getpid()) < 0 ||
	    asprintf(&c->crashed_path, "%s/crashed", dir) < 0 ||
	    asprintf(&c->reading_path, "%s/reading.%ld", dir, (long)getpid()) < 0 ||
	    (c->doing_fd = open(c->doing_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		dp_err_set(err, "--crash-dir %s: %s", dir, strerror(errno));
		dp_crash_close(&c);
		return NULL;
	}
	return c;
}

void dp_crash_close(dp_crash **cp)
{
	dp_crash *c = *cp;

	if (c == NULL)
		return;
	if (c->watching) {
		/* Woken, not waited for: a replica's exit does not wait out
		 * the watcher's nap (it made every run end 0.1-0.25 s late). */
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->watcher, NULL);
	}
	free(c->doing_line);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->list_lock);
	if (c->doing_fd >= 0) {
		close(c->doing_fd);
		unlink(c->doing_path);
	}
	if (c->reading_fd >= 0) {
		close(c->reading_fd);
		unlink(c->reading_path);
	}
	free(c->doing_path);
	free(c->crashed_path);
	free(c->reading_path);
	jv_free(c->crashed);
	jv_free(c->suspects);
	free(c);
	*cp = NULL;
}

/* Reads the crashed list again when it changed size (the supervisor only
 * appends to it).  Called with list_lock held. */
static void reload(dp_crash *c)
{
	struct stat st;
	int fd;

	if (stat(c->crashed_path, &st) != 0 || st.st_size == c->crashed_size ||
	    st.st_size > (off_t)CRASHED_MAX || (fd = open(c->crashed_path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	dp_lines *lines = dp_lines_new(fd, CRASHED_LINE_MAX);
	const char *line;
	size_t len;
	unsigned long lineno;
	dp_err ignored; /* a line that cannot be read names no document */
	int rc;
	while (lines != NULL && (rc = dp_lines_next(lines, &line, &len, &lineno, &ignored)) != DP_LINES_EOF &&
	       rc != DP_LINES_ERROR) {
		const char *space = rc == DP_LINES_OK ? memchr(line, ' ', len) : NULL;
		/* "SUSPECT SIGNAL JSON-PATH": the signal is the second word. */
		int suspect = space != NULL && space - line == 7 && memcmp(line, "SUSPECT", 7) == 0;
		if (suspect) {
			line = space + 1;
			len -= 8;
			space = memchr(line, ' ', len);
		}
		if (space == NULL)
			continue;
		jv path = jv_parse_sized(space + 1, (int)(line + len - (space + 1)));
		jv *into = suspect ? &c->suspects : &c->crashed;
		if (jv_get_kind(path) == JV_KIND_STRING)
			*into = jv_object_set(*into, path, jv_string_sized(line, (int)(space - line)));
		else
			jv_free(path);
	}
	dp_lines_free(&lines);
	close(fd);
	c->crashed_size = st.st_size;
}

int dp_crash_listed(dp_crash *c, const char *path, char *why, size_t size)
{
	pthread_mutex_lock(&c->list_lock);
	reload(c);
	jv sig = jv_object_get(jv_copy(c->crashed), jv_string(path));
	int listed = jv_get_kind(sig) == JV_KIND_STRING;
	/* "SIGNAL:read": the death came as the record was read (parsed). */
	char name[64];
	snprintf(name, sizeof name, "%s", listed ? jv_string_value(sig) : "");
	size_t cut = strlen(name) > 5 ? strlen(name) - 5 : 0;
	int reading = cut > 0 && strcmp(name + cut, ":read") == 0;
	const char *doing = reading ? "reading (parsing) this record" : "processing this document";
	if (reading)
		name[cut] = '\0';

	if (listed && strncmp(name, "TIMEOUT-", 8) == 0)
		snprintf(why, size, "processing this document lasted over %s s (a parser or converter"
			 " looping on it?): its replica was ended; not tried again in this run",
			 name + 8);
	else if (listed && strcmp(name, "SIGKILL-2") == 0)
		snprintf(why, size, "replicas of this stage were killed by SIGKILL twice while %s"
			 " (out of memory?); not tried again in this run", doing);
	else if (listed)
		snprintf(why, size, "a replica of this stage died of %s %s; not tried again in this run",
			 name, doing);
	jv_free(sig);
	pthread_mutex_unlock(&c->list_lock);
	return listed;
}

int dp_crash_any(dp_crash *c)
{
	pthread_mutex_lock(&c->list_lock);
	reload(c);
	int any = jv_object_length(jv_copy(c->crashed)) > 0 || jv_object_length(jv_copy(c->suspects)) > 0;
	pthread_mutex_unlock(&c->list_lock);
	return any;
}

int dp_crash_suspected(dp_crash *c, const char *path)
{
	pthread_mutex_lock(&c->list_lock);
	reload(c);
	jv sig = jv_object_get(jv_copy(c->suspects), jv_string(path));
	int suspected = jv_get_kind(sig) == JV_KIND_STRING;

	jv_free(sig);
	pthread_mutex_unlock(&c->list_lock);
	return suspected;
}

/* The doing file's first line is the count of documents finished and the
 * document in progress; what follows it is stale bytes of longer lines
 * before, never read.  No truncation: a pwrite per mark is the whole cost
 * (measured: with ftruncate, 17 us per document, a third of chunk's time
 * on small Markdown files). */
void dp_crash_doing(dp_crash *c, const char *path)
{
	c->doing_n = 1;
	jv text = jv_dump_string(jv_string(path), 0);
	char count[24];
	int n = snprintf(count, sizeof count, "%lu ", c->done);
	struct iovec line[] = {{count, (size_t)n},
			       {(void *)jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text))},
			       {"\n", 1}};

	if (pwritev(c->doing_fd, line, 3, 0) < 0) {
		/* ignored: see dp_crash_doing's contract */
	}
	if (c->watching) {
		pthread_mutex_lock(&c->lock);
		free(c->doing_line);
		c->doing_line = strdup(jv_string_value(text));
		c->doing_since = dp_clock_ms();
		pthread_mutex_unlock(&c->lock);
	}
	jv_free(text);
}

/* Several documents: "DONE #N", then one line per document; the count
 * says where the list ends (stale bytes may follow it, as above).  One
 * pwrite of the whole text, per batch. */
void dp_crash_doing_all(dp_crash *c, const char *const *paths, size_t n)
{
	if (n == 1) {
		dp_crash_doing(c, paths[0]);
		return;
	}
	jv text = jv_string_fmt("%lu #%zu\n", c->done, n);
	for (size_t i = 0; i < n; i++) {
		text = jv_string_concat(text, jv_dump_string(jv_string(paths[i]), 0));
		text = jv_string_append_buf(text, "\n", 1);
	}
	c->doing_n = n;
	if (pwrite(c->doing_fd, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), 0) < 0) {
		/* ignored: see dp_crash_doing's contract */
	}
	jv_free(text);
}

void dp_crash_done(dp_crash *c)
{
	char count[24];
	int n = snprintf(count, sizeof count, "%lu\n", c->done += c->doing_n);

	c->doing_n = 0;
	if (c->watching) {
		pthread_mutex_lock(&c->lock);
		c->doing_since = 0;
		pthread_mutex_unlock(&c->lock);
	}
	if (pwrite(c->doing_fd, count, (size_t)n, 0) < 0) {
		/* ignored: a line without a path names no document */
	}
}

/* The reading file holds one line, "JSON-PATH", from the mark to
 * dp_crash_read, which empties it: marks come only for records large
 * enough that the parse matters (the caller's choice), so a truncation
 * costs nothing there. */
void dp_crash_reading(dp_crash *c, const char *path)
{
	if (c->reading_fd < 0)
		c->reading_fd = open(c->reading_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	jv text = jv_dump_string(jv_string(path), 0);
	struct iovec line[] = {{(void *)jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text))},
			       {"\n", 1}};

	if (c->reading_fd >= 0 && pwritev(c->reading_fd, line, 2, 0) < 0) {
		/* ignored: see dp_crash_doing's contract */
	}
	jv_free(text);
}

void dp_crash_read(dp_crash *c)
{
	if (c->reading_fd >= 0 && ftruncate(c->reading_fd, 0) < 0) {
		/* ignored: the record stays named until the next mark; a
		 * death then may blame it (as if it were being read) */
	}
}

/* Lists the document in progress as timed out and ends the process. */
static void time_out(dp_crash *c, const char *line)
{
	char *entry = NULL;
	int fd = open(c->crashed_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd >= 0 && asprintf(&entry, "TIMEOUT-%d %s\n", c->limit_s, line) > 0 &&
	    write(fd, entry, strlen(entry)) < 0) {
		/* the supervisor still restarts the replica; the document is tried again */
	}
	if (fd >= 0)
		close(fd);
	free(entry);
	dp_diag("%s: processing it has lasted over %d s (a parser or converter looping on it?):"
		" it fails, not tried again in this run; ending this replica", line, c->limit_s);
	raise(SIGKILL);
}

static void *watch(void *arg)
{
	dp_crash *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct timespec until = dp_deadline_ms(WATCH_MS);
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
		int over = !c->stop && c->doing_since > 0 &&
			   dp_clock_ms() - c->doing_since > c->limit_s * 1000.0;
		if (over && c->doing_line != NULL) {
			char *line = strdup(c->doing_line);
			pthread_mutex_unlock(&c->lock);
			if (line != NULL)
				time_out(c, line); /* does not return */
			free(line);
			pthread_mutex_lock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int dp_crash_watch(dp_crash *c, int limit_s, dp_err *err)
{
	c->limit_s = limit_s;
	if (pthread_create(&c->watcher, NULL, watch, c) != 0) {
		dp_err_set(err, "cannot start the document watchdog: no thread");
		return -1;
	}
	c->watching = 1;
	return 0;
}
