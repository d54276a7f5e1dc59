/* Where a stage's records come from and go to.
 *
 * A source yields parsed records; a sink takes records and writes them.
 * Without an endpoint they are stdin and stdout, one JSON object per line;
 * with one they are ZeroMQ sockets carrying the same JSON, one record per
 * message (docs/protocol.md).  Stages only see jv records, so the transport
 * changes nothing in their logic. */
#ifndef DP_TRANSPORT_H
#define DP_TRANSPORT_H

#include <stddef.h>

#include <jv.h>

#include "err.h"
#include "json.h"
#include "stop.h" /* dp_request_stop: ZeroMQ sources end after it */

typedef struct dp_io_opts {
	size_t max_record; /* bytes; 0 means DP_RECORD_MAX_DEFAULT */
	/* A jq program (--jq) the sink runs on every record written: its
	 * outputs are written instead (see jqfilter.h).  NULL: none. */
	const char *jq;
	/* ZeroMQ endpoints only (zmqsock.h): high-water mark (0: default),
	 * CurveZMQ client keys, and plaintext off loopback. */
	int hwm;
	const char *curve_server; /* file with the server's public key */
	const char *curve_key;    /* file with this side's key pair */
	int insecure;
} dp_io_opts;

typedef struct dp_source dp_source;
typedef struct dp_sink dp_sink;

/* endpoint NULL or "-" means stdin; otherwise a ZeroMQ endpoint (PULL
 * socket; zmqsock.h gives the syntax: connect, or bind with a leading '@').
 * Returns NULL with err set on failure. */
dp_source *dp_source_open(const char *endpoint, const dp_io_opts *opts, dp_err *err);
void dp_source_free(dp_source **src);

enum dp_source_status {
	DP_SOURCE_ERROR = -1, /* the source itself failed (err set); stop */
	DP_SOURCE_END = 0,    /* no more input */
	DP_SOURCE_RECORD = 1  /* *rec holds an owned record */
};

/* Next record.  A ZeroMQ source has no end of its own: it ends (END) once
 * dp_stop_requested() or dp_source_interrupt(), within ~20 ms.  Input
 * that is not a valid record (malformed JSON, an over-long line, an
 * unknown protocol version) does not stop the stream: it
 * comes back as an error record naming the line, so it reaches the store's
 * report like any other failure.  Not thread-safe: one reader at a time. */
int dp_source_next(dp_source *src, jv *rec, dp_err *err);

/* A look at each record's text before dp_source_next parses it, on the
 * thread that reads: peek(arg, text, len) returns jv_invalid() to have it
 * parsed as usual, or a record (owned) that dp_source_next yields instead,
 * the text never parsed.  Why: the store marks a large record in its crash
 * journal before the parse and refuses, unparsed, one whose parse killed a
 * replica (feed.c).  peek NULL: none (the default).  The text is the
 * source's own (its line buffer or received message), read no more once
 * peek returns a record: such a peek may give its pages back (the store's
 * store_doc_parse_text, with dp_jspan_give_back). */
typedef jv (*dp_source_peek_fn)(void *arg, const char *text, size_t len);
void dp_source_peek(dp_source *src, dp_source_peek_fn peek, void *arg);

/* Makes dp_source_next, blocked in another thread or called later, return
 * DP_SOURCE_END: for a reader that must stop before its input ends (the
 * store after a fatal database error).  Thread-safe; idempotent; no thread
 * is cancelled.  A ZeroMQ source notices within ~20 ms, its socket
 * intact.  On stdin, a byte on the source's wake pipe, which the line
 * reader polls beside its input, ends a wait at once. */
void dp_source_interrupt(dp_source *src);

/* Flushes `sink` whenever the source is about to wait for input, so that
 * records do not sit in an output buffer while the pipeline is idle. */
void dp_source_flush_on_idle(dp_source *src, dp_sink *sink);

/* endpoint NULL or "-" means stdout; otherwise a ZeroMQ PUSH socket.  A
 * send blocks while the receivers' queues are full (back-pressure: nothing
 * is dropped), except after a stop request, when it gives up after the
 * LINGER time.  With opts->jq, NULL and err set when it does not compile. */
dp_sink *dp_sink_open(const char *endpoint, const dp_io_opts *opts, dp_err *err);

/* Writes rec (consumed).  Thread-safe.  Returns 0; 1 when rec (or one of
 * its --jq outputs) was over the maximum and went out as its error record
 * instead (dp_record_too_big): a failure the caller counts; or -1 with err
 * set when the output is gone (EPIPE, closed socket): the stage should
 * stop. */
int dp_sink_put(dp_sink *sink, jv rec, dp_err *err);

/* For a stage that writes a record's JSON text itself (stage.h,
 * process_text): whether the sink takes text as it is (it runs no --jq
 * program, which needs the value), and the size a record may have. */
int dp_sink_takes_text(const dp_sink *sink);
size_t dp_sink_max_record(const dp_sink *sink);
/* Writes one record's JSON text, b->data[0..len) (borrowed; compact, no
 * newline), as dp_sink_put writes a record.  Thread-safe.  Returns 0 or -1
 * as dp_sink_put. */
int dp_sink_put_text(dp_sink *sink, const dp_json_buf *b, dp_err *err);

/* A writer of one record's JSON text (compact, no newline) in pieces:
 * each call appends the next piece to b and returns 1, or returns 0 when
 * the text is complete (nothing appended), or -1 with err set. */
typedef int (*dp_piece_fn)(void *arg, dp_json_buf *b, dp_err *err);

/* Writes one record whose text, exactly len bytes (at most
 * dp_sink_max_record), piece() gives, as dp_sink_put_text writes it, for
 * a sink that takes text (dp_sink_takes_text), without the text whole in
 * memory beside what it is made of: to stdout a piece at a time through
 * one piece's buffer (under the sink's lock: no other record comes
 * between); to ZeroMQ in one message built in one buffer of len bytes and
 * handed over without a copy (the record's sources can be freed as their
 * pieces are written).  Why: docpipe-embed's record of one 5 MB document
 * at 1,536 dimensions is 41.6 MB of text, its vectors float32 (26 MB),
 * where both were held as text (105-118 MB).  Thread-safe.  Returns 0,
 * or -1 with err set: the output is gone, a piece failed, or the pieces
 * were not len bytes (a record on stdout may then be cut short: the stage
 * must stop, as after any failed write). */
int dp_sink_put_pieces(dp_sink *sink, size_t len, dp_piece_fn piece, void *arg, dp_err *err);

/* Flushes buffered output.  Thread-safe. Returns 0 or -1 with err set. */
int dp_sink_flush(dp_sink *sink, dp_err *err);

/* Flushes and closes.  Returns 0 or -1 with err set (the last writes may
 * have failed). Always frees. */
int dp_sink_close(dp_sink **sink, dp_err *err);

#endif
