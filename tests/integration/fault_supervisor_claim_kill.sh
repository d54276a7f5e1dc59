#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# kill -9 of `docpipe run`'s supervisor while its run waits for its claim
# on its roots (--wait behind a live run; the database away at the
# start): nothing of that run may outlive it (README, "Two runs over one
# folder at once").  Before (h22's finding, session 30): the hub's child,
# started before the claim, stayed blocked for good opening its input
# FIFO (its writer, the feed, starts only once the claim is made), with no
# parent-death signal yet.  Also a --watch run killed with -9 while it
# watches leaves nothing.  Processes are found by the run's environment
# tag (tagged), never by name.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 4 30 doc
numbered_docs "$T_DIR/other" 2 30 other
fakeapi
export OPENAI_BASE_URL=$BASE/v1
API=(--opt summarize=--backend=openai)

# killed_leaves_nothing NAME: kills run NAME's supervisor (pid SUP) with
# -9, then checks that none of its processes is left.
none_left() { [ -z "$(tagged "$1")" ]; }
killed_leaves_nothing() {
	local before
	before=$(echo $(tagged "$1"))
	kill -KILL "$SUP"
	wait "$SUP" 2>/dev/null
	wait_for 20 none_left "$1"
	ok $? "$2: no process of the run is left (were: $before)" ||
		for p in $(tagged "$1"); do diag "left: $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
}

# A live run, held by its model API.
api_control '{"hold": true}'
docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/first.json" 2>"$T_DIR/first.err" &
first=$!
wait_for 60 api_requests_ge chat 1
ok $? "a first run is under way"

for progress in none tty; do
	env "$(tag_env "wait_$progress")" docpipe run "$D" --wait --progress $progress "${API[@]}" \
		>/dev/null 2>"$T_DIR/wait_$progress.err" &
	SUP=$!
	wait_for 30 grep -qs "waiting for it to end" "$T_DIR/wait_$progress.err"
	ok $? "--wait --progress $progress: a second run waits for the first's claim" ||
		diag "$(cat "$T_DIR/wait_$progress.err")"
	killed_leaves_nothing "wait_$progress" "... its supervisor killed with -9 while it waits"
done
# tty mode, the run under way: the supervisor killed with -9 alone, its
# recorder says so on the terminal (its stderr is the run's messages
# file, which nobody shows once the supervisor is gone).
env "$(tag_env tty)" docpipe run "$T_DIR/other" --progress tty "${API[@]}" >/dev/null 2>"$T_DIR/tty.err" &
SUP=$!
wait_for 60 api_requests_ge chat 2
recorder=$(pgrep -P $SUP -x docpipe-status)
ok $([ -n "$recorder" ]; echo $?) "a --progress tty run under way, its recorder found"
kill -KILL $SUP
wait $SUP 2>/dev/null
wait_for 30 exited "$recorder"
is "$(grep -c "docpipe-status: no report came: the run's supervisor (pid $SUP) is gone" "$T_DIR/tty.err")" 1 \
	"... its supervisor killed with -9: the recorder says so on the terminal, once" || diag "$(cat -v "$T_DIR/tty.err")"
# Its replicas live on while the server holds their requests (a stage
# finishes what it holds: fault_supervisor): waited for once it answers
# (before, the hold first: the wait ran out its 20 s every time).
api_control '{"hold": false}'
wait_for 20 none_left tty
wait $first
is "$?" 0 "the first run ends as if nothing happened" || diag "$(cat "$T_DIR/first.err")"

# The database away at the start: the claim waits for it.
at_exit 'db_allow true'
db_allow false
env "$(tag_env away)" docpipe run "$D" --progress none "${API[@]}" >/dev/null 2>"$T_DIR/away.err" &
SUP=$!
wait_for 30 grep -qs "waiting up to 300 s for the database" "$T_DIR/away.err"
ok $? "the database away at the start: the run waits for it to claim" || diag "$(cat "$T_DIR/away.err")"
killed_leaves_nothing away "... its supervisor killed with -9 while it waits"
db_allow true

# A --watch run watching.
env "$(tag_env watch)" docpipe run "$D" --watch --progress none >/dev/null 2>"$T_DIR/watch.err" &
SUP=$!
wait_for 60 grep -qs "first pass complete" "$T_DIR/watch.err"
ok $? "a --watch run watches" || diag "$(cat "$T_DIR/watch.err")"
killed_leaves_nothing watch "... its supervisor killed with -9"
done_testing
