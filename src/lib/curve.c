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

/* Parses one line: "name = key" (name public or secret) or a bare key
 * (name "").  Returns 0 for a comment or a blank line, 1 for a key line
 * (a 40-character Z85 key, nothing after it), -1 for anything else. */
static int parse_line(char *line, const char **name, char **key)
{
	char *s = line + strspn(line, " \t"), *eq;
	size_t len;

	s[strcspn(s, "\r\n")] = '\0';
	len = strcspn(s, " \t");
	if (s[len + strspn(s + len, " \t")] == '\0' && is_z85_key(s, len)) {
		/* A bare key, tested first: Z85 has '#' and '='. */
		s[len] = '\0';
		*name = "";
		*key = s;
		return 1;
	}
	if (*s == '#' || *s == '\0')
		return 0;
	if ((eq = strchr(s, '=')) == NULL)
		return -1;
	*eq = '\0';
	len = strcspn(s, " \t");
	if (s[len + strspn(s + len, " \t")] != '\0')
		return -1; /* more than a name before the '=' */
	s[len] = '\0';
	*name = s;
	*key = eq + 1 + strspn(eq + 1, " \t");
	len = strcspn(*key, " \t");
	if ((*key)[len + strspn(*key + len, " \t")] != '\0')
		return -1; /* more after the key */
	(*key)[len] = '\0';
	if (strcmp(*name, "public") != 0 && strcmp(*name, "secret") != 0)
		return -1;
	return is_z85_key(*key, len) ? 1 : -1;
}

/* The longest line a key file may hold (a key line is 50 characters). */
#define CURVE_LINE_MAX 255

/* Calls fn(ctx, name, key) for each key line of the key file at path
 * ("name = key", or a bare key: name "").  The line buffer is wiped after:
 * it may have held a secret key.  Returns 0, or -1 with err set when the
 * file cannot be read or a line is neither a comment, blank nor a key
 * line (a file that is not a key file: said at start, not taken for one
 * without keys). */
static int each_key(const char *path, void (*fn)(void *ctx, const char *name, const char *key),
		    void *ctx, dp_err *err)
{
	FILE *f = fopen(path, "r");
	char line[CURVE_LINE_MAX + 2];
	unsigned long lineno = 0;
	int rc = 0;

	if (f == NULL) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		const char *name;
		char *key;
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			dp_err_set(err, "%s: line %lu is over %d characters: not a key file", path, lineno,
				   CURVE_LINE_MAX);
			rc = -1;
		} else if ((rc = parse_line(line, &name, &key)) > 0) {
			fn(ctx, name, key);
			rc = 0;
		} else if (rc < 0) {
			dp_err_set(err, "%s: line %lu is not a key (\"public = \" or \"secret = \" and 40 Z85"
				   " characters, as docpipe keygen writes them)", path, lineno);
		}
	}
	if (rc == 0 && ferror(f)) {
		dp_err_set(err, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
	return rc;
}

struct key_pair {
	char *public_key, *secret_key; /* secret_key NULL: not wanted */
	int have_pub, have_sec;
};

static void take_pair_key(void *ctx, const char *name, const char *key)
{
	struct key_pair *kp = ctx;

	if (strcmp(name, "secret") == 0) {
		if (kp->secret_key != NULL)
			memcpy(kp->secret_key, key, DP_CURVE_KEY_LEN + 1);
		kp->have_sec = 1;
	} else {
		memcpy(kp->public_key, key, DP_CURVE_KEY_LEN + 1);
		kp->have_pub = 1;
	}
}

int dp_curve_load(const char *path, char *public_key, char *secret_key, dp_err *err)
{
	struct key_pair kp = {.public_key = public_key, .secret_key = secret_key};

	if (each_key(path, take_pair_key, &kp, err) < 0)
		return -1;
	if (!kp.have_pub) {
		dp_err_set(err, "%s: no public key in this file (docpipe keygen BASE writes BASE.key and"
			   " BASE.pub)", path);
		return -1;
	}
	if (secret_key != NULL && !kp.have_sec) {
		dp_err_set(err, "%s: no secret key in this file (a public key file? this takes a key"
			   " pair, BASE.key from docpipe keygen BASE)", path);
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
	size_t max, n, found;
};

static void take_allowed_key(void *ctx, const char *name, const char *key)
{
	struct allow_list *al = ctx;

	if (strcmp(name, "secret") == 0)
		return;
	al->found++;
	if (al->n < al->max)
		zmq_z85_decode(al->keys[al->n++], key);
}

int dp_curve_load_allow(const char *path, uint8_t (*keys)[32], size_t max, size_t *nkeys,
			dp_err *err)
{
	struct allow_list al = {.keys = keys, .max = max};
	int rc = each_key(path, take_allowed_key, &al, err);

	if (rc == 0 && al.found == 0) {
		dp_err_set(err, "%s: no public key in this file: every client would be refused", path);
		rc = -1;
	}
	*nkeys = al.n;
	return rc;
}

int dp_curve_check(const char *option, const char *path, enum dp_curve_file kind, dp_err *err)
{
	char pub[DP_CURVE_KEY_LEN + 1], sec[DP_CURVE_KEY_LEN + 1];
	size_t n;
	dp_err why;
	int rc;

	if (kind == DP_CURVE_ALLOW)
		rc = dp_curve_load_allow(path, NULL, 0, &n, &why);
	else
		rc = dp_curve_load(path, pub, kind == DP_CURVE_PAIR ? sec : NULL, &why);
	explicit_bzero(sec, sizeof sec);
	if (rc < 0)
		dp_err_set(err, "%s %s", option, why.msg);
	return rc;
}
