#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The run's directory ($TMPDIR/docpipe-run.*: sockets, FIFOs, a messages
# file) that a run killed with -9 leaves (its EXIT trap never ran), and a
# worker's ($TMPDIR/docpipe-worker.*: crash journals), are removed by the
# next run, once its lock is free and it is a minute old;
# a directory whose lock a process holds, one without a lock file (an
# older docpipe's, maybe running) and a young one are kept.  An empty one
# without a lock file, a minute old (a stop signal to the run's whole
# process group while mktemp made it: the supervisor never knew its name),
# is removed.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR"
numbered_docs "$T_DIR/docs" 200 100 doc
BURN='--jq=(reduce range(150000) as $i (0; . + 1)) as $burn | .'

docpipe run "$T_DIR/docs" --progress none --opt "embed=$BURN" >/dev/null 2>&1 &
SUP=$!
kids_started() { [ "$(pgrep -P $SUP | wc -l)" -ge 6 ]; }
wait_for 60 kids_started
killed=$(ls -d "$TMPDIR"/docpipe-run.*)
kids=$(pgrep -P $SUP | tr '\n' ' ')
kill -9 $SUP
wait $SUP 2>/dev/null
gone() { local p; for p in $kids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 60 gone
ok "$([ -d "$killed" ]; echo $?)" "kill -9 of the supervisor leaves its directory"

# A worker killed with -9 leaves its directory (a chunk or store worker's
# crash journals) too: the next run removes it as well.  Its port need
# not have a hub: the replicas wait to connect.
PORT=$(free_ports 9) || exit 1
docpipe worker chunk --connect "127.0.0.1:$PORT" >/dev/null 2>"$T_DIR/worker.err" &
WORKER=$!
worker_dir() { ls -d "$TMPDIR"/docpipe-worker.* 2>/dev/null; }
worker_kids() { [ "$(pgrep -P $WORKER | wc -l)" -ge 1 ]; }
wait_for 60 eval '[ -n "$(worker_dir)" ] && worker_kids'
wkilled=$(worker_dir)
kids=$(pgrep -P $WORKER | tr '\n' ' ')
kill -9 $WORKER
wait $WORKER 2>/dev/null
wait_for 60 gone
ok "$([ -d "$wkilled" ]; echo $?)" "kill -9 of a worker leaves its directory"
touch -d '2 minutes ago' "$wkilled"

# Beside it: a lock held by a live process, no lock file, a young one;
# an empty one a minute old (a run stopped while mktemp made it), an empty
# young one.
mkdir "$TMPDIR/docpipe-run.held" "$TMPDIR/docpipe-run.nolock" "$TMPDIR/docpipe-run.young" \
	"$TMPDIR/docpipe-run.empty" "$TMPDIR/docpipe-run.emptyyoung"
: >"$TMPDIR/docpipe-run.young/lock"
: >"$TMPDIR/docpipe-run.nolock/files"
flock "$TMPDIR/docpipe-run.held/lock" sleep 600 &
HOLDER=$!
at_exit "kill $HOLDER 2>/dev/null"
held() { ! flock -n "$TMPDIR/docpipe-run.held/lock" true; }
wait_for 30 held
touch -d '2 minutes ago' "$killed" "$TMPDIR/docpipe-run.held" "$TMPDIR/docpipe-run.nolock" "$TMPDIR/docpipe-run.empty"

docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 0 "the next run completes"
ok "$([ ! -e "$killed" ]; echo $?)" "and removes the directory the killed run left"
ok "$([ ! -e "$wkilled" ]; echo $?)" "and the directory the killed worker left"
is "$(cd "$TMPDIR" && ls -d docpipe-run.* | xargs)" "docpipe-run.emptyyoung docpipe-run.held docpipe-run.nolock docpipe-run.young" \
	"a held lock, no lock file, a young directory, an empty young one: kept; an empty one a minute old and its own removed"
# A TMPDIR that is not there: said, naming it, status 3 (mktemp's own
# words alone before; graph_report_full checks them).
TMPDIR=$T_DIR/missing docpipe run "$T_DIR/docs" --progress none >/dev/null 2>"$T_DIR/err"
is "$?" 3 "a TMPDIR that is not there: status 3"
like "$(cat "$T_DIR/err")" "docpipe: cannot make the run's directory in $T_DIR/missing: set TMPDIR" "... naming it"

done_testing
