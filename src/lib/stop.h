/* The process's stop request: one flag that a signal handler sets and
 * every loop that must end on SIGTERM/SIGINT reads (ZeroMQ sources and
 * sinks, the socket monitor, the hub, the store).  Core tier, so that the
 * transport files that set it (zmqmon) and read it (transport) both reach
 * it without including each other. */
#ifndef DP_STOP_H
#define DP_STOP_H

/* Shutdown on request.  dp_request_stop() is async-signal-safe: the
 * SIGTERM/SIGINT handler of dp_cli_handle_signals calls it.  After it,
 * ZeroMQ sources end, so a stage finishes what it holds and exits.
 * Both are thread-safe. */
void dp_request_stop(void);
int dp_stop_requested(void);

#endif
