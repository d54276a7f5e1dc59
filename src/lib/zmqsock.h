/* ZeroMQ sockets as docpipe uses them: one process-wide context, the same
 * safe options on every socket, and the endpoint syntax of --in/--out.
 *
 * Endpoint syntax: "tcp://host:port", "ipc:///path" or "inproc://name"
 * connect (the dynamic side: stage replicas); a leading '@' binds instead
 * ("@tcp://0.0.0.0:7870", the stable side: the hub, or the downstream end of a
 * hand-made two-process pipeline).
 *
 * Every socket gets: LINGER bounded (close never hangs, and what is queued
 * gets that long to leave), small high-water marks (back-pressure instead
 * of unbounded queues), IMMEDIATE (nothing queued on half-made
 * connections), TCP keepalive (a dead peer's connection is noticed), a
 * bounded connection attempt (DP_ZMQ_CONNECT_TIMEOUT_MS) and
 * MAXMSGSIZE DP_ZMQ_FRAME_MAX on receivers.
 *
 * No ZeroMQ heartbeats: libzmq 4.3.4 aborts (assertion `_input_stopped`,
 * stream_engine_base.cpp:417; upstream issues 3937/4767) when a heartbeat
 * times out while the reader is paused by its high-water mark, which is
 * what a stage backing off a 429 does.  Liveness comes from the stats
 * channel instead (the hub notices a replica falling silent, hub.h) and
 * from TCP keepalive.
 *
 * MAXMSGSIZE is one ceiling for every peer, not the receiver's own
 * --max-record: a message over MAXMSGSIZE is a protocol error after which
 * libzmq drops the connection and never reconnects (the stage would stay
 * alive but deaf).  No docpipe sender exceeds the ceiling (--max-record is
 * at most 1 GiB), and a receiver turns a message over its own --max-record
 * into an error record (transport.c), so peers configured differently
 * still agree. */
#ifndef DP_ZMQSOCK_H
#define DP_ZMQSOCK_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "err.h"

#define DP_ZMQ_HWM_DEFAULT 16
#define DP_ZMQ_LINGER_MS 5000
/* A TCP connection attempt that has no answer after this is given up and
 * made again (after RECONNECT_IVL, at most 2 s).  Without it an attempt
 * lasts as long as the kernel's SYN retries (tcp_syn_retries 6: 127 s),
 * their gaps doubling to 64 s: a worker reconnecting through a network
 * partition got through up to a minute after it healed (fault sweep 25). */
#define DP_ZMQ_CONNECT_TIMEOUT_MS 3000
/* The largest message any docpipe peer sends: the maximum of --max-record. */
#define DP_ZMQ_FRAME_MAX ((int64_t)1 << 30)

typedef struct dp_zmq_opts {
	size_t max_record;        /* bytes: the reader's own record limit (not MAXMSGSIZE) */
	int hwm;                  /* send and receive high-water mark; 0: default */
	const char *curve_server; /* CURVE client: file holding the server's public key */
	const char *curve_key;    /* CURVE client: file holding our key pair */
	const char *curve_secret; /* CURVE server: file holding the server's key pair */
	int insecure;             /* allow plaintext off loopback */
} dp_zmq_opts;

/* Opens a socket of `type` (ZMQ_PUSH, ZMQ_PULL ...) on `endpoint`, binding
 * when it starts with '@' and connecting otherwise.  A CURVE server socket
 * (curve_secret set) authenticates clients through the ZAP handler
 * (zap.h), failing closed when none runs.  Plaintext to an endpoint that
 * is not loopback or ipc is refused unless opts->insecure.  Returns the
 * socket, or NULL with err set. */
void *dp_zmq_open(int type, const char *endpoint, const dp_zmq_opts *opts, dp_err *err);

/* Closes a socket from dp_zmq_open (NULL is fine).  The last close ends
 * the context, which waits up to LINGER for queued messages to leave. */
void dp_zmq_close(void **sock);

/* The shared context, for sockets opened by hand (the ZAP handler).  Each
 * call takes a reference that dp_zmq_context_release gives back. */
void *dp_zmq_context(dp_err *err);
void dp_zmq_context_release(void);

/* 1 when endpoint (with or without '@') stays on this machine: ipc,
 * inproc, or tcp to a loopback address. */
int dp_zmq_is_local(const char *endpoint);

/* 1 when endpoint names a ZeroMQ socket rather than stdio (NULL or "-"). */
int dp_zmq_is_endpoint(const char *endpoint);

/* A message made of data (n bytes from malloc, no longer written): ZeroMQ
 * frees it once sent, on its I/O thread or the sender's.  0, or -1 with
 * errno (zmq_errno) and data still the caller's.  The hand-over from the
 * writer of data to the thread that frees it goes through libzmq's own
 * lock-free queues, which ThreadSanitizer cannot see (libzmq is built
 * without it): under -fsanitize=thread it is stated to TSan here. */
int dp_zmq_msg_own(zmq_msg_t *msg, void *data, size_t n);

#endif
