/* CurveZMQ keys and authentication.
 *
 * A key file is text: "public = <Z85>" and, in a secret key file,
 * "secret = <Z85>" (40 characters each), '#' comments allowed.
 * `NAME.key` holds both (mode 0600), `NAME.pub` only the public half: the
 * file handed to the other side.  An allow-list is a file of public keys,
 * one per line (the "public = " prefix optional), or several .pub files
 * concatenated. */
#ifndef DP_CURVE_H
#define DP_CURVE_H

#include "err.h"

#define DP_CURVE_KEY_LEN 40 /* Z85 characters of a 32-byte key */

/* Reads a key file.  secret may be NULL; when it is not, the file must
 * hold a secret key.  Buffers are DP_CURVE_KEY_LEN + 1 bytes. */
int dp_curve_load(const char *path, char *public_key, char *secret_key, dp_err *err);

/* Writes a new key pair to BASE.key (0600) and BASE.pub.  Refuses to
 * overwrite. */
int dp_curve_keygen(const char *base, dp_err *err);

typedef struct dp_zap dp_zap;

/* Starts the ZAP handler of this process: CURVE clients whose public key
 * is in the allow-list file are accepted, everything else is refused.
 * Must run before the first CURVE server socket binds. */
dp_zap *dp_zap_start(const char *allow_file, dp_err *err);
void dp_zap_stop(dp_zap **zap);

#endif
