/* CurveZMQ keys and authentication.
 *
 * A key file is text: "public = <Z85>" and, in a secret key file,
 * "secret = <Z85>" (40 characters each), '#' comments allowed.
 * `NAME.key` holds both (mode 0600), `NAME.pub` only the public half: the
 * file handed to the other side.  An allow-list is a file of public keys,
 * one per line (the "public = " prefix optional), or several .pub files
 * concatenated.  The ZAP handler that enforces an allow-list is zap.h. */
#ifndef DP_CURVE_H
#define DP_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define DP_CURVE_KEY_LEN 40 /* Z85 characters of a 32-byte key */

/* Reads a key file.  secret may be NULL; when it is not, the file must
 * hold a secret key.  Buffers are DP_CURVE_KEY_LEN + 1 bytes.  Returns 0,
 * or -1 with err naming the file and what is wrong: it cannot be read,
 * a line is neither a comment, blank nor a well-formed key line, or the
 * key wanted is not there. */
int dp_curve_load(const char *path, char *public_key, char *secret_key, dp_err *err);

/* Writes a new key pair to BASE.key (0600) and BASE.pub.  Refuses to
 * overwrite. */
int dp_curve_keygen(const char *base, dp_err *err);

/* Reads an allow-list file (see above): the public keys, decoded, into
 * keys[0..max-1] (keys may be NULL when max is 0); *nkeys is how many.
 * Keys past max and secret keys are skipped.  Returns 0, or -1 with err
 * set as dp_curve_load's, and when the file holds no public key (every
 * client would be refused). */
int dp_curve_load_allow(const char *path, uint8_t (*keys)[32], size_t max, size_t *nkeys,
			dp_err *err);

/* What a key file an option names must hold. */
enum dp_curve_file {
	DP_CURVE_PUBLIC, /* a public key (--curve-server) */
	DP_CURVE_PAIR,   /* a key pair (--curve-key, --curve-secret) */
	DP_CURVE_ALLOW,  /* an allow-list (--allow) */
};

/* Reads the key file path that option (its name, "--curve-key") names,
 * as the socket or the ZAP handler will, so that a file that is missing,
 * unreadable or malformed is a usage error when the options are read,
 * before anything starts.  Returns 0, or -1 with err "OPTION PATH: what is
 * wrong".  Keys read are wiped. */
int dp_curve_check(const char *option, const char *path, enum dp_curve_file kind, dp_err *err);

#endif
