#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The progress names the document that holds a run up (README, "The graph";
# docpipe-hub(1), --progress): once the oldest document in flight has been out
# notably longer than this run's documents take (the hub's send-to-receipt
# estimate; at least 5 s), a line "oldest: PATH, N s (sent K times), at
# STAGE" follows the counts, its path cut from the left; nothing while none
# is.  A run stopped while it waits names it in its last lines and in the
# report ("oldest"), and re-sends nothing as its replicas exit.  Before, the
# counts stood still and nothing said which file they waited for.  Both
# variants (the report's and the line's glue in loop.c runs nowhere else
# under ASan), in the lane beside: its 35 s are two hung requests.
. "$(dirname "$0")/../lib/tap.sh"
unset OPENAI_API_KEY
fakeapi
# 12 quick documents and one whose summary request hangs (the test server
# never answers a chat request with "slowmarker"; summarize gives up after
# --timeout 16 and asks again).  Its directory sorts after page4.md: the
# documents before it are the "normal" the hub measures.  16 s, not less:
# under ASan on a busy machine the first documents of a fresh database take seconds
# (replicas starting, the schema), and the hub's "notably longer" is up to
# SRTT + 4 RTTVAR of those -- a hold of 8 s was once never named.  And
# --window 2: a document in flight while the store waits on the database
# (200 ms or more: a busy server, as when other tests share it) is no
# sample of the run's pace, and with no sample the hub names none before
# 30 s; so the documents leave two at a time, and most are sampled.  The
# window of 2 also shows the held-up document holds back no other: the 11
# after it pass it (before, the hub's slots were seq mod --window, and it
# reads its input in order: one slow document stopped every document
# --window places after it).
slowdir=page5-a-directory-whose-name-is-long-enough-to-be-cut
numbered_docs "$T_DIR/docs" 12 40 page
mkdir -p "$T_DIR/docs/$slowdir"
printf '# Slow\n\nslowmarker %s\n' "$(seq -s ' ' 1 50)" >"$T_DIR/docs/$slowdir/slow.md"
hang() {
	api_control '{"faults":[{"endpoint":"chat","kind":"hang","seconds":30,"input":"slowmarker"}]}'
}
run() { # run NAME: docpipe run in the background, plain progress every second
	rm -f "$T_DIR/report" "$T_DIR/err"
	env "$(tag_env "$1")" docpipe run "$T_DIR/docs" --progress plain --opt hub=--progress-every=1 --opt hub=--window=2 \
		--opt summarize=--backend=openai --threads summarize=4 --opt summarize=--timeout=16 \
		>"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
named() { grep -q "^docpipe-hub: oldest: " "$T_DIR/err" 2>/dev/null; }

newdb || exit 1
hang
run done
wait_for 60 named
ok $? "the progress names a document while one is held up"
wait $SUP
is "$?/$(jq -r '[.added, .failed, .resent] | @tsv' "$T_DIR/report")" "0/13	0	0" "the run completes: every document stored, none re-sent"
lines=$(grep '^docpipe-hub: oldest: ' "$T_DIR/err")
is "$(grep -vcE "^docpipe-hub: oldest: \.\.\.[^ /]*-cut/slow\.md, [0-9]+ s \(sent once\), at summarize$" <<<"$lines")" 0 \
	"each such line names the held-up document, cut from the left, sent once, at summarize"
first=$(head -1 <<<"$lines" | sed -E 's/.*, ([0-9]+) s \(.*/\1/')
ok $((first >= 5 ? 0 : 1)) "named only once notably old: first at $first s (at least 5 s)"
name=$(head -1 <<<"$lines" | sed -E 's/^docpipe-hub: oldest: (.*), [0-9]+ s \(.*/\1/')
is "${#name}" 48 "the path is cut to 48 bytes"
like "$(grep -B1 '^docpipe-hub: oldest: ' "$T_DIR/err" | grep '^docpipe-hub: documents' | sort -u)" \
	'^docpipe-hub: documents 12/13 done, 1 in flight' "while every other document is done"
is "$(grep -A1 '^docpipe-hub: documents 13/13 done' "$T_DIR/err" | grep -c oldest)" 0 \
	"none is named once every document has its receipt"
is "$(jq 'has("oldest")' "$T_DIR/report")" false "nor in the report"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" | grep -v procs

# Stopped while it waits: its last lines and the report name it; the
# replicas' exits are no deaths (no "re-sending", nothing re-sent).
newdb || exit 1
hang
run stop
wait_for 60 named
ok $? "the second run names it too"
kill -TERM $SUP
wait $SUP
is "$?" 5 "stopped: exit 5"
tail_lines=$(sed -n '/stopping (signal)/,$p' "$T_DIR/err")
like "$(grep '^docpipe-hub: oldest: ' <<<"$tail_lines" | tail -1)" "slow\.md, [0-9]+ s \(sent once\)" \
	"the last progress lines name it"
is "$(jq -r '.oldest | [(.path | endswith("/slow.md")), .sends, .held_by, .seconds >= 5] | @tsv' "$T_DIR/report")" \
	"$(printf 'true\t1\tsummarize\ttrue')" "the report names it: path, sends, the stage that held it, its age"
is "$(grep -c 're-sending' "$T_DIR/err")/$(jq .resent "$T_DIR/report")" "0/0" \
	"the replicas' exits during the stop re-send nothing, and none is said"
is "$(echo $(tagged stop))" "" "no process of the run is left"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" | grep -v procs
done_testing
