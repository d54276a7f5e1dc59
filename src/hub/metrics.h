/* Prometheus metrics of a running graph (docpipe-hub --metrics HOST:PORT).
 *
 * The hub's loop renders the text from its own state (it owns the window,
 * the tally and the stats: no locks there) at most every
 * HUB_METRICS_EVERY_S and publishes it; an embedded HTTP server
 * (libmicrohttpd, one thread of its own) answers GET /metrics with the
 * last text published, so a scrape never waits for the loop.
 * The metrics are described in docs/graph.md. */
#ifndef DP_HUB_METRICS_H
#define DP_HUB_METRICS_H

#include <stddef.h>

#include "err.h"
#include "hub.h"

#define HUB_METRICS_EVERY_S 0.25
/* The rendered text may not grow beyond this (512 processes fit). */
#define HUB_METRICS_MAX (4u << 20)

/* What the hub knows beyond the stats (borrowed). */
typedef struct hub_metrics_view {
	const char *run;
	const hub_stats *stats;
	const hub_tally *tally;
	size_t window, in_window, unsent;
	double window_bytes, in_window_bytes; /* --window-bytes (0: none), what the documents in flight count */
} hub_metrics_view;

/* Renders the Prometheus text format (version 0.0.4) into buf (cap bytes,
 * NUL-terminated).  Returns its length, or -1 when it does not fit. */
long hub_metrics_render(const hub_metrics_view *v, char *buf, size_t cap);

typedef struct hub_metrics hub_metrics;

/* Serves GET /metrics on listen ("HOST:PORT", HOST numeric or a name).
 * Returns NULL with err set (bad address, port in use). */
hub_metrics *hub_metrics_start(const char *listen, dp_err *err);

/* Renders v and makes it what the next scrapes get.  NULL m: nothing. */
void hub_metrics_publish(hub_metrics *m, const hub_metrics_view *v);

/* Stops the server and frees m (NULL is fine). */
void hub_metrics_stop(hub_metrics **m);

#endif
