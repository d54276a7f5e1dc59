#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int dp_stdout_failed(dp_err *err)
{
	dp_err_set(err, "write to standard output: %s", strerror(errno));
	return -1;
}

int dp_stdout_flush(dp_err *err)
{
	if (fflush(stdout) == EOF)
		return dp_stdout_failed(err);
	/* An earlier flush (output past the buffer) failed and this one had
	 * nothing left to write: the error stays in the stream, its errno is
	 * gone. */
	if (ferror(stdout)) {
		dp_err_set(err, "write to standard output failed");
		return -1;
	}
	return 0;
}
