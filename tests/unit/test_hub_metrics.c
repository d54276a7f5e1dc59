/* The hub's Prometheus text (src/hub/metrics.c): the latency histogram
 * from the stats messages' buckets, label escaping, fields only some
 * stages report, and the bound on the text. */
#include <string.h>

#include "../../src/hub/metrics.h"
#include "record.h"
#include "t.h"

static hub_stats stats; /* large: static */
static char text[1 << 16];

static void update(const char *json)
{
	dp_err err;
	jv r = dp_record_parse(json, strlen(json), &err);
	hub_stats_update(&stats, r);
	jv_free(r);
}

int main(void)
{
	hub_tally t = {.documents = 7, .added = 3, .failed = 1, .resent = 2, .failures = jv_array()};
	hub_metrics_view v = {.run = "R1", .stats = &stats, .tally = &t, .window = 64,
			      .in_window = 4, .unsent = 1, .window_bytes = 67108864,
			      .in_window_bytes = 1234};

	update("{\"v\":1,\"kind\":\"stats\",\"stage\":\"embed\",\"host\":\"a\\\"b\",\"pid\":1,"
	       "\"in\":5,\"out\":4,\"latency_sum_ms\":12,\"latency_buckets\":[3,1,0,0,0,0,0,0,0,0,0],"
	       "\"concurrency\":4}");
	update("{\"v\":1,\"kind\":\"stats\",\"stage\":\"chunk\",\"host\":\"c\",\"pid\":2,"
	       "\"in\":9,\"out\":6,\"latency_buckets\":\"junk\"}");
	long n = hub_metrics_render(&v, text, sizeof text);
	T_OK(n > 0 && (size_t)n == strlen(text), "renders; returns the length");
	T_OK(strstr(text, "docpipe_record_duration_seconds_bucket{stage=\"embed\",replica=\"a\\\"b/1\","
			  "le=\"0.001\"} 3\n") != NULL, "first bucket, quote in the label escaped");
	T_OK(strstr(text, "le=\"0.005\"} 4\n") != NULL, "buckets are cumulative");
	T_OK(strstr(text, "replica=\"a\\\"b/1\",le=\"+Inf\"} 4\n") != NULL, "+Inf holds all");
	T_OK(strstr(text, "docpipe_record_duration_seconds_sum{stage=\"embed\",replica=\"a\\\"b/1\"} "
			  "0.012\n") != NULL, "sum in seconds");
	T_OK(strstr(text, "docpipe_concurrency{stage=\"embed\",replica=\"a\\\"b/1\"} 4\n") != NULL,
	     "concurrency when reported");
	T_OK(strstr(text, "docpipe_concurrency{stage=\"chunk\"") == NULL, "absent when not");
	T_OK(strstr(text, "docpipe_record_duration_seconds_count{stage=\"chunk\",replica=\"c/2\"} 0\n")
		     != NULL, "malformed buckets count as none");
	T_OK(strstr(text, "docpipe_stage_queue{stage=\"chunk\"} 0\n") != NULL,
	     "chunk's queue: sent 9 (7 + 2 re-sent), read 9");
	T_OK(strstr(text, "docpipe_stage_queue{stage=\"embed\"} 0\n") != NULL,
	     "no summarize replica reported: nothing counted as queued");
	T_OK(strstr(text, "docpipe_documents_total{outcome=\"failed\"} 1\n") != NULL, "outcomes");
	T_OK(strstr(text, "docpipe_window_documents 4\n") != NULL, "window in use");
	T_OK(strstr(text, "docpipe_window_bytes 1234\n") != NULL &&
	     strstr(text, "docpipe_window_bytes_max 67108864\n") != NULL, "the files' bytes in flight, their bound");
	T_OK(strstr(text, "# TYPE docpipe_records_in_total counter\n") != NULL, "typed");
	T_EQ_INT(hub_metrics_render(&v, text, 100), -1, "a text over the bound: -1");
	jv_free(t.failures);
	return t_done();
}
