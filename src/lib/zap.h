/* The ZAP handler: the one place a CurveZMQ server (the hub) decides
 * which clients it accepts (ZAP, RFC 27, over inproc://zeromq.zap.01).
 * Transport tier: it runs on the process's ZeroMQ context (zmqsock.h) and
 * reads allow-lists through curve.h; zmqsock.c does not include it, so
 * there is no cycle. */
#ifndef DP_ZAP_H
#define DP_ZAP_H

#include "err.h"

typedef struct dp_zap dp_zap;

/* Starts the ZAP handler of this process: CURVE clients whose public key
 * is in the allow-list file (curve.h) are accepted, everything else is
 * refused.  Must run before the first CURVE server socket binds.  Returns
 * the handler, or NULL with err set. */
dp_zap *dp_zap_start(const char *allow_file, dp_err *err);

/* Stops the handler (within ~200 ms), frees it and sets *zap to NULL;
 * nothing when *zap is NULL. */
void dp_zap_stop(dp_zap **zap);

#endif
