#include "zmqmon.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "stop.h"

/* More sockets than any docpipe process opens (the hub: 9). */
#define MON_MAX 32
#define MON_ENDPOINT_MAX 256
/* Failed handshakes without detail, in a row, that count as a refusal. */
#define MON_NO_DETAIL_LIMIT 3

typedef struct monitor {
	void *sock; /* the monitored socket; NULL: slot free */
	void *pair; /* receives the events; owned by the thread until joined */
	pthread_t thread;
	atomic_int stop;
	int bound, curve, no_detail, logged;
	char endpoint[MON_ENDPOINT_MAX];
} monitor;

static pthread_mutex_t mon_lock = PTHREAD_MUTEX_INITIALIZER;
static monitor monitors[MON_MAX];
static unsigned mon_serial;

static pthread_mutex_t refused_lock = PTHREAD_MUTEX_INITIALIZER;
static int refused;
static atomic_int refusal_stops;
static char refused_msg[DP_ERR_MAX];

int dp_zmq_refused(char *msg, size_t len)
{
	int r;

	pthread_mutex_lock(&refused_lock);
	r = refused;
	if (r && len > 0)
		snprintf(msg, len, "%s", refused_msg);
	pthread_mutex_unlock(&refused_lock);
	return r;
}

/* Records the first refusal and asks the stage to stop. */
static void refuse(const monitor *m, const char *reason)
{
	pthread_mutex_lock(&refused_lock);
	if (!refused) {
		snprintf(refused_msg, sizeof refused_msg, "%.*s: %s", 200, m->endpoint, reason);
		refused = 1;
	}
	pthread_mutex_unlock(&refused_lock);
	if (atomic_load(&refusal_stops))
		dp_request_stop();
}

void dp_zmq_refusal_stops(int on)
{
	atomic_store(&refusal_stops, on);
}

/* The reason a connecting socket's handshake failed, as advice. */
static void client_event(monitor *m, uint16_t event, uint32_t value)
{
	char why[160];

	if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		m->no_detail = 0;
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
		snprintf(why, sizeof why, "the hub refused this side's CurveZMQ key (ZAP status %u): "
			 "its .pub must be in the hub's --allow list", (unsigned)value);
		refuse(m, why);
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
		   value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
		refuse(m, m->curve ? "the hub refused the handshake: it does not use CurveZMQ "
				     "(drop --curve-server and --curve-key)"
				   : "the hub refused the handshake: it requires CurveZMQ (give "
				     "--curve-server HUB.pub and --curve-key THIS.key)");
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
		snprintf(why, sizeof why, "the handshake failed (ZeroMQ protocol error 0x%x)",
			 (unsigned)value);
		refuse(m, why);
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL &&
		   ++m->no_detail == MON_NO_DETAIL_LIMIT) {
		refuse(m, m->curve ? "the peer dropped the connection during 3 handshakes in a "
				     "row: is --curve-server the hub's public key?"
				   : "the peer dropped the connection during 3 handshakes in a "
				     "row: is it a docpipe hub?");
	}
}

/* A CURVE server logs, once, that it refuses peers for their mechanism. */
static void server_event(monitor *m, uint16_t event, uint32_t value)
{
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && !m->logged) {
		m->logged = 1;
		dp_diag("%s: refused a peer %s (logged once)", m->endpoint + 1,
			value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
				? "without CurveZMQ"
				: "that broke the handshake (wrong server key?)");
	}
}

/* Reads one event (two frames: 16-bit event and 32-bit value, then the
 * endpoint).  Returns the event, 0 on timeout, -1 when the context ends. */
static int read_event(void *pair, uint32_t *value)
{
	unsigned char head[6];
	char rest[8];
	uint16_t event;
	int more = 0;
	size_t more_len = sizeof more;

	int n = zmq_recv(pair, head, sizeof head, 0);
	if (n < 0)
		return zmq_errno() == EAGAIN || zmq_errno() == EINTR ? 0 : -1;
	while (zmq_getsockopt(pair, ZMQ_RCVMORE, &more, &more_len) == 0 && more)
		if (zmq_recv(pair, rest, sizeof rest, 0) < 0)
			return -1;
	if (n < 6)
		return 0;
	memcpy(&event, head, 2);
	memcpy(value, head + 2, 4);
	return event;
}

static void *monitor_loop(void *arg)
{
	monitor *m = arg;

	while (!atomic_load(&m->stop)) {
		uint32_t value = 0;
		int event = read_event(m->pair, &value);
		if (event < 0 || event == ZMQ_EVENT_MONITOR_STOPPED)
			break;
		if (event > 0 && m->bound)
			server_event(m, (uint16_t)event, value);
		else if (event > 0)
			client_event(m, (uint16_t)event, value);
	}
	zmq_close(m->pair);
	return NULL;
}

static monitor *slot_of(void *sock)
{
	for (int i = 0; i < MON_MAX; i++)
		if (monitors[i].sock == sock)
			return &monitors[i];
	return NULL;
}

/* Opens the PAIR end of the monitor of sock.  NULL with err set. */
static void *open_pair(void *ctx, void *sock, dp_err *err)
{
	char addr[64];
	int timeout = 250, linger = 0;
	void *pair;

	pthread_mutex_lock(&mon_lock);
	snprintf(addr, sizeof addr, "inproc://docpipe-monitor-%u", mon_serial++);
	pthread_mutex_unlock(&mon_lock);
	if (zmq_socket_monitor(sock, addr, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
					      ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
					      ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
					      ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
					      ZMQ_EVENT_MONITOR_STOPPED) != 0) {
		dp_err_set(err, "zmq_socket_monitor: %s", zmq_strerror(zmq_errno()));
		return NULL;
	}
	/* The timeout lets the thread notice a stop that libzmq could not
	 * announce (MONITOR_STOPPED is the usual way). */
	if ((pair = zmq_socket(ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(pair, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
	    zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_connect(pair, addr) != 0) {
		dp_err_set(err, "socket monitor: %s", zmq_strerror(zmq_errno()));
		if (pair != NULL)
			zmq_close(pair);
		zmq_socket_monitor(sock, NULL, 0);
		return NULL;
	}
	return pair;
}

int dp_zmq_monitor_start(void *ctx, void *sock, const char *endpoint, int curve, dp_err *err)
{
	int bound = endpoint[0] == '@';
	monitor *m;
	void *pair;

	if (strncmp(endpoint + bound, "inproc://", 9) == 0 || (bound && !curve))
		return 0;
	if ((pair = open_pair(ctx, sock, err)) == NULL)
		return -1;
	pthread_mutex_lock(&mon_lock);
	m = slot_of(NULL);
	if (m != NULL) {
		*m = (monitor){.sock = sock, .pair = pair, .bound = bound, .curve = curve};
		snprintf(m->endpoint, sizeof m->endpoint, "%s", endpoint);
		if (pthread_create(&m->thread, NULL, monitor_loop, m) != 0)
			m->sock = NULL;
	}
	pthread_mutex_unlock(&mon_lock);
	if (m == NULL || m->sock == NULL) {
		dp_err_set(err, "cannot start a socket monitor (%s)", m == NULL ? "too many sockets"
										  : "no thread");
		zmq_socket_monitor(sock, NULL, 0);
		zmq_close(pair);
		return -1;
	}
	return 0;
}

void dp_zmq_monitor_stop(void *sock)
{
	monitor *m;

	pthread_mutex_lock(&mon_lock);
	m = slot_of(sock);
	pthread_mutex_unlock(&mon_lock);
	if (m == NULL)
		return;
	/* Sends MONITOR_STOPPED, which ends the thread at once. */
	zmq_socket_monitor(sock, NULL, 0);
	atomic_store(&m->stop, 1);
	pthread_join(m->thread, NULL);
	pthread_mutex_lock(&mon_lock);
	m->sock = NULL;
	pthread_mutex_unlock(&mon_lock);
}
