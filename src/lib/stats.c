#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "record.h"
#include "stop.h"

#define DP_STATS_PERIOD_MS 500
/* How long a stage must stay idle for a message before the tick: a stage
 * busy with a queue of records is idle for an instant after each one, and
 * its messages should stay samples of its work, not of those instants
 * (at most one message per DP_STATS_IDLE_MS then).  The hub's wait for a
 * run's last counters ends with the last replica's idle message: this
 * delay is part of every run's end. */
#define DP_STATS_IDLE_MS 5
/* Until its first message has gone: the hub notices a replica's death by
 * its silence, which needs it to have spoken.  One that died before its
 * first message (a document that crashes it at once, a busy start with no
 * idle moment) left what it held to --timeout. */
#define DP_STATS_FIRST_MS 20
/* How long dp_stats_start waits for the hub to take the first message
 * (its connection made): past it, the stage starts anyway and the
 * reporter keeps trying every DP_STATS_FIRST_MS. */
#define DP_STATS_FIRST_WAIT_MS 2000

static atomic_long counters[DP_STAT_COUNT];
static atomic_long latency_buckets[DP_STATS_LATENCY_BUCKETS];
static const long latency_bounds_us[DP_STATS_LATENCY_BUCKETS - 1] = {DP_STATS_LATENCY_BOUNDS_MS};

/* Records held (dp_stats_hold): their seq and since when, in a table
 * small enough to scan (the hub's window is 64 documents by default). */
static struct {
	pthread_mutex_t lock;
	long seq[DP_STATS_HELD_MAX];
	double since_ms[DP_STATS_HELD_MAX];
	int used[DP_STATS_HELD_MAX];
} held = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The current wait (dp_stats_wait_begin): since when (ms, 0: none) and on
 * what. */
static struct {
	pthread_mutex_t lock;
	double since_ms;
	const char *on;
} waiting = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	void *sock;
	int running, stopping, spoken;
	atomic_int idle; /* the stage became idle since the last message */
} reporter = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* reporter.wake waits on the monotonic clock (dp_cond_init); made once,
 * by whichever comes first: a stage's first idle moment or the start. */
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static void init_wake(void) { dp_cond_init(&reporter.wake); }

/* Nothing in flight, every record read written. */
static int is_idle(void)
{
	return atomic_load(&counters[DP_STAT_IN_FLIGHT]) == 0 &&
	       atomic_load(&counters[DP_STAT_OUT]) >= atomic_load(&counters[DP_STAT_IN]);
}

/* After a record was written or finished: when the stage is idle, wakes
 * the reporter, which sends a message if it still is DP_STATS_IDLE_MS
 * later, so the hub learns the final counters at once rather than at the
 * next tick (docs/graph.md, "The report's counters").  Signals only on the
 * first idle moment since the reporter last looked: a busy stage takes no
 * lock here. */
static void note_idle(void)
{
	if (!is_idle() || atomic_exchange(&reporter.idle, 1))
		return;
	pthread_once(&wake_once, init_wake);
	pthread_mutex_lock(&reporter.lock);
	pthread_cond_signal(&reporter.wake);
	pthread_mutex_unlock(&reporter.lock);
}

void dp_stats_add(enum dp_stat stat, long n)
{
	int b = 0;

	atomic_fetch_add(&counters[stat], n);
	if (stat == DP_STAT_OUT || (stat == DP_STAT_IN_FLIGHT && n < 0))
		note_idle();
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

long dp_stats_hold(jv rec)
{
	double seq;
	long token = -1;

	if (dp_record_num(rec, "seq", &seq) < 0 || !dp_record_seq_valid(seq))
		return -1;
	pthread_mutex_lock(&held.lock);
	for (int i = 0; i < DP_STATS_HELD_MAX && token < 0; i++)
		if (!held.used[i]) {
			held.used[i] = 1;
			held.seq[i] = (long)seq;
			held.since_ms[i] = dp_clock_ms();
			token = i;
		}
	pthread_mutex_unlock(&held.lock);
	return token;
}

void dp_stats_release(long token)
{
	if (token < 0 || token >= DP_STATS_HELD_MAX)
		return;
	pthread_mutex_lock(&held.lock);
	held.used[token] = 0;
	pthread_mutex_unlock(&held.lock);
}

void dp_stats_wait_begin(const char *on)
{
	pthread_mutex_lock(&waiting.lock);
	waiting.since_ms = dp_clock_ms();
	waiting.on = on;
	pthread_mutex_unlock(&waiting.lock);
}

void dp_stats_wait_end(void)
{
	pthread_mutex_lock(&waiting.lock);
	waiting.since_ms = 0;
	pthread_mutex_unlock(&waiting.lock);
}

/* The current wait's length (ms, 0: none) and, when there is one, *on. */
static double wait_ms(const char **on)
{
	pthread_mutex_lock(&waiting.lock);
	double ms = waiting.since_ms > 0 ? dp_clock_ms() - waiting.since_ms : 0;
	*on = waiting.on;
	pthread_mutex_unlock(&waiting.lock);
	return ms;
}

double dp_stats_waiting_s(void)
{
	const char *on;

	return wait_ms(&on) / 1000;
}

/* The seqs held DP_STATS_HOLDING_MS or longer (owned array). */
static jv holding(void)
{
	jv list = jv_array();
	double now = dp_clock_ms();

	pthread_mutex_lock(&held.lock);
	for (int i = 0; i < DP_STATS_HELD_MAX; i++)
		if (held.used[i] && now - held.since_ms[i] >= DP_STATS_HOLDING_MS)
			list = jv_array_append(list, jv_number((double)held.seq[i]));
	pthread_mutex_unlock(&held.lock);
	return list;
}

static pthread_once_t pid_space_once = PTHREAD_ONCE_INIT;
static char pid_space[128];

static void read_pid_space(void)
{
	char boot[64] = "", ns[48];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);

	if (f != NULL) {
		if (fgets(boot, sizeof boot, f) == NULL)
			boot[0] = '\0';
		fclose(f);
	}
	boot[strcspn(boot, "\n")] = '\0';
	if (boot[0] != '\0' && n > 0) {
		ns[n] = '\0';
		snprintf(pid_space, sizeof pid_space, "%s/%s", boot, ns);
	}
}

const char *dp_stats_pid_space(void)
{
	pthread_once(&pid_space_once, read_pid_space);
	return pid_space;
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
	m = jv_object_set(m, jv_string("pid_space"), jv_string(dp_stats_pid_space()));
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
	jv long_held = holding();
	if (jv_array_length(jv_copy(long_held)) > 0)
		m = jv_object_set(m, jv_string("holding"), long_held);
	else
		jv_free(long_held);
	const char *on;
	double waited_ms = wait_ms(&on);
	if (waited_ms >= DP_STATS_WAITING_MS)
		m = jv_object_set(m, jv_string("waiting"),
				  jv_object_set(jv_object_set(jv_object(), jv_string("on"), jv_string(on)),
						jv_string("seconds"), jv_number(waited_ms / 1000)));
	return jv_object_set(m, jv_string("final"), jv_bool(final));
}

/* Returns 1 when the message went. */
static int send_stats(int final)
{
	jv text = dp_record_dump(dp_stats_message(final));

	/* Dropped when the hub cannot take it now: the next one has the totals. */
	int sent = zmq_send(reporter.sock, jv_string_value(text),
			    (size_t)jv_string_length_bytes(jv_copy(text)), ZMQ_DONTWAIT) >= 0;
	jv_free(text);
	return sent;
}

/* A message every DP_STATS_PERIOD_MS, one when the stage has been idle
 * for DP_STATS_IDLE_MS (note_idle), and a final one when stopped.  The
 * flag is cleared before the stage is looked at, so an idle moment after
 * that wakes the reporter again: none is lost. */
static void *report_loop(void *arg)
{
	double last = dp_clock_ms(), idle_check = 0;
	int checking = 0, spoken = reporter.spoken;

	(void)arg;
	pthread_mutex_lock(&reporter.lock);
	while (!reporter.stopping) {
		double now = dp_clock_ms();
		if (!checking && atomic_load(&reporter.idle))
			checking = 1, idle_check = now + DP_STATS_IDLE_MS;
		double tick = last + (spoken ? DP_STATS_PERIOD_MS : DP_STATS_FIRST_MS);
		double until = checking && idle_check < tick ? idle_check : tick;
		if (now < until) {
			struct timespec deadline = dp_deadline_ms(until - now);
			pthread_cond_timedwait(&reporter.wake, &reporter.lock, &deadline);
			continue;
		}
		checking = 0;
		atomic_store(&reporter.idle, 0);
		if (now < tick && !is_idle())
			continue; /* busy again: the tick reports it */
		pthread_mutex_unlock(&reporter.lock);
		spoken |= send_stats(0);
		pthread_mutex_lock(&reporter.lock);
		last = now;
	}
	pthread_mutex_unlock(&reporter.lock);
	send_stats(1);
	return NULL;
}

/* Sends the first message once the connection to the hub is made (the
 * push socket is ZMQ_IMMEDIATE: until then nothing can be queued), waiting
 * up to DP_STATS_FIRST_WAIT_MS or the stop.  Returns 1 when it went. */
static int first_message(void)
{
	int stop_fd = dp_stop_fd();
	zmq_pollitem_t items[2] = {{.socket = reporter.sock, .events = ZMQ_POLLOUT},
				   {.fd = stop_fd, .events = ZMQ_POLLIN}};
	double until = dp_clock_ms() + DP_STATS_FIRST_WAIT_MS;

	while (!dp_stop_requested()) {
		double left = until - dp_clock_ms();
		if (left <= 0)
			return 0;
		int n = zmq_poll(items, stop_fd >= 0 ? 2 : 1, (long)left);
		if (n < 0 && zmq_errno() != EINTR)
			return 0;
		if (n > 0 && (items[0].revents & ZMQ_POLLOUT) && send_stats(0))
			return 1;
	}
	return 0;
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
	pthread_once(&wake_once, init_wake);
	reporter.stopping = 0;
	atomic_store(&reporter.idle, 0);
	reporter.spoken = first_message();
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
