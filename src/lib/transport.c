#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"
#include "record.h"

struct dp_source {
	dp_lines *lines;
	int fd;
	dp_sink *flush_sink;
};

struct dp_sink {
	FILE *out;
	pthread_mutex_t lock;
	/* Set while the source waits for input: output is then flushed as it is
	 * written, so results of slow work are not held back. */
	atomic_int source_idle;
};

static int is_stdio(const char *endpoint)
{
	return endpoint == NULL || strcmp(endpoint, "-") == 0;
}

static size_t max_record(const dp_io_opts *opts)
{
	return opts != NULL && opts->max_record > 0 ? opts->max_record : DP_RECORD_MAX_DEFAULT;
}

dp_source *dp_source_open(const char *endpoint, const dp_io_opts *opts, dp_err *err)
{
	if (!is_stdio(endpoint)) {
		dp_err_set(err, "%s: ZeroMQ endpoints are not supported by this build", endpoint);
		return NULL;
	}
	dp_source *src = calloc(1, sizeof *src);
	if (src == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	src->fd = STDIN_FILENO;
	src->lines = dp_lines_new(src->fd, max_record(opts));
	if (src->lines == NULL) {
		free(src);
		dp_err_set(err, "out of memory");
		return NULL;
	}
	return src;
}

void dp_source_free(dp_source **src)
{
	if (*src == NULL)
		return;
	dp_lines_free(&(*src)->lines);
	free(*src);
	*src = NULL;
}

void dp_source_flush_on_idle(dp_source *src, dp_sink *sink)
{
	src->flush_sink = sink;
}

/* Called before a read that may block. */
static void about_to_wait(dp_source *src)
{
	struct pollfd p = {.fd = src->fd, .events = POLLIN};

	if (src->flush_sink == NULL)
		return;
	if (poll(&p, 1, 0) == 1)
		return; /* input is ready: keep batching output */
	atomic_store(&src->flush_sink->source_idle, 1);
	dp_sink_flush(src->flush_sink, NULL);
}

static jv bad_line(unsigned long lineno, const char *why)
{
	char reason[DP_ERR_MAX + 64];

	snprintf(reason, sizeof reason, "input line %lu: %s", lineno, why);
	return dp_record_error(jv_null(), dp_stage(), reason);
}

int dp_source_next(dp_source *src, jv *rec, dp_err *err)
{
	for (;;) {
		const char *line;
		size_t len;
		unsigned long lineno;
		dp_err why;
		int rc;

		about_to_wait(src);
		rc = dp_lines_next(src->lines, &line, &len, &lineno, err);
		if (src->flush_sink != NULL)
			atomic_store(&src->flush_sink->source_idle, 0);
		if (rc == DP_LINES_ERROR)
			return DP_SOURCE_ERROR;
		if (rc == DP_LINES_EOF)
			return DP_SOURCE_END;
		if (rc == DP_LINES_TOO_LONG) {
			*rec = bad_line(lineno, err->msg);
			return DP_SOURCE_RECORD;
		}
		if (strspn(line, " \t\r") == len)
			continue; /* blank lines carry nothing */
		*rec = dp_record_parse(line, len, &why);
		if (!jv_is_valid(*rec)) {
			jv_free(*rec);
			*rec = bad_line(lineno, why.msg);
		}
		return DP_SOURCE_RECORD;
	}
}

dp_sink *dp_sink_open(const char *endpoint, const dp_io_opts *opts, dp_err *err)
{
	(void)opts;
	if (!is_stdio(endpoint)) {
		dp_err_set(err, "%s: ZeroMQ endpoints are not supported by this build", endpoint);
		return NULL;
	}
	dp_sink *sink = calloc(1, sizeof *sink);
	if (sink == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	sink->out = stdout;
	pthread_mutex_init(&sink->lock, NULL);
	return sink;
}

static int write_failed(dp_err *err)
{
	dp_err_set(err, "write to standard output: %s", strerror(errno));
	return -1;
}

int dp_sink_put(dp_sink *sink, jv rec, dp_err *err)
{
	jv text = dp_record_dump(rec);
	int rc = 0;

	pthread_mutex_lock(&sink->lock);
	if (fwrite(jv_string_value(text), 1, (size_t)jv_string_length_bytes(jv_copy(text)), sink->out) == 0 ||
	    putc('\n', sink->out) == EOF)
		rc = write_failed(err);
	else if (atomic_load(&sink->source_idle) && fflush(sink->out) == EOF)
		rc = write_failed(err);
	pthread_mutex_unlock(&sink->lock);
	jv_free(text);
	return rc;
}

int dp_sink_flush(dp_sink *sink, dp_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&sink->lock);
	if (fflush(sink->out) == EOF)
		rc = write_failed(err);
	pthread_mutex_unlock(&sink->lock);
	return rc;
}

int dp_sink_close(dp_sink **sink, dp_err *err)
{
	int rc;

	if (*sink == NULL)
		return 0;
	rc = dp_sink_flush(*sink, err);
	pthread_mutex_destroy(&(*sink)->lock);
	free(*sink);
	*sink = NULL;
	return rc;
}
