#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "jqfilter.h"
#include "json.h"
#include "lines.h"
#include "output.h"
#include "record.h"
#include "stats.h"
#include "zmqsock.h"

/* How often a ZeroMQ send blocked by full receivers looks at the stop
 * flag (and a receive, when no stop pipe could be made).  A receive
 * otherwise waits in zmq_poll beside the stop pipe (dp_stop_fd) and the
 * source's wake pipe: a stopped replica ends at once (every thread, not
 * only the one the signal hit) and an idle one does not wake at all. */
#define DP_POLL_MS 20

struct dp_source {
	dp_lines *lines; /* stdin, or NULL */
	int fd;
	void *zsock;     /* ZeroMQ, or NULL */
	size_t max_record;
	unsigned long msgno;
	dp_sink *flush_sink;
	dp_source_peek_fn peek; /* NULL: none */
	void *peek_arg;
	/* dp_source_interrupt: the flag, and a pipe whose read end the line
	 * reader or the ZeroMQ receive watches beside its input. */
	atomic_int interrupted;
	int wake[2];
};

struct dp_sink {
	FILE *out;   /* stdout, or NULL */
	void *zsock; /* ZeroMQ, or NULL */
	dp_jq *jq;
	size_t max_record;
	pthread_mutex_t lock;
	/* Set while the source waits for input: output is then flushed as it is
	 * written, so results of slow work are not held back. */
	atomic_int source_idle;
};

static size_t max_record(const dp_io_opts *opts)
{
	return opts != NULL && opts->max_record > 0 ? opts->max_record : DP_RECORD_MAX_DEFAULT;
}

static dp_zmq_opts zmq_opts(const dp_io_opts *opts)
{
	dp_zmq_opts z = {.max_record = max_record(opts)};

	if (opts != NULL) {
		z.hwm = opts->hwm;
		z.curve_server = opts->curve_server;
		z.curve_key = opts->curve_key;
		z.insecure = opts->insecure;
	}
	return z;
}

static int set_timeout(void *sock, int option, dp_err *err)
{
	int ms = DP_POLL_MS;

	if (zmq_setsockopt(sock, option, &ms, sizeof ms) == 0)
		return 0;
	dp_err_set(err, "zmq_setsockopt timeout: %s", zmq_strerror(zmq_errno()));
	return -1;
}

static void close_wake(dp_source *src)
{
	for (int i = 0; i < 2; i++)
		if (src->wake[i] >= 0)
			close(src->wake[i]);
}

dp_source *dp_source_open(const char *endpoint, const dp_io_opts *opts, dp_err *err)
{
	dp_source *src = calloc(1, sizeof *src);

	if (src == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	src->wake[0] = src->wake[1] = -1;
	if (pipe2(src->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		dp_err_set(err, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (dp_zmq_is_endpoint(endpoint)) {
		dp_zmq_opts z = zmq_opts(opts);
		src->fd = -1;
		src->max_record = z.max_record;
		if ((src->zsock = dp_zmq_open(ZMQ_PULL, endpoint, &z, err)) == NULL)
			goto fail;
		return src;
	}
	src->fd = STDIN_FILENO;
	src->lines = dp_lines_new(src->fd, max_record(opts));
	if (src->lines == NULL) {
		dp_err_set(err, "out of memory");
		goto fail;
	}
	dp_lines_set_wake_fd(src->lines, src->wake[0]);
	return src;
fail:
	dp_zmq_close(&src->zsock);
	close_wake(src);
	free(src);
	return NULL;
}

void dp_source_free(dp_source **src)
{
	if (*src == NULL)
		return;
	dp_lines_free(&(*src)->lines);
	dp_zmq_close(&(*src)->zsock);
	close_wake(*src);
	free(*src);
	*src = NULL;
}

void dp_source_interrupt(dp_source *src)
{
	/* The reader, stdin or ZeroMQ, is woken by the byte on the wake pipe. */
	if (!atomic_exchange(&src->interrupted, 1) && src->wake[1] >= 0) {
		ssize_t w;
		do
			w = write(src->wake[1], "", 1);
		while (w < 0 && errno == EINTR);
	}
}

/* dp_lines_next, interruptible: see dp_source_interrupt. */
static int lines_next(dp_source *src, const char **line, size_t *len, unsigned long *lineno,
		      dp_err *err)
{
	int rc = atomic_load(&src->interrupted) ? DP_LINES_EOF
						: dp_lines_next(src->lines, line, len, lineno, err);

	/* What an interrupted read returned (a line cut short by the early
	 * end) is not input. */
	return atomic_load(&src->interrupted) ? DP_LINES_EOF : rc;
}

void dp_source_flush_on_idle(dp_source *src, dp_sink *sink)
{
	src->flush_sink = sink;
}

void dp_source_peek(dp_source *src, dp_source_peek_fn peek, void *arg)
{
	src->peek = peek;
	src->peek_arg = arg;
}

/* The record of text[0..len): what the peek gives instead, else its parse
 * (invalid with why set when the text is no record). */
static jv parse(dp_source *src, const char *text, size_t len, dp_err *why)
{
	jv rec = src->peek != NULL ? src->peek(src->peek_arg, text, len) : jv_invalid();

	if (jv_is_valid(rec))
		return rec;
	jv_free(rec);
	return dp_record_parse(text, len, why);
}

/* The reader is about to wait for input (idle 1) or has it (0).  While it
 * waits, a stdout sink flushes every record written (by other threads:
 * nothing else would, until the next input), and what it buffered goes
 * out now.  Flag first, then flush: a record written between the two is
 * flushed by one of them. */
static void reader_idle(dp_source *src, int idle)
{
	if (src->flush_sink == NULL)
		return;
	atomic_store(&src->flush_sink->source_idle, idle);
	if (idle)
		dp_sink_flush(src->flush_sink, NULL);
}

/* Called before a read of stdin that may block. */
static void about_to_wait(dp_source *src)
{
	struct pollfd p = {.fd = src->fd, .events = POLLIN};

	if (src->flush_sink == NULL)
		return;
	if (poll(&p, 1, 0) == 1)
		return; /* input is ready: keep batching output */
	reader_idle(src, 1);
}

static jv bad_input(const char *unit, unsigned long n, const char *why)
{
	char reason[DP_ERR_MAX + 64];

	snprintf(reason, sizeof reason, "input %s %lu: %s", unit, n, why);
	return dp_record_error(jv_null(), dp_stage(), reason);
}

/* Blocks until src's socket may have a message, the stop is requested
 * (stop_fd, dp_stop_fd's) or src is interrupted.  0, or -1 with err. */
static int zmq_wait(dp_source *src, int stop_fd, dp_err *err)
{
	zmq_pollitem_t items[3] = {
		{.socket = src->zsock, .events = ZMQ_POLLIN},
		{.fd = src->wake[0], .events = ZMQ_POLLIN},
		{.fd = stop_fd, .events = ZMQ_POLLIN},
	};

	if (zmq_poll(items, stop_fd >= 0 ? 3 : 2, stop_fd >= 0 ? -1 : DP_POLL_MS) < 0 &&
	    zmq_errno() != EINTR) {
		dp_err_set(err, "receive: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static int zmq_next(dp_source *src, jv *rec, dp_err *err)
{
	zmq_msg_t msg;
	dp_err why;
	int stop_fd = dp_stop_fd();

	for (;;) {
		if (dp_stop_requested() || atomic_load(&src->interrupted))
			return DP_SOURCE_END;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, src->zsock, ZMQ_DONTWAIT) >= 0)
			break;
		zmq_msg_close(&msg);
		if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) {
			dp_err_set(err, "receive: %s", zmq_strerror(zmq_errno()));
			return DP_SOURCE_ERROR;
		}
		/* Idle: the wait may last until the next message, with no
		 * timeout (the other threads' records must not wait for it). */
		reader_idle(src, 1);
		if (zmq_wait(src, stop_fd, err) < 0)
			return DP_SOURCE_ERROR;
	}
	reader_idle(src, 0);
	src->msgno++;
	size_t size = zmq_msg_size(&msg);
	int over = size > src->max_record;
	/* A message over --max-record is refused by its size: only its head
	 * is parsed, for the error record (its chunks took several times
	 * their text's memory before they were refused). */
	*rec = over ? dp_record_head(zmq_msg_data(&msg), size, &why) : parse(src, zmq_msg_data(&msg), size, &why);
	zmq_msg_close(&msg);
	if (!jv_is_valid(*rec)) {
		jv_free(*rec);
		*rec = bad_input("message", src->msgno, why.msg);
	} else if (over) {
		/* A peer with a larger --max-record (zmqsock.h): refused as a
		 * record, with its run and seq, so the hub gets its outcome,
		 * and the connection stays up. */
		char reason[160];
		snprintf(reason, sizeof reason, "record of %zu bytes is over --max-record %zu",
			 size, src->max_record);
		*rec = dp_record_error(*rec, dp_stage(), reason);
	}
	dp_stats_add(DP_STAT_IN, 1);
	return DP_SOURCE_RECORD;
}

int dp_source_next(dp_source *src, jv *rec, dp_err *err)
{
	if (src->zsock != NULL)
		return zmq_next(src, rec, err);
	for (;;) {
		const char *line;
		size_t len;
		unsigned long lineno;
		dp_err why;
		int rc;

		about_to_wait(src);
		rc = lines_next(src, &line, &len, &lineno, err);
		reader_idle(src, 0);
		if (rc == DP_LINES_ERROR)
			return DP_SOURCE_ERROR;
		if (rc == DP_LINES_EOF)
			return DP_SOURCE_END;
		dp_stats_add(DP_STAT_IN, 1);
		if (rc == DP_LINES_TOO_LONG) {
			*rec = bad_input("line", lineno, err->msg);
			return DP_SOURCE_RECORD;
		}
		if (strspn(line, " \t\r") == len) {
			dp_stats_add(DP_STAT_IN, -1);
			continue; /* blank lines carry nothing */
		}
		*rec = parse(src, line, len, &why);
		dp_lines_release(src->lines);
		if (!jv_is_valid(*rec)) {
			jv_free(*rec);
			*rec = bad_input("line", lineno, why.msg);
		}
		return DP_SOURCE_RECORD;
	}
}

dp_sink *dp_sink_open(const char *endpoint, const dp_io_opts *opts, dp_err *err)
{
	dp_sink *sink = calloc(1, sizeof *sink);

	if (sink == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	sink->max_record = max_record(opts);
	if (opts != NULL && opts->jq != NULL && (sink->jq = dp_jq_new(opts->jq, err)) == NULL)
		goto fail;
	if (dp_zmq_is_endpoint(endpoint)) {
		dp_zmq_opts z = zmq_opts(opts);
		sink->zsock = dp_zmq_open(ZMQ_PUSH, endpoint, &z, err);
		if (sink->zsock == NULL || set_timeout(sink->zsock, ZMQ_SNDTIMEO, err) < 0)
			goto fail;
	} else {
		sink->out = stdout;
	}
	pthread_mutex_init(&sink->lock, NULL);
	return sink;
fail:
	dp_zmq_close(&sink->zsock);
	dp_jq_free(&sink->jq);
	free(sink);
	return NULL;
}

/* Sends msg (its contents handed over to ZeroMQ when sent; closed here
 * either way), waiting while the receivers are full.  Called with
 * sink->lock held. */
static int zmq_write_msg(dp_sink *sink, zmq_msg_t *msg, dp_err *err)
{
	double stop_seen = 0;
	int rc = 0;

	while (zmq_msg_send(msg, sink->zsock, 0) < 0) {
		if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) {
			dp_err_set(err, "send: %s", zmq_strerror(zmq_errno()));
			rc = -1;
			break;
		}
		if (!dp_stop_requested())
			continue;
		/* Stopping: the receivers get the LINGER time to take it, once;
		 * then what the stage holds is abandoned (stop.h). */
		if (stop_seen == 0)
			stop_seen = dp_clock_s();
		if (dp_abandon_requested() || dp_clock_s() - stop_seen > DP_ZMQ_LINGER_MS / 1000.0) {
			dp_request_abandon();
			dp_err_set(err, "send: no receiver took the record within %d ms of the stop",
				   DP_ZMQ_LINGER_MS);
			rc = -1;
			break;
		}
	}
	zmq_msg_close(msg);
	return rc;
}

/* Sends data[0..len) (copied) as one message.  Called with sink->lock
 * held. */
static int zmq_write(dp_sink *sink, const char *data, size_t len, dp_err *err)
{
	zmq_msg_t msg;

	if (zmq_msg_init_size(&msg, len) != 0) {
		dp_err_set(err, "send: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	memcpy(zmq_msg_data(&msg), data, len);
	return zmq_write_msg(sink, &msg, err);
}

static int is_own_error(jv rec)
{
	const char *kind = dp_record_kind(rec), *stage = dp_record_str(rec, "stage");

	return kind != NULL && strcmp(kind, DP_KIND_ERROR) == 0 && stage != NULL &&
	       strcmp(stage, dp_stage()) == 0;
}

/* Serializes rec (consumed) into b, replacing b's contents.  A record that
 * cannot be serialized within the maximum becomes an error record naming
 * why, so it still reaches the store's report.  Runs outside the sink's
 * lock: serializing is most of a fast stage's work, and threads do it in
 * parallel (with --jq, under the program's lock: dp_jq_each).  Returns 0,
 * 1 when rec was replaced so, or -1 with err. */
static int serialize(dp_sink *sink, jv rec, dp_json_buf *b, dp_err *err)
{
	dp_err why;
	int replaced = 0;

	b->len = 0;
	b->max = sink->max_record;
	if (is_own_error(rec))
		dp_stats_add(DP_STAT_FAILED, 1);
	if (dp_json_append(b, rec, &why) < 0) {
		dp_stats_add(DP_STAT_FAILED, 1);
		rec = dp_record_too_big(rec, &why, sink->max_record);
		replaced = 1;
		b->len = 0;
		if (dp_json_append(b, rec, err) < 0) {
			jv_free(rec);
			return -1;
		}
	}
	jv_free(rec);
	return replaced;
}

/* After a record's text went to stdout: its newline, flushed while the
 * source is idle.  Called with sink->lock held. */
static int end_line(dp_sink *sink, dp_err *err)
{
	if (putc('\n', sink->out) == EOF || (atomic_load(&sink->source_idle) && fflush(sink->out) == EOF))
		return dp_stdout_failed(err);
	return 0;
}

/* Writes one serialized record.  Called with sink->lock held. */
static int write_one(dp_sink *sink, const dp_json_buf *b, dp_err *err)
{
	int rc;

	if (sink->zsock != NULL)
		rc = zmq_write(sink, b->data, b->len, err);
	else if (fwrite(b->data, 1, b->len, sink->out) != b->len)
		rc = dp_stdout_failed(err);
	else
		rc = end_line(sink, err);
	if (rc == 0)
		dp_stats_add(DP_STAT_OUT, 1);
	return rc;
}

/* As serialize's return. */
static int serialize_and_write(dp_sink *sink, jv rec, dp_json_buf *b, dp_err *err)
{
	int replaced = serialize(sink, rec, b, err);

	return replaced < 0 || dp_sink_put_text(sink, b, err) < 0 ? -1 : replaced;
}

struct jq_put {
	dp_sink *sink;
	dp_json_buf *b;
	dp_err *err;
};

/* dp_jq_each's put, under the program's lock (see dp_jq_each): a write
 * that waits on a slow receiver holds the other threads at that lock, as
 * it would at the sink's. */
static int put_jq_output(void *arg, jv out)
{
	struct jq_put *p = arg;

	return serialize_and_write(p->sink, out, p->b, p->err);
}

int dp_sink_put(dp_sink *sink, jv rec, dp_err *err)
{
	dp_json_buf b = {0};
	int rc;

	if (sink->jq == NULL)
		rc = serialize_and_write(sink, rec, &b, err);
	else
		rc = dp_jq_each(sink->jq, rec, put_jq_output, &(struct jq_put){sink, &b, err});
	dp_json_buf_free(&b);
	return rc < 0 ? -1 : rc;
}

int dp_sink_takes_text(const dp_sink *sink) { return sink->jq == NULL; }

size_t dp_sink_max_record(const dp_sink *sink) { return sink->max_record; }

int dp_sink_put_text(dp_sink *sink, const dp_json_buf *b, dp_err *err)
{
	pthread_mutex_lock(&sink->lock);
	int rc = write_one(sink, b, err);
	pthread_mutex_unlock(&sink->lock);
	return rc;
}

/* Calls piece() until the text is complete: to stdout, each piece is
 * written as it comes and b emptied (called with sink->lock held); to
 * ZeroMQ, b gathers the whole text.  Returns 0 when it came to len bytes,
 * else -1 with err. */
static int put_pieces(dp_sink *sink, dp_json_buf *b, size_t len, dp_piece_fn piece, void *arg,
		      dp_err *err)
{
	size_t total = 0, at;
	int rc;

	while (at = b->len, (rc = piece(arg, b, err)) > 0) {
		total += b->len - at;
		if (sink->zsock != NULL)
			continue;
		if (fwrite(b->data, 1, b->len, sink->out) != b->len)
			return dp_stdout_failed(err);
		b->len = 0;
	}
	if (rc == 0 && total != len) {
		dp_err_set(err, "a record's text came to %zu bytes, not the %zu announced", total, len);
		return -1;
	}
	return rc;
}

/* dp_sink_put_pieces to ZeroMQ: the message's one buffer, exactly len
 * bytes (+ dp_buf's NUL), is filled, then given to ZeroMQ, which frees it
 * once sent (dp_zmq_msg_own). */
static int zmq_put_pieces(dp_sink *sink, size_t len, dp_piece_fn piece, void *arg, dp_err *err)
{
	dp_json_buf b;
	zmq_msg_t msg;
	size_t n;

	dp_buf_init(&b, len);
	if (dp_buf_reserve(&b, len) < 0) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	if (put_pieces(sink, &b, len, piece, arg, err) < 0) {
		dp_json_buf_free(&b);
		return -1;
	}
	char *data = dp_buf_take(&b, &n);
	if (dp_zmq_msg_own(&msg, data, n) != 0) {
		dp_err_set(err, "send: %s", zmq_strerror(zmq_errno()));
		free(data);
		return -1;
	}
	pthread_mutex_lock(&sink->lock);
	int rc = zmq_write_msg(sink, &msg, err);
	pthread_mutex_unlock(&sink->lock);
	return rc;
}

int dp_sink_put_pieces(dp_sink *sink, size_t len, dp_piece_fn piece, void *arg, dp_err *err)
{
	dp_json_buf b;
	int rc;

	if (sink->zsock != NULL) {
		rc = zmq_put_pieces(sink, len, piece, arg, err);
	} else {
		dp_buf_init(&b, len);
		pthread_mutex_lock(&sink->lock);
		rc = put_pieces(sink, &b, len, piece, arg, err);
		if (rc == 0)
			rc = end_line(sink, err);
		pthread_mutex_unlock(&sink->lock);
		dp_json_buf_free(&b);
	}
	if (rc == 0)
		dp_stats_add(DP_STAT_OUT, 1);
	return rc;
}

int dp_sink_flush(dp_sink *sink, dp_err *err)
{
	int rc = 0;

	if (sink->out == NULL)
		return 0; /* ZeroMQ sends each message as it is written */
	pthread_mutex_lock(&sink->lock);
	if (fflush(sink->out) == EOF)
		rc = dp_stdout_failed(err);
	pthread_mutex_unlock(&sink->lock);
	return rc;
}

int dp_sink_close(dp_sink **sink, dp_err *err)
{
	int rc;

	if (*sink == NULL)
		return 0;
	rc = dp_sink_flush(*sink, err);
	/* The last counters go out before the sockets close. */
	dp_stats_stop();
	dp_zmq_close(&(*sink)->zsock);
	dp_jq_free(&(*sink)->jq);
	pthread_mutex_destroy(&(*sink)->lock);
	free(*sink);
	*sink = NULL;
	return rc;
}
