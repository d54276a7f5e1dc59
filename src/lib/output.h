/* A program's standard output: flushing it and the words of its failure,
 * one wording for the stdio sink (transport.c) and the programs that
 * print their text themselves (docpipe-query's results, docpipe-status's
 * and docpipe-plan's reports: dp_cli_report).  Apart from transport.c so
 * that a program with no sink (docpipe-status) links no transport and no
 * libzmq. */
#ifndef DP_OUTPUT_H
#define DP_OUTPUT_H

#include "err.h"

/* After a write or flush to standard output failed (errno set by it):
 * err says "write to standard output: " and errno's words (a full disk, a
 * closed descriptor).  Returns -1. */
int dp_stdout_failed(dp_err *err);

/* Flushes stdout.  Returns 0, or -1 with err set as dp_stdout_failed
 * sets it (without errno's words when only an earlier, implicit flush
 * failed: they are gone). */
int dp_stdout_flush(dp_err *err);

#endif
