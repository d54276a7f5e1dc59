#!/bin/bash
# A run whose soft limit on open files is low (a container's, a service
# manager's LimitNOFILE soft value) and whose hub holds sockets for many
# replicas: libzmq aborted the hub when it could not accept one ("Too many
# open files" in its ipc listener: the hub died of SIGABRT, the run stopped
# with status 3).  Every stage, the hub too, raises its soft limit to the
# hard one at start (dp_cli_init), as Go's runtime does; a run whose
# replicas need more than the hard limit is refused by name.
. "$(dirname "$0")/../lib/tap.sh"

numbered_docs "$T_DIR/docs" 40 40 note
newdb || exit 1
(ulimit -S -n 64; exec docpipe run "$T_DIR/docs" --replicas chunk=8 --replicas summarize=8 \
	--replicas embed=8 --replicas store=4 --progress none >"$T_DIR/report" 2>"$T_DIR/err")
is "$?" 0 "28 replicas at a soft limit of 64 open files: exit 0"
is "$(jq -r '[.complete, .added, .failed] | @tsv' "$T_DIR/report")" "$(printf 'true\t40\t0')" \
	"report: complete, 40 added, none failed"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 40 "every document stored"

# A hard limit under what the hub needs: refused before anything starts,
# naming the limit.  It ran: libzmq aborted the hub (SIGABRT), status 3,
# "the hub died (signal 6)".  The default replicas fit in 64.
printf '# Late\n\nlate words\n' >"$T_DIR/docs/late.md"
(ulimit -n 64; exec docpipe run "$T_DIR/docs" --replicas chunk=8 --replicas summarize=8 \
	--replicas embed=8 --replicas store=4 --progress none >"$T_DIR/report2" 2>"$T_DIR/err2")
is "$?" 2 "28 replicas at a hard limit of 64 open files: exit 2 (usage), at once"
like "$(cat "$T_DIR/err2")" "28 local replicas need about [0-9]+ open files in the hub, and this process may open 64 \(ulimit -Hn\)" \
	"... saying what the hub needs and the limit"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 40 "... nothing started"
(ulimit -n 64; exec docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report3" 2>"$T_DIR/err3")
is "$?" 0 "the default replicas at a hard limit of 64: exit 0"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 41 "... the new document stored"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" "$T_DIR/err2" "$T_DIR/err3" | tail -20
done_testing
