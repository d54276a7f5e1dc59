#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe run starts chunk, summarize and embed while its claim on its
# roots is made (issue 8 (b), session 56: loaded and ready when it
# answers, ~35 ms less from the claim to the first request), each held at
# its gate (DOCPIPE_GATE, src/lib/cli.c) before it reads its arguments or
# connects anywhere, until the claim holds.  A run that waits (--wait)
# has them started, at the gate: no socket (no edge, no database, no
# model API), nothing paid; once the live run ends they go on and the run
# completes.  A run refused (another live run) or stopped while it waits
# shows nothing of them (no line, no "Killed") and leaves none running.
# Before, they started only after the claim (the first check fails).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 6 40 doc
two_apis
API=(--opt summarize=--backend=openai --opt embed=--backend=openai --threads summarize=2)

# first_run: a run over D against the first API, whose answers are held
# (live until they are let go), in the background (its pid in FIRST),
# under way once it claimed and paid a request.
first_run() {
	BASE=$A_BASE api_control '{"hold": true}'
	OPENAI_BASE_URL=$A_BASE/v1 docpipe run "$D" --progress none "${API[@]}" \
		>"$T_DIR/first.json" 2>"$T_DIR/first.err" &
	FIRST=$!
	wait_for 60 sql_ge "SELECT count(*) FROM docpipe.live_runs WHERE pid = $FIRST" 1 &&
		BASE=$A_BASE wait_for 60 api_requests_ge chat 1
}
# second NAME [ARGS...]: a run over D against the second API, in the
# background (its pid in SECOND), its run directory under $T_DIR/NAME
# (its processes found by it), once it said it waits.
second() {
	local name=$1
	shift
	mkdir -p "$T_DIR/$name"
	TMPDIR=$T_DIR/$name OPENAI_BASE_URL=$B_BASE/v1 docpipe run "$D" --progress none "${API[@]}" "$@" \
		>"$T_DIR/$name.json" 2>"$T_DIR/$name.err" &
	SECOND=$!
}
# gated_pids: the second run's chunk, summarize and embed (its children).
gated_pids() { pgrep -P "$SECOND" -f '/docpipe-(chunk|summarize|embed) '; }
gated_three() { [ "$(gated_pids | wc -l)" = 3 ]; }
# sockets PID...: the sockets those processes hold.
sockets() {
	local p
	for p in "$@"; do find "/proc/$p/fd" -lname 'socket:*' 2>/dev/null; done | wc -l
}
# left NAME: the processes still running whose arguments name the run
# directory under $T_DIR/NAME.
left() { pgrep -f -- "$T_DIR/$1/docpipe-run" | wc -l; }

first_run
ok $? "a first run over the root is under way (paying)" || diag "$(cat "$T_DIR/first.err")"

second waited --wait
wait_for 30 grep -qs "waiting for it to end" "$T_DIR/waited.err"
ok $? "--wait: the second run waits for the live one" || diag "$(cat "$T_DIR/waited.err")"
wait_for 30 gated_three
ok $? "... with its chunk, summarize and embed started" || diag "children: $(ps -o pid=,args= --ppid "$SECOND")"
pids=($(gated_pids)) waiter=$SECOND
nap 0.5
is "$(sockets "${pids[@]}")" 0 "... each at its gate: no socket (no edge, database or model API connection)" ||
	diag "$(for p in "${pids[@]}"; do ls -l "/proc/$p/fd"; done)"
is "$(BASE=$B_BASE api_requests chat)/$(BASE=$B_BASE api_requests embed)" 0/0 "... nothing paid"

# A run refused (no --wait): its one message, none of its replicas'.
second refused
wait_for 60 exited $SECOND
wait $SECOND
is "$?" 2 "a run over the live root without --wait is refused (status 2)"
is "$(grep -c . "$T_DIR/refused.err")" 1 "... with its one message, none of its replicas' (no line, no \"Killed\")" ||
	diag "$(cat "$T_DIR/refused.err")"
wait_for 10 eval '[ "$(left refused)" = 0 ]'
ok $? "... and none of its processes left" || diag "$(pgrep -af -- "$T_DIR/refused/docpipe-run")"

# A waiting run stopped (SIGTERM): status 5, no line of its replicas,
# none left running.
second stopped --wait
wait_for 30 grep -qs "waiting for it to end" "$T_DIR/stopped.err"
wait_for 30 gated_three
ok $? "a second waiting run, its replicas at their gate"
kill -TERM $SECOND
wait_for 60 exited $SECOND
wait $SECOND
is "$?" 5 "... stopped by SIGTERM while it waits: status 5"
is "$(grep -c 'docpipe-\(chunk\|summarize\|embed\)\|Killed\|Terminated' "$T_DIR/stopped.err")" 0 \
	"... no line of its replicas" || diag "$(cat "$T_DIR/stopped.err")"
wait_for 10 eval '[ "$(left stopped)" = 0 ]'
ok $? "... and none of its processes left" || diag "$(pgrep -af -- "$T_DIR/stopped/docpipe-run")"

# The live run ends: the first waiter's replicas pass their gate.
BASE=$A_BASE api_control '{"hold": false}'
wait $FIRST
is "$?" 0 "the live run ends" || diag "$(cat "$T_DIR/first.err")"
wait_for 120 exited $waiter
wait $waiter
is "$?" 0 "... and the waiting run runs through its gate" || diag "$(cat "$T_DIR/waited.err" "$T_DIR/waited.json"; ls -la $T_DIR/waited)"
is "$(jq -c '[.complete, .failed]' "$T_DIR/waited.json")" '[true,0]' \
	"... complete, nothing failed" || diag "$(cat "$T_DIR/waited.json")"

done_testing
