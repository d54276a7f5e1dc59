#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A database restart (`pg_ctl restart -m immediate`) while a run waits
# (--wait) behind a live run over the same root (fault sweep 24, session
# 57).  The restart ends both recorders' sessions, so the live run's
# claim (its session's advisory lock) lapses until its recorder connects
# again (status_live_hold: every second); the waiting run's recorder
# reconnects with its own backoff (0.25 s first) and claimed the root in
# that gap: it ran beside the live run and paid the model API again for
# every document the live run had not finished (4 of 4 runs by hand: 30
# of 40 documents paid twice).  So did any run started while the live
# run's recorder was dead (kill -9, the OOM killer): its session, and the
# claim with it, gone while its run went on.  What a run waits for must still be
# waited for after a restart: the waiting run starts only once the live
# one ended, and pays nothing the live one paid.
. "$(dirname "$0")/../lib/tap.sh"

private_pg
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 40 40 doc
two_apis
API=(--opt summarize=--backend=openai --opt embed=--backend=openai --threads summarize=2)

# The live run: 10 chat requests answered, the rest held.
BASE=$A_BASE api_control '{"hold_after": {"chat": 10}}'
OPENAI_BASE_URL=$A_BASE/v1 docpipe run "$D" --progress none "${API[@]}" >"$T_DIR/a.json" 2>"$T_DIR/a.err" &
A=$!
BASE=$A_BASE wait_for 60 api_requests_ge chat 11
ok $? "a live run over the root, mid-way (its API held)" || diag "$(cat "$T_DIR/a.err")"

OPENAI_BASE_URL=$B_BASE/v1 docpipe run "$D" --progress none --wait "${API[@]}" >"$T_DIR/b.json" 2>"$T_DIR/b.err" &
B=$!
wait_for 30 grep -qs "waiting for it to end" "$T_DIR/b.err"
ok $? "a second run (--wait) waits for it" || diag "$(cat "$T_DIR/b.err")"

private_pg_restart
# The live run's recorder renews its claim within a second or two of the
# server's return; the waiting one must not have claimed meanwhile.
wait_for 30 grep -qs "claim on its roots is renewed" "$T_DIR/a.err"
ok $? "the database restarted: the live run's claim is renewed" || diag "$(cat "$T_DIR/a.err")"
nap 2
state=waiting
exited $B && state="ended (status $(wait $B; echo $?))"
is "$state" waiting "... and the waiting run still waits (it has not claimed the root beside it)" ||
	diag "$(cat "$T_DIR/b.err")"
is "$(BASE=$B_BASE api_requests chat)" 0 "... nor paid anything"

BASE=$A_BASE api_control '{"hold": false}'
wait $A
is "$?" 0 "the live run ends" || diag "$(cat "$T_DIR/a.err")"
wait_for 60 exited $B
wait $B
is "$?" 0 "... then the waiting run runs" || diag "$(cat "$T_DIR/b.err")"
is "$(jq -c '[.complete, .added, .failed]' "$T_DIR/b.json")" '[true,0,0]' \
	"... complete, every document the live run's" || diag "$(cat "$T_DIR/b.json")"
is "$(BASE=$B_BASE api_requests chat)" 0 "... and it paid nothing the live run paid (0 chat requests)"
is "$(sql "SELECT count(*) FROM (SELECT document_id, seq FROM docpipe.chunks GROUP BY 1, 2 HAVING count(*) > 1) x")/$(sql "SELECT count(*) FROM docpipe.documents")" \
	0/40 "40 documents stored, no chunk row twice"

# The live run's recorder killed: its run goes on, its roots still its.
# New texts, so that it pays (its API held) rather than finds them all.
D2=$T_DIR/docs2
numbered_docs "$D2" 10 40 other
paid=$(BASE=$A_BASE api_requests chat)
BASE=$A_BASE api_control '{"hold": true}'
OPENAI_BASE_URL=$A_BASE/v1 docpipe run "$D2" --progress none "${API[@]}" >"$T_DIR/c.json" 2>"$T_DIR/c.err" &
C=$!
BASE=$A_BASE wait_for 60 api_requests_ge chat $((paid + 1))
kill -KILL "$(pgrep -P $C -f docpipe-status)"
OPENAI_BASE_URL=$B_BASE/v1 docpipe run "$D2" --progress none "${API[@]}" >"$T_DIR/d.json" 2>"$T_DIR/d.err" &
E=$!
wait_for 30 exited $E
state=running
exited $E && state="ended (status $(wait $E; echo $?))"
is "$state" "ended (status 2)" "a live run's recorder killed: a new run over the root is still refused (status 2)" ||
	diag "$(cat "$T_DIR/d.err")"
kill $E 2>/dev/null
BASE=$A_BASE api_control '{"hold": false}'
wait $C
is "$?/$(jq -c '[.complete, .failed]' "$T_DIR/c.json")" "0/[true,0]" "... and the live run completes" ||
	diag "$(cat "$T_DIR/c.err")"

done_testing
