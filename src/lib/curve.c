#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "zmqsock.h"

/* At most this many allowed client keys: a bound, and plenty for workers. */
#define DP_ZAP_MAX_KEYS 1024

static int is_z85_key(const char *s, size_t len)
{
	if (len != DP_CURVE_KEY_LEN)
		return 0;
	uint8_t raw[32];
	char copy[DP_CURVE_KEY_LEN + 1];
	memcpy(copy, s, len);
	copy[len] = '\0';
	return zmq_z85_decode(raw, copy) != NULL;
}

/* Parses one line: "name = key" or a bare key (name ""). */
static int parse_line(char *line, const char **name, char **key)
{
	char *eq = strchr(line, '=');

	line[strcspn(line, "\r\n")] = '\0';
	if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t")] == '\0')
		return 0;
	if (eq == NULL) {
		*name = "";
		*key = line + strspn(line, " \t");
	} else {
		*eq = '\0';
		*name = line + strspn(line, " \t");
		line[strcspn(line, " \t")] = '\0';
		*key = eq + 1 + strspn(eq + 1, " \t");
	}
	(*key)[strcspn(*key, " \t")] = '\0';
	return 1;
}

int dp_curve_load(const char *path, char *public_key, char *secret_key, dp_err *err)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int have_pub = 0, have_sec = 0;

	if (f == NULL) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		const char *name;
		char *key;
		if (!parse_line(line, &name, &key))
			continue;
		if (!is_z85_key(key, strlen(key)))
			continue;
		if (strcmp(name, "secret") == 0 && secret_key != NULL) {
			memcpy(secret_key, key, DP_CURVE_KEY_LEN + 1);
			have_sec = 1;
		} else if (strcmp(name, "public") == 0 || name[0] == '\0') {
			memcpy(public_key, key, DP_CURVE_KEY_LEN + 1);
			have_pub = 1;
		}
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
	if (!have_pub || (secret_key != NULL && !have_sec)) {
		dp_err_set(err, "%s: no %s key in this file", path, have_pub ? "secret" : "public");
		return -1;
	}
	return 0;
}

static int write_key_file(const char *path, int mode, const char *pub, const char *sec,
			  dp_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	FILE *f;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "# docpipe CurveZMQ %s key\npublic = %s\n", sec ? "secret" : "public", pub);
	if (sec != NULL)
		fprintf(f, "secret = %s\n", sec);
	if (fclose(f) != 0) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int dp_curve_keygen(const char *base, dp_err *err)
{
	char pub[DP_CURVE_KEY_LEN + 1], sec[DP_CURVE_KEY_LEN + 1];
	char path[4096];
	int rc;

	if (zmq_curve_keypair(pub, sec) != 0) {
		dp_err_set(err, "zmq_curve_keypair: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	snprintf(path, sizeof path, "%s.key", base);
	rc = write_key_file(path, 0600, pub, sec, err);
	explicit_bzero(sec, sizeof sec);
	if (rc == 0) {
		snprintf(path, sizeof path, "%s.pub", base);
		rc = write_key_file(path, 0644, pub, NULL, err);
	}
	return rc;
}

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
	FILE *f = fopen(path, "r");
	char line[256];

	if (f == NULL) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	zap->keys = calloc(DP_ZAP_MAX_KEYS, sizeof *zap->keys);
	while (zap->keys != NULL && fgets(line, sizeof line, f) != NULL) {
		const char *name;
		char *key;
		if (!parse_line(line, &name, &key) || strcmp(name, "secret") == 0)
			continue;
		if (!is_z85_key(key, strlen(key)) || zap->nkeys == DP_ZAP_MAX_KEYS)
			continue;
		zmq_z85_decode(zap->keys[zap->nkeys++], key);
	}
	fclose(f);
	if (zap->keys == NULL) {
		dp_err_set(err, "out of memory");
		return -1;
	}
	return 0;
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
