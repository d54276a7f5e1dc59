#include "stop.h"

#include <signal.h>

static volatile sig_atomic_t stop_flag;

void dp_request_stop(void) { stop_flag = 1; }

int dp_stop_requested(void) { return stop_flag != 0; }
