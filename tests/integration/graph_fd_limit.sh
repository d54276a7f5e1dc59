#!/bin/bash
# A run whose soft limit on open files is low (a container's, a service
# manager's LimitNOFILE soft value) and whose hub holds sockets for many
# replicas: libzmq aborted the hub when it could not accept one ("Too many
# open files" in its ipc listener: the hub died of SIGABRT, the run stopped
# with status 3).  Every stage, the hub too, raises its soft limit to the
# hard one at start (dp_cli_init), as Go's runtime does.
. "$(dirname "$0")/../lib/tap.sh"

numbered_docs "$T_DIR/docs" 40 40 note
newdb || exit 1
(ulimit -S -n 64; exec docpipe run "$T_DIR/docs" --replicas chunk=8 --replicas summarize=8 \
	--replicas embed=8 --replicas store=4 --progress none >"$T_DIR/report" 2>"$T_DIR/err")
is "$?" 0 "28 replicas at a soft limit of 64 open files: exit 0"
is "$(jq -r '[.complete, .added, .failed] | @tsv' "$T_DIR/report")" "$(printf 'true\t40\t0')" \
	"report: complete, 40 added, none failed"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 40 "every document stored"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" | tail -20
done_testing
