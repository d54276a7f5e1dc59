#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "curve.h"
#include "zmqsock.h"

/* At most this many allowed client keys: a bound, and plenty for workers. */
#define DP_ZAP_MAX_KEYS 1024

/* Refused keys the log has named already (more are logged every time). */
#define DP_ZAP_LOGGED_MAX 64

struct dp_zap {
	void *rep;
	pthread_t thread;
	uint8_t (*keys)[32];
	size_t nkeys;
	uint8_t logged[DP_ZAP_LOGGED_MAX][32];
	size_t nlogged;
	atomic_int stop;
};

/* Logs a refused peer's address and key, once per key: a refused worker
 * reconnects every few seconds.  The handler thread has no caller to
 * return an error to, so it is the one library thread that writes a
 * diagnostic (the hub's stderr is where an operator looks). */
static void log_refused(dp_zap *zap, zmq_msg_t *address, zmq_msg_t *key)
{
	char z85[DP_CURVE_KEY_LEN + 1] = "(none)";
	int len = (int)zmq_msg_size(address);

	if (zmq_msg_size(key) == 32) {
		for (size_t i = 0; i < zap->nlogged; i++)
			if (memcmp(zap->logged[i], zmq_msg_data(key), 32) == 0)
				return;
		if (zap->nlogged < DP_ZAP_LOGGED_MAX)
			memcpy(zap->logged[zap->nlogged++], zmq_msg_data(key), 32);
		zmq_z85_encode(z85, zmq_msg_data(key), 32);
	}
	dp_diag("refused a CurveZMQ peer at %.*s: key \"%s\" is not in the --allow list "
		"(logged once per key)", len > 64 ? 64 : len, (const char *)zmq_msg_data(address),
		z85);
}

static int allowed(const dp_zap *zap, const void *key, size_t len)
{
	if (len != 32)
		return 0;
	for (size_t i = 0; i < zap->nkeys; i++)
		if (memcmp(zap->keys[i], key, 32) == 0)
			return 1;
	return 0;
}

/* The ZAP protocol (RFC 27): a request is version, request id, domain,
 * address, identity, mechanism, then credentials; the reply is version,
 * request id, status code, status text, user id, metadata. */
static void *zap_loop(void *arg)
{
	dp_zap *zap = arg;

	while (!atomic_load(&zap->stop)) {
		zmq_msg_t part[8];
		int n = 0, more = 1;
		zmq_pollitem_t item = {.socket = zap->rep, .events = ZMQ_POLLIN};

		/* Polls so that dp_zap_stop is noticed within 200 ms. */
		if (zmq_poll(&item, 1, 200) <= 0)
			continue;

		while (more) {
			zmq_msg_t *m = &part[n < 8 ? n : 7];
			if (n >= 8)
				zmq_msg_close(m);
			zmq_msg_init(m);
			if (zmq_msg_recv(m, zap->rep, 0) < 0) {
				zmq_msg_close(m);
				for (int i = 0; i < (n < 8 ? n : 7); i++)
					zmq_msg_close(&part[i]);
				return NULL;
			}
			more = zmq_msg_more(m);
			if (n < 8)
				n++;
		}
		int ok = n >= 7 && zmq_msg_size(&part[5]) == 5 &&
			 memcmp(zmq_msg_data(&part[5]), "CURVE", 5) == 0 &&
			 allowed(zap, zmq_msg_data(&part[6]), zmq_msg_size(&part[6]));
		if (n >= 7 && !ok)
			log_refused(zap, &part[3], &part[6]);
		const char *reply[6] = {"1.0", "", ok ? "200" : "400", ok ? "OK" : "key not allowed",
					"", ""};
		int sent = 0;
		for (int i = 0; i < 6; i++) {
			int flags = i < 5 ? ZMQ_SNDMORE : 0;
			if (i == 1 && n >= 2)
				sent = zmq_send(zap->rep, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), flags);
			else
				sent = zmq_send(zap->rep, reply[i], strlen(reply[i]), flags);
			if (sent < 0)
				break; /* no answer: the client is refused (fail closed) */
		}
		for (int i = 0; i < n; i++)
			zmq_msg_close(&part[i]);
		if (sent < 0 && zmq_errno() == ETERM)
			return NULL; /* the context is ending */
	}
	return NULL;
}

static int load_allow_list(dp_zap *zap, const char *path, dp_err *err)
{
	zap->keys = calloc(DP_ZAP_MAX_KEYS, sizeof *zap->keys);
	if (zap->keys == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	return dp_curve_load_allow(path, zap->keys, DP_ZAP_MAX_KEYS, &zap->nkeys, err);
}

dp_zap *dp_zap_start(const char *allow_file, dp_err *err)
{
	dp_zap *zap = calloc(1, sizeof *zap);
	void *ctx;

	if (zap == NULL) {
		dp_err_set(err, "out of memory");
		return NULL;
	}
	if (load_allow_list(zap, allow_file, err) < 0)
		goto fail;
	if ((ctx = dp_zmq_context(err)) == NULL)
		goto fail;
	if ((zap->rep = zmq_socket(ctx, ZMQ_REP)) == NULL ||
	    zmq_bind(zap->rep, "inproc://zeromq.zap.01") != 0) {
		dp_err_set(err, "ZAP handler: %s", zmq_strerror(zmq_errno()));
		if (zap->rep != NULL)
			zmq_close(zap->rep);
		dp_zmq_context_release();
		goto fail;
	}
	int linger = 0;
	zmq_setsockopt(zap->rep, ZMQ_LINGER, &linger, sizeof linger);
	if (pthread_create(&zap->thread, NULL, zap_loop, zap) != 0) {
		dp_err_set(err, "cannot start the ZAP handler thread");
		zmq_close(zap->rep);
		dp_zmq_context_release();
		goto fail;
	}
	return zap;
fail:
	free(zap->keys);
	free(zap);
	return NULL;
}

void dp_zap_stop(dp_zap **zap)
{
	if (*zap == NULL)
		return;
	atomic_store(&(*zap)->stop, 1);
	pthread_join((*zap)->thread, NULL);
	zmq_close((*zap)->rep);
	dp_zmq_context_release();
	free((*zap)->keys);
	free(*zap);
	*zap = NULL;
}
