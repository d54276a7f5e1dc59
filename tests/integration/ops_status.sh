#!/bin/bash
# docpipe status: outcomes live in the database.  A run with failures, then
# the fix: the failure is listed (path, stage, reason, since), the run is
# listed with its figures, and the next run's success clears the failure.
# A failing file that is removed loses its failure at the sweep.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
set -o pipefail

is "$(docpipe status --json | jq -c '[.schema, .failures_total, (.runs | length)]')" '[false,0,0]' \
	"a database with nothing stored: schema false, no failures, no runs"
like "$(docpipe status)" "nothing stored yet" "text says so"
echo '{"v":1,"kind":"report"}' >"$T_DIR/norun"
docpipe-status --record-run "$T_DIR/norun" 2>/dev/null
is "$?" 3 "--record-run: a report without a run id is refused"

D=$T_DIR/docs
numbered_docs "$D" 3 5 good
printf '# Bad\n\nbroken \xff\xfe here\n' >"$D/bad.md"
printf '# Gone\n\nbroken \xff too\n' >"$D/gone.md"

docpipe run "$D" --progress none >"$T_DIR/r1" 2>"$T_DIR/e1"
is "$?" 1 "a run with failures exits 1"
RUN1=$(jq -r .run "$T_DIR/r1")
docpipe status --json >"$T_DIR/s1"
is "$?" 0 "status --json exits 0"
is "$(jq -r '.roots | map("\(.root)=\(.documents)") | join(" ")' "$T_DIR/s1")" "$D=3" \
	"documents by root: 3 stored"
is "$(jq -r '.roots[0].chunks' "$T_DIR/s1")" "$(sql 'SELECT count(*) FROM docpipe.chunks')" \
	"chunks by root equal the chunks stored"
is "$(jq -r '.failures_total' "$T_DIR/s1")" 2 "two failures"
is "$(jq -r '.failures | map(.path | sub(".*/"; "")) | sort | join(" ")' "$T_DIR/s1")" "bad.md gone.md" \
	"failures name the paths"
is "$(jq -r '.failures[] | select(.path | endswith("bad.md")) | [.stage, .run] | @tsv' "$T_DIR/s1")" \
	"$(printf 'chunk\t%s' "$RUN1")" "a failure names its stage and run"
like "$(jq -r '.failures[0].error' "$T_DIR/s1")" "UTF-8" "a failure gives the reason"
like "$(jq -r '.failures[0].since' "$T_DIR/s1")" '^20[0-9-]+T[0-9:]+Z$' "a failure says since when"
is "$(jq -r '.runs[0] | [.id, .added, .updated, .unchanged, .deleted, .failed, .complete] | @tsv' "$T_DIR/s1")" \
	"$(printf '%s\t3\t0\t0\t0\t2\ttrue' "$RUN1")" "the run is recorded with its figures"
is "$(jq -r '.runs[0] | (.requests != null and .tokens != null and .ended_at != null)' "$T_DIR/s1")" true \
	"the run has requests, tokens and its end"
is "$(jq -r '.settings.embedder' "$T_DIR/s1")" "local/fh-v1" "settings: the embedder"
like "$(jq -r '.indexes | map(.name) | join(" ")' "$T_DIR/s1")" "documents_pkey" "indexes listed"

docpipe status >"$T_DIR/t1"
is "$?" 0 "status (text) exits 0"
like "$(cat "$T_DIR/t1")" "Failures: 2" "text: the failure count"
like "$(grep -A1 'bad.md' "$T_DIR/t1" | tail -1)" "chunk: .*UTF-8.*since 20" "text: stage, reason, since"
like "$(cat "$T_DIR/t1")" "added 3, updated 0, unchanged 0, deleted 0, failed 2" "text: the run's figures"

# The fix: bad.md repaired, gone.md removed.
SINCE=$(jq -r '.failures[] | select(.path | endswith("bad.md")) | .since' "$T_DIR/s1")
printf '# Bad\n\nnow fine\n' >"$D/bad.md"
rm "$D/gone.md"
docpipe run "$D" --progress none >"$T_DIR/r2" 2>"$T_DIR/e2"
is "$?" 0 "after the fix the run exits 0"
docpipe status --json >"$T_DIR/s2"
is "$(jq -r '.failures_total' "$T_DIR/s2")" 0 "no failures left (fixed one succeeded, removed one swept)"
is "$(sql "SELECT count(*) FROM docpipe.failures WHERE path = '$D/bad.md'")/$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/bad.md'")" "0/1" \
	"the fixed document: stored, its failure gone"
is "$(jq -r '.runs | length' "$T_DIR/s2")" 2 "two runs listed"
is "$(jq -r '.runs[0] | [.added, .unchanged, .failed] | @tsv' "$T_DIR/s2")" "$(printf '1\t3\t0')" \
	"the newest run first, with its figures"

# A document without a receipt fails at the hub: the report's failure
# becomes its outcome.
docpipe run "$D" --opt 'chunk=--jq=select(.path | endswith("/good1.md") | not)' \
	--opt hub=--timeout=1 --opt hub=--attempts=1 --progress none >"$T_DIR/r3" 2>"$T_DIR/e3"
is "$?" 1 "a run with a document dropped: exit 1"
is "$(docpipe status --json | jq -r '.failures[] | select(.path | endswith("good1.md")) | [.stage, .run] | @tsv')" \
	"$(printf 'hub\t%s' "$(jq -r .run "$T_DIR/r3")")" "the hub's failure (no receipt) is listed with its run"
docpipe run "$D" --progress none >/dev/null 2>&1
is "$(docpipe status --json | jq -r '.failures_total')" 0 "and cleared by the next run"

# A run of more than 0.2 s starts its recorder while it goes on
# (docpipe-status --record-run -, connected, waiting for the report); its
# connection ended meanwhile (a database restart) is made again.  The
# embed burn (~0.4 s a document) keeps the run going until the test has
# seen the recorder (at ~0.12 s a document, 1 make check in 3 on a machine
# slow to start processes saw the run end first, session 23).
BURN='--jq=(reduce range(1000000) as $i (0; . + 1)) as $burn | .'
docpipe run "$D" --progress none --opt "embed=$BURN" >"$T_DIR/r4" 2>"$T_DIR/e4" &
SUP=$!
recorders() { sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-status'"; }
# The recorder has made the claim (its live_runs row): cut or killed before
# that, the run is not claimed and does not start (exit 3, 1 check in ~10
# under load before this wait).
claimed() { [ "$(recorders)" = 1 ] && sql_ge "SELECT count(*) FROM docpipe.live_runs" 1; }
wait_for 60 claimed
is "$(recorders)" 1 "the recorder is connected while the run goes on"
sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-status'" >/dev/null
wait $SUP
is "$?/$(grep -c 'could not record' "$T_DIR/e4")" "0/0" "the run exits 0 and its report is recorded"
# Looked up by its id, not as the latest: the run before it started within
# the same second, and a started_at taken from the report's seconds can
# order the two either way (failed once so in a full check under ASan).
is "$(docpipe status --json | jq -r --arg id "$(jq -r .run "$T_DIR/r4")" '[.runs[] | select(.id == $id)] | length')" 1 \
	"the recorder's connection ended before the report came: made again, the run recorded"
is "$(recorders)" 0 "no recorder is left"

# An early recorder that died (here: killed) is replaced at the end: the
# report is recorded from its file.
docpipe run "$D" --progress none --opt "embed=$BURN" >"$T_DIR/r5" 2>"$T_DIR/e5" &
SUP=$!
wait_for 60 claimed
pkill -KILL -P $SUP -f 'docpipe-status --record-run -'
wait $SUP
is "$?/$(grep -c 'could not record' "$T_DIR/e5")" "0/0" "the early recorder killed: the run exits 0, nothing said"
is "$(sql "SELECT count(*) FROM docpipe.runs WHERE id = '$(jq -r .run "$T_DIR/r5")' AND ended_at IS NOT NULL")" 1 \
	"and its report is recorded from the file at the end"

# Failing twice keeps the first failure's time; a plain pipeline records
# outcomes too (no run).
printf 'x\xff\n' >"$D/bad.md"
docpipe-discover "$D" | docpipe-chunk 2>/dev/null | docpipe-store -q >/dev/null
sleep 0.01
docpipe-discover "$D" | docpipe-chunk 2>/dev/null | docpipe-store -q >/dev/null
is "$(sql "SELECT (failed_since < updated_at)::text || ' ' || coalesce(run, 'none') FROM docpipe.failures WHERE path = '$D/bad.md'")" \
	"true none" "a repeated failure keeps its first time; no run id: run is null"
like "$(docpipe status --failures 0)" "Failures: 1 \(oldest shown\)" "--failures 0: the total, none listed"
[ "$SINCE" != "" ]; ok $? "since was read"

# Options of the recorder's claim given without --claim were ignored
# without a word (--db-retry waited for nothing): a usage error naming it.
for opt in "--overlap wait" "--tty-fd 2"; do
	docpipe-status $opt >/dev/null 2>"$T_DIR/claim_only.err"
	is "$?/$(cat "$T_DIR/claim_only.err")" "2/docpipe-status: ${opt% *} applies to --claim only (docpipe run's recorder)" \
		"$opt without --claim: a usage error naming it (exit 2)"
done
docpipe-status --db-retry 5 >/dev/null 2>"$T_DIR/claim_only.err"
is "$?/$(cat "$T_DIR/claim_only.err")" "2/docpipe-status: --db-retry applies to --record-run only" \
	"--db-retry without --record-run: a usage error"

# A database away when a report is recorded (restarted at the run's end,
# still in recovery): one reconnection was tried, and the report was lost
# (fault sweep 17).  Now it is waited for up to --db-retry, said.
jq -c '.run = "away-at-the-end"' "$T_DIR/r5" >"$T_DIR/away.json"
at_exit 'db_allow true'
db_allow false
(sleep 2; db_allow true) &
docpipe-status --record-run "$T_DIR/away.json" --db-retry 60 2>"$T_DIR/away.err"
is "$?" 0 "a database away for 2 s when the report is recorded: exit 0"
like "$(cat "$T_DIR/away.err")" "waiting up to 60 s for the database \(--db-retry\)" "... saying it waits"
is "$(sql "SELECT count(*) FROM docpipe.runs WHERE id = 'away-at-the-end'")" 1 "... and the report is recorded"
db_allow false
docpipe-status --record-run "$T_DIR/away.json" --db-retry 1 2>"$T_DIR/away.err"
is "$?" 3 "away beyond --db-retry: exit 3"
like "$(cat "$T_DIR/away.err")" "gave up after [0-9]+ s; --db-retry 1" "... saying why"
# Stopped while it waits: no "gave up after 0 s; --db-retry 300" (said by a
# store replica stopped so, fault sweep 17).
# A file of its own: the one above already says "waiting up to", and the
# wait below, reading it before the shell's redirection had emptied it,
# sent the TERM before the recorder had said a word (a clean clone of
# session 52: "got: " empty).
docpipe-status --record-run "$T_DIR/away.json" 2>"$T_DIR/stopped.err" &
pid=$!
wait_for 30 grep -q 'waiting up to' "$T_DIR/stopped.err"
kill -TERM $pid
# Bounded: once this wait outlasted the test's time (asan, load ~5), with
# nothing to tell where the recorder was.
wait_for 60 exited $pid
ok $? "stopped while waiting: it exits" || { ps -o pid,stat,wchan:24,args -p $pid | sed 's/^/# /'; kill -KILL $pid; }
wait $pid
like "$(cat "$T_DIR/stopped.err")" "\(stopped while waiting for the database, after [0-9.]+ s\)$" \
	"stopped while waiting: said so, not a patience spent"
db_allow true

done_testing
