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

/* A descriptor that becomes readable, and stays so, once the stop is
 * requested: a thread blocked in poll on it beside its input wakes at
 * once, whichever thread the signal hit (a signal interrupts one thread's
 * wait only).  Made on the first call; -1 when no pipe could be made (the
 * caller then looks at the flag on a timeout).  Look at
 * dp_stop_requested() after taking the descriptor and before blocking: a
 * request made before the pipe existed only set the flag. */
int dp_stop_fd(void);

/* Sleeps up to ms milliseconds, or less: it ends at once when the stop is
 * requested, before or during it, whichever thread the signal hit (a
 * nanosleep the signal missed, or that began just after the flag was
 * looked at, slept on).  Callers look at dp_stop_requested() after it. */
void dp_stop_nap_ms(double ms);

/* Abandoning what is held: after the stop, the output found no receiver
 * for DP_ZMQ_LINGER_MS (the hub is gone: the supervisor was killed with
 * -9, or the whole run is stopping).  What the stage still holds can reach
 * no one, so work not begun is not begun (http.c asks the model API
 * nothing more: a stage whose run is gone stops paying) and later sends
 * fail at once instead of waiting the linger time each.  Thread-safe. */
void dp_request_abandon(void);
int dp_abandon_requested(void);

#endif
