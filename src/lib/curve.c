#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

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

/* Calls fn(ctx, name, key) for each line of the key file at path that
 * holds a well-formed key ("name = key", or a bare key: name "").  The
 * line buffer is wiped after: it may have held a secret key.  Returns 0,
 * or -1 with err set when the file cannot be read. */
static int each_key(const char *path, void (*fn)(void *ctx, const char *name, const char *key),
		    void *ctx, dp_err *err)
{
	FILE *f = fopen(path, "r");
	char line[256];

	if (f == NULL) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		const char *name;
		char *key;
		if (parse_line(line, &name, &key) && is_z85_key(key, strlen(key)))
			fn(ctx, name, key);
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
	return 0;
}

struct key_pair {
	char *public_key, *secret_key; /* secret_key NULL: not wanted */
	int have_pub, have_sec;
};

static void take_pair_key(void *ctx, const char *name, const char *key)
{
	struct key_pair *kp = ctx;

	if (strcmp(name, "secret") == 0 && kp->secret_key != NULL) {
		memcpy(kp->secret_key, key, DP_CURVE_KEY_LEN + 1);
		kp->have_sec = 1;
	} else if (strcmp(name, "public") == 0 || name[0] == '\0') {
		memcpy(kp->public_key, key, DP_CURVE_KEY_LEN + 1);
		kp->have_pub = 1;
	}
}

int dp_curve_load(const char *path, char *public_key, char *secret_key, dp_err *err)
{
	struct key_pair kp = {.public_key = public_key, .secret_key = secret_key};

	if (each_key(path, take_pair_key, &kp, err) < 0)
		return -1;
	if (!kp.have_pub || (secret_key != NULL && !kp.have_sec)) {
		dp_err_set(err, "%s: no %s key in this file", path, kp.have_pub ? "secret" : "public");
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

struct allow_list {
	uint8_t (*keys)[32];
	size_t max, n;
};

static void take_allowed_key(void *ctx, const char *name, const char *key)
{
	struct allow_list *al = ctx;

	if (strcmp(name, "secret") != 0 && al->n < al->max)
		zmq_z85_decode(al->keys[al->n++], key);
}

int dp_curve_load_allow(const char *path, uint8_t (*keys)[32], size_t max, size_t *nkeys,
			dp_err *err)
{
	struct allow_list al = {.keys = keys, .max = max};
	int rc = each_key(path, take_allowed_key, &al, err);

	*nkeys = al.n;
	return rc;
}
