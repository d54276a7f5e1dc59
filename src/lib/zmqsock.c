#include "zmqsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>
#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#endif

#include "curve.h"
#include "zmqmon.h"

/* A draft option in libzmq 4.3 headers, honoured by the library: a CURVE
 * server then refuses every client when no ZAP handler answers. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static void *ctx;
static int ctx_refs;

void *dp_zmq_context(dp_err *err)
{
	void *c;

	pthread_mutex_lock(&ctx_lock);
	if (ctx == NULL && (ctx = zmq_ctx_new()) == NULL)
		dp_err_set(err, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
	if (ctx != NULL)
		ctx_refs++;
	c = ctx;
	pthread_mutex_unlock(&ctx_lock);
	return c;
}

void dp_zmq_context_release(void)
{
	void *last = NULL;

	pthread_mutex_lock(&ctx_lock);
	if (ctx_refs > 0 && --ctx_refs == 0) {
		last = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&ctx_lock);
	/* Waits up to each socket's LINGER for queued messages to leave. */
	if (last != NULL)
		while (zmq_ctx_term(last) != 0 && zmq_errno() == EINTR)
			;
}

int dp_zmq_is_endpoint(const char *endpoint)
{
	return endpoint != NULL && strcmp(endpoint, "-") != 0;
}

int dp_zmq_is_local(const char *endpoint)
{
	static const char *const loopback[] = {"localhost:", "[::1]:", "[::1]", "lo:"};

	if (endpoint[0] == '@')
		endpoint++;
	if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0)
		return 1;
	if (strncmp(endpoint, "tcp://", 6) != 0)
		return 0;
	endpoint += 6;
	/* 127.0.0.0/8 only as a numeric address: "127.example.com" is a
	 * host name like any other. */
	if (strncmp(endpoint, "127.", 4) == 0)
		return endpoint[strspn(endpoint, "0123456789.")] == ':';
	for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
		if (strncmp(endpoint, loopback[i], strlen(loopback[i])) == 0)
			return 1;
	return 0;
}

static int set_int(void *s, int option, int value, const char *name, dp_err *err)
{
	if (zmq_setsockopt(s, option, &value, sizeof value) == 0)
		return 0;
	dp_err_set(err, "zmq_setsockopt %s: %s", name, zmq_strerror(zmq_errno()));
	return -1;
}

static int set_str(void *s, int option, const char *value, const char *name, dp_err *err)
{
	if (zmq_setsockopt(s, option, value, strlen(value)) == 0)
		return 0;
	dp_err_set(err, "zmq_setsockopt %s: %s", name, zmq_strerror(zmq_errno()));
	return -1;
}

static int set_common(void *s, int type, const dp_zmq_opts *opts, dp_err *err)
{
	int hwm = opts->hwm > 0 ? opts->hwm : DP_ZMQ_HWM_DEFAULT;

	/* No ZMQ_HEARTBEAT_*: see the header (libzmq 4.3.4's assertion). */
	if (set_int(s, ZMQ_LINGER, DP_ZMQ_LINGER_MS, "LINGER", err) < 0 ||
	    set_int(s, ZMQ_SNDHWM, hwm, "SNDHWM", err) < 0 ||
	    set_int(s, ZMQ_RCVHWM, hwm, "RCVHWM", err) < 0 ||
	    set_int(s, ZMQ_TCP_KEEPALIVE, 1, "TCP_KEEPALIVE", err) < 0 ||
	    set_int(s, ZMQ_TCP_KEEPALIVE_IDLE, 30, "TCP_KEEPALIVE_IDLE", err) < 0 ||
	    set_int(s, ZMQ_TCP_KEEPALIVE_INTVL, 10, "TCP_KEEPALIVE_INTVL", err) < 0 ||
	    set_int(s, ZMQ_TCP_KEEPALIVE_CNT, 3, "TCP_KEEPALIVE_CNT", err) < 0 ||
	    set_int(s, ZMQ_RECONNECT_IVL_MAX, 2000, "RECONNECT_IVL_MAX", err) < 0 ||
	    set_int(s, ZMQ_CONNECT_TIMEOUT, DP_ZMQ_CONNECT_TIMEOUT_MS, "CONNECT_TIMEOUT", err) < 0)
		return -1;
	if (type == ZMQ_PUSH && set_int(s, ZMQ_IMMEDIATE, 1, "IMMEDIATE", err) < 0)
		return -1;
	if (type == ZMQ_PULL) {
		int64_t max = DP_ZMQ_FRAME_MAX;
		if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0) {
			dp_err_set(err, "zmq_setsockopt MAXMSGSIZE: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
	}
	return 0;
}

static int set_curve(void *s, const dp_zmq_opts *opts, dp_err *err)
{
	char pub[DP_CURVE_KEY_LEN + 1], sec[DP_CURVE_KEY_LEN + 1], server[DP_CURVE_KEY_LEN + 1];
	int rc = -1;

	if (opts->curve_secret != NULL) {
		if (dp_curve_load(opts->curve_secret, pub, sec, err) < 0)
			return -1;
		rc = set_int(s, ZMQ_CURVE_SERVER, 1, "CURVE_SERVER", err) < 0 ||
		     set_str(s, ZMQ_CURVE_SECRETKEY, sec, "CURVE_SECRETKEY", err) < 0 ||
		     set_str(s, ZMQ_ZAP_DOMAIN, "docpipe", "ZAP_DOMAIN", err) < 0 ||
		     set_int(s, ZMQ_ZAP_ENFORCE_DOMAIN, 1, "ZAP_ENFORCE_DOMAIN", err) < 0 ? -1 : 0;
	} else {
		if (opts->curve_key == NULL) {
			dp_err_set(err, "--curve-server needs --curve-key (this side's key pair)");
			return -1;
		}
		if (dp_curve_load(opts->curve_server, server, NULL, err) < 0 ||
		    dp_curve_load(opts->curve_key, pub, sec, err) < 0)
			return -1;
		rc = set_str(s, ZMQ_CURVE_SERVERKEY, server, "CURVE_SERVERKEY", err) < 0 ||
		     set_str(s, ZMQ_CURVE_PUBLICKEY, pub, "CURVE_PUBLICKEY", err) < 0 ||
		     set_str(s, ZMQ_CURVE_SECRETKEY, sec, "CURVE_SECRETKEY", err) < 0 ? -1 : 0;
	}
	explicit_bzero(sec, sizeof sec);
	return rc;
}

void *dp_zmq_open(int type, const char *endpoint, const dp_zmq_opts *opts, dp_err *err)
{
	static const dp_zmq_opts defaults = {0};
	int bind = endpoint[0] == '@';
	int curve;
	void *c, *s;

	if (opts == NULL)
		opts = &defaults;
	curve = opts->curve_secret != NULL || opts->curve_server != NULL;
	if (!curve && !opts->insecure && !dp_zmq_is_local(endpoint)) {
		dp_err_set(err, "%s: plaintext is allowed only on loopback and ipc; use CurveZMQ "
				"keys or --insecure", endpoint);
		return NULL;
	}
	if ((c = dp_zmq_context(err)) == NULL)
		return NULL;
	if ((s = zmq_socket(c, type)) == NULL) {
		dp_err_set(err, "zmq_socket: %s", zmq_strerror(zmq_errno()));
		dp_zmq_context_release();
		return NULL;
	}
	if (set_common(s, type, opts, err) < 0 || (curve && set_curve(s, opts, err) < 0) ||
	    dp_zmq_monitor_start(c, s, endpoint, curve, err) < 0)
		goto fail;
	if ((bind ? zmq_bind(s, endpoint + 1) : zmq_connect(s, endpoint)) != 0) {
		dp_err_set(err, "%s %s: %s", bind ? "bind" : "connect", endpoint + bind,
			   zmq_strerror(zmq_errno()));
		goto fail;
	}
	return s;
fail:
	dp_zmq_close(&s);
	return NULL;
}

void dp_zmq_close(void **sock)
{
	if (*sock == NULL)
		return;
	dp_zmq_monitor_stop(*sock);
	zmq_close(*sock);
	*sock = NULL;
	dp_zmq_context_release();
}

/* dp_zmq_msg_own's free function, on whichever thread ZeroMQ calls it. */
static void free_owned(void *data, void *hint)
{
	(void)hint;
#ifdef __SANITIZE_THREAD__
	__tsan_acquire(data);
#endif
	free(data);
}

int dp_zmq_msg_own(zmq_msg_t *msg, void *data, size_t n)
{
#ifdef __SANITIZE_THREAD__
	__tsan_release(data);
#endif
	return zmq_msg_init_data(msg, data, n, free_owned, NULL) == 0 ? 0 : -1;
}
