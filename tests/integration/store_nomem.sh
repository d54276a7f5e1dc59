#!/bin/bash
# The store out of memory (a low ulimit -v, a container's limit) on a large
# document: it died in jq's allocator, "error: cannot allocate memory" and
# SIGABRT (134), no stage named (fault sweep 21b).  Now it says so first
# (dp_cli_nomem_said, src/lib/cli.c: every stage's main thread, its pool's
# threads and the store's reader), whichever meets it; nothing of the
# document is half-written.
# Release only: ASan's shadow memory takes more address space than any
# such limit.
. "$(dirname "$0")/../lib/tap.sh"
unsanitized_only "ulimit -v under a sanitizer (its shadow memory)"
newdb || exit 1
gen_docs --docs 1 --chunks 3000 --dim 384 >"$T_DIR/big.ndjson"
# 80 MB: the store starts (its libraries take ~40 MB), the document's 3,000
# vectors and texts do not fit; whichever allocation fails first, jq's or
# ours ("out of memory reading input", exit 3), the stage is named.
(ulimit -v 80000 && exec docpipe-store -q <"$T_DIR/big.ndjson" >/dev/null 2>"$T_DIR/err")
rc=$?
like "$rc" '^(134|3)$' "the store out of memory: it stops (134: jq's abort, or 3)"
like "$(head -1 "$T_DIR/err")" '^docpipe-store: out of memory' "... saying so, the stage named first" ||
	diag "$(head -c 300 "$T_DIR/err")"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 0 "... nothing of the document half-written"
done_testing
