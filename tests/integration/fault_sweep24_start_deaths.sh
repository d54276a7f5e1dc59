#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# Deaths during `docpipe run`'s start that lose nothing but must say what
# happened (fault sweep 24, session 57):
# - the hub killed (kill -9, the OOM killer) before it bound its
#   endpoints: the run exited with the hub's raw status, 137, as if the
#   supervisor itself had been killed, and said nothing but bash's
#   "line N: PID Killed DOCPIPE_SUPERVISOR=$$ "$@"" (2 of 6 runs whose hub
#   was killed as it appeared; later, "the hub died (signal 9)", status 3;
#   bash's line stays: bash says it of any child killed so);
# - the run's directory removed (a cleaner of /tmp) while a --wait run
#   waits, its replicas at their gate: the run ended status 3 with bash's
#   "line 1067: .../gate: No such file or directory" as its only word.
# Each is a run that never started: nothing stored, nothing left running,
# a message that names the cause, and the next run stores every file.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 6 40 doc
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR"
stored() { sql "SELECT count(*) FROM docpipe.documents"; }
# left DIR: the processes whose arguments name DIR (a run directory's parent).
left() { pgrep -f -- "$1/docpipe-run" | wc -l; }

# A hub that dies of SIGKILL before it binds: a bin directory of links
# to the real programs but docpipe-hub, a shell that kills itself so.
KB=$T_DIR/killed-hub-bin
mkdir -p "$KB"
for f in "$DOCPIPE_BIN"/docpipe*; do ln -s "$(readlink -f "$f")" "$KB/${f##*/}"; done
rm "$KB/docpipe-hub"
printf '#!/bin/sh\nkill -KILL $$\n' >"$KB/docpipe-hub"
chmod +x "$KB/docpipe-hub"
DOCPIPE_BIN=$KB docpipe run "$D" --progress none >"$T_DIR/hub.json" 2>"$T_DIR/hub.err"
is "$?" 3 "the hub killed before it bound: status 3 (not its 137, a supervisor's own death)" ||
	diag "$(cat "$T_DIR/hub.err")"
like "$(cat "$T_DIR/hub.err")" "hub .*died of signal 9" "... saying that the hub died, and of what" ||
	diag "$(cat "$T_DIR/hub.err")"
wait_for 10 eval '[ "$(left "$TMPDIR")" = 0 ]'
ok $? "... nothing of it left running" || diag "$(pgrep -af -- "$TMPDIR/docpipe-run")"
is "$(ls -A "$TMPDIR")/$(stored 2>/dev/null || echo 0)" "/0" "... no run directory left, nothing stored"

# The run's directory removed while a --wait run waits behind a live one.
fakeapi
BASE=$BASE api_control '{"hold": true}'
API=(--opt summarize=--backend=openai --opt embed=--backend=openai)
docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/live.json" 2>"$T_DIR/live.err" &
live=$!
wait_for 60 api_requests_ge chat 1
ok $? "a live run over the root, its API held" || diag "$(cat "$T_DIR/live.err")"
mkdir -p "$T_DIR/tmp2"
TMPDIR=$T_DIR/tmp2 docpipe run "$D" --progress none --wait "${API[@]}" >"$T_DIR/waited.json" 2>"$T_DIR/waited.err" &
waiter=$!
wait_for 30 grep -qs "waiting for it to end" "$T_DIR/waited.err"
gated_three() { [ "$(pgrep -P "$waiter" -f '/docpipe-(chunk|summarize|embed) ' | wc -l)" = 3 ]; }
wait_for 30 gated_three
ok $? "a --wait run waits, its replicas at their gate" || diag "$(cat "$T_DIR/waited.err")"
rm -rf "$T_DIR/tmp2/"docpipe-run.*
api_control '{"hold": false}'
wait $live
is "$?" 0 "the live run ends"
wait_for 60 exited $waiter
wait $waiter
is "$?" 3 "the waiting run whose directory was removed: status 3" || diag "$(cat "$T_DIR/waited.err")"
like "$(cat "$T_DIR/waited.err")" "run's directory .* was removed" "... saying that its directory was removed" ||
	diag "$(cat "$T_DIR/waited.err")"
is "$(grep -c 'line [0-9]*:' "$T_DIR/waited.err")" 0 "... no line of bash's own" || diag "$(cat "$T_DIR/waited.err")"
wait_for 10 eval '[ "$(left "$T_DIR/tmp2")" = 0 ]'
ok $? "... nothing of it left running" || diag "$(pgrep -af -- "$T_DIR/tmp2/docpipe-run")"
is "$(jq -c '[.complete, .added]' "$T_DIR/live.json")/$(stored)" "[true,6]/6" "every file stored once, by the live run"
docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/next.json" 2>"$T_DIR/next.err"
is "$?/$(jq -c '[.complete, .unchanged]' "$T_DIR/next.json")" "0/[true,6]" "the next run: complete, every file there" ||
	diag "$(cat "$T_DIR/next.err")"

done_testing
