/* Refused handshakes, noticed.
 *
 * A CurveZMQ server (the hub) that refuses a client's handshake sends it
 * nothing: without a look at libzmq's socket monitor the client would
 * reconnect and idle forever.  Every socket dp_zmq_open connects over tcp
 * or ipc, and every CURVE server socket it binds, gets a monitor thread
 * that reads libzmq's handshake events (zmq_socket_monitor, libzmq 4.3).
 *
 * Connecting side: a definite refusal (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
 * the server's ZAP handler said no; _PROTOCOL: the two sides disagree on
 * the mechanism, plaintext against CURVE or the reverse), or three failed
 * handshakes in a row without one that succeeded (_NO_DETAIL: the server
 * dropped the connection, which is what a CURVE server does to a client
 * holding a wrong server key), records a one-line reason and, in a stage,
 * calls dp_request_stop (stop.h), so that the stage ends within seconds;
 * its main then reports the reason and exits DP_EXIT_USAGE
 * (dp_cli_exit_status).  One _NO_DETAIL alone is not a refusal: a server
 * that restarts mid-handshake causes it too.
 *
 * Binding side (CURVE servers only): a peer refused for its mechanism is
 * logged once per socket (libzmq 4.3.4 does not tell the peer's address
 * there; peers refused for their key are logged by the ZAP handler,
 * zap.h, with address and key). */
#ifndef DP_ZMQMON_H
#define DP_ZMQMON_H

#include <stddef.h>

#include "err.h"

/* Starts monitoring socket `sock` (opened on `endpoint`, '@' for bind;
 * `curve`: whether this side uses CurveZMQ).  Returns 0, or -1 with err
 * set.  Sockets on inproc, and bound plaintext sockets, are not monitored
 * (0 returned). */
int dp_zmq_monitor_start(void *ctx, void *sock, const char *endpoint, int curve, dp_err *err);

/* Stops the monitor of `sock`, if any, before it is closed. */
void dp_zmq_monitor_stop(void *sock);

/* 1 when a peer refused this process's handshake; the reason (without
 * stage prefix) is copied into msg (len bytes, may be 0).  Thread-safe. */
int dp_zmq_refused(char *msg, size_t len);

/* Whether a refusal also calls dp_request_stop (default 0: a program that
 * tries peers, such as a test, only learns of it from dp_zmq_refused).  A
 * stage turns it on (dp_cli_open): it cannot work without its peer. */
void dp_zmq_refusal_stops(int on);

#endif
