#include "stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "record.h"

#define DP_STATS_PERIOD_MS 500

static atomic_long counters[DP_STAT_COUNT];
static atomic_long latency_buckets[DP_STATS_LATENCY_BUCKETS];
static const long latency_bounds_us[DP_STATS_LATENCY_BUCKETS - 1] = {DP_STATS_LATENCY_BOUNDS_MS};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	void *sock;
	int running, stopping;
} reporter = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

void dp_stats_add(enum dp_stat stat, long n)
{
	int b = 0;

	atomic_fetch_add(&counters[stat], n);
	if (stat != DP_STAT_LATENCY_US)
		return;
	while (b < DP_STATS_LATENCY_BUCKETS - 1 && n > latency_bounds_us[b] * 1000)
		b++;
	atomic_fetch_add(&latency_buckets[b], 1);
}

long dp_stats_get(enum dp_stat stat)
{
	return atomic_load(&counters[stat]);
}

jv dp_stats_message(int final)
{
	static const char *const names[] = {"in", "out", "failed", "in_flight", "retries",
					    "requests", "tokens", "throttled"};
	char host[256] = "";
	jv m = jv_object();
	long n = dp_stats_get(DP_STAT_LATENCY_N);

	gethostname(host, sizeof host - 1);
	m = jv_object_set(m, jv_string("v"), jv_number(DP_PROTOCOL_VERSION));
	m = jv_object_set(m, jv_string("kind"), jv_string("stats"));
	m = jv_object_set(m, jv_string("stage"), jv_string(dp_stage()));
	m = jv_object_set(m, jv_string("host"), jv_string(host));
	m = jv_object_set(m, jv_string("pid"), jv_number(getpid()));
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		m = jv_object_set(m, jv_string(names[i]), jv_number((double)dp_stats_get(i)));
	m = jv_object_set(m, jv_string("latency_ms"),
			  jv_number(n > 0 ? dp_stats_get(DP_STAT_LATENCY_US) / 1000.0 / n : 0));
	m = jv_object_set(m, jv_string("concurrency"),
			  jv_number((double)dp_stats_get(DP_STAT_CONCURRENCY)));
	m = jv_object_set(m, jv_string("latency_sum_ms"),
			  jv_number(dp_stats_get(DP_STAT_LATENCY_US) / 1000.0));
	jv buckets = jv_array();
	for (int b = 0; b < DP_STATS_LATENCY_BUCKETS; b++)
		buckets = jv_array_append(buckets, jv_number((double)atomic_load(&latency_buckets[b])));
	m = jv_object_set(m, jv_string("latency_buckets"), buckets);
	return jv_object_set(m, jv_string("final"), jv_bool(final));
}

static void send_stats(int final)
{
	jv text = dp_record_dump(dp_stats_message(final));

	/* Dropped when the hub cannot take it now: the next one has the totals. */
	zmq_send(reporter.sock, jv_string_value(text),
		 (size_t)jv_string_length_bytes(jv_copy(text)), ZMQ_DONTWAIT);
	jv_free(text);
}

static void *report_loop(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reporter.lock);
	while (!reporter.stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += DP_STATS_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&reporter.wake, &reporter.lock, &until);
		send_stats(reporter.stopping);
	}
	pthread_mutex_unlock(&reporter.lock);
	return NULL;
}

int dp_stats_start(const char *endpoint, const dp_zmq_opts *opts, dp_err *err)
{
	if (reporter.running) {
		dp_err_set(err, "stats reporting already runs");
		return -1;
	}
	reporter.sock = dp_zmq_open(ZMQ_PUSH, endpoint, opts, err);
	if (reporter.sock == NULL)
		return -1;
	/* A bounded LINGER: the final message should leave, but a missing hub
	 * must not delay the stage's exit for long. */
	int linger = 1000;
	zmq_setsockopt(reporter.sock, ZMQ_LINGER, &linger, sizeof linger);
	reporter.stopping = 0;
	if (pthread_create(&reporter.thread, NULL, report_loop, NULL) != 0) {
		dp_zmq_close(&reporter.sock);
		dp_err_set(err, "cannot start the stats thread");
		return -1;
	}
	reporter.running = 1;
	return 0;
}

void dp_stats_stop(void)
{
	if (!reporter.running)
		return;
	pthread_mutex_lock(&reporter.lock);
	reporter.stopping = 1;
	pthread_cond_signal(&reporter.wake);
	pthread_mutex_unlock(&reporter.lock);
	pthread_join(reporter.thread, NULL);
	dp_zmq_close(&reporter.sock);
	reporter.running = 0;
}
