#!/bin/bash
# lane: beside
# REPRO for the lead (fault sweep 10; src/lib/reuse.c + src/summarize,
# src/embed: not h29's to fix).  Copy into tests/integration/ and run
#   tests/run -v release -- rerun_pays_after_kill
# The guarantee: after any fault, a re-run costs 0 API requests for
# unchanged files.  kill -9 of the summarize (or embed) replica mid-run:
# the run completes (the replica restarted, what it held re-sent), every
# document stored.  But the killed replica had passed answers downstream
# (stored by the store) that its result-cache writer had not yet written
# (written behind: 64 answers or 1 s, reuse.h), so the next run over the
# unchanged files pays for them again.  Fault suite: api_kill_every_stage,
# next run 46 API requests (2106 documents).
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
numbered_docs "$T_DIR/docs" 300 40 doc
newdb || exit 1
fakeapi --latency chat=20,embed=20
kill_run() { # kill_run PROCESS: a run, PROCESS killed -9 once 60 are stored
	docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai \
		--opt embed=--backend=openai --threads summarize=4 >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
	wait_for 60 sql_ge "SELECT count(*) FROM docpipe.documents" 60
	kill -9 "$(pgrep -P $SUP -x "$1" | head -1)"
	wait_for 120 exited $SUP
	wait $SUP
}
for stage in docpipe-summari docpipe-embed; do
	sql "DROP SCHEMA docpipe CASCADE" >/dev/null 2>&1
	api_reset
	kill_run $stage
	is "$?:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "0:$(printf '300\t0')" \
		"$stage killed -9: the run completes, every document stored"
	before=$(api_stats '.requests.chat + .requests.embed')
	docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai \
		--opt embed=--backend=openai --threads summarize=4 >"$T_DIR/report2" 2>"$T_DIR/err2"
	is "$(jq -r .unchanged "$T_DIR/report2")" 300 "the re-run finds all 300 unchanged"
	is "$(($(api_stats '.requests.chat + .requests.embed') - before))" 0 \
		"... and costs 0 API requests (after $stage was killed)"
done
done_testing
