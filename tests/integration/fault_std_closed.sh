#!/bin/bash
# A stage started with a standard descriptor closed (`<&-`, `>&-`: a
# daemon's or a script's spawn).  Before, the process's first open took the
# closed number: with stdin closed, the stop pipe became standard input and
# chunk, summarize, embed and store read it for ever (a stall, no word).
# Now each fails as on a closed descriptor: "read: Bad file descriptor",
# exit 3; a closed stdout is still refused, never written into a file or
# pipe opened later.  `docpipe run >&-` said bash's "why: unbound variable"
# and exited 1 after storing everything; now it says the report could not be
# written, exit 3 (as on a full disk: graph_report_full).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 3 20 note
docpipe-discover "$T_DIR/docs" >"$T_DIR/files" || exit 1
docpipe-chunk <"$T_DIR/files" >"$T_DIR/docs.ndjson" || exit 1
# timeout: a stage waiting for ever is the fault (124 then), the bound is no
# timing; the four at once, so that the code before costs one bound.
stages=(chunk summarize embed store)
for stage in "${stages[@]}"; do
	timeout 60 "docpipe-$stage" <&- >"$T_DIR/out-$stage" 2>"$T_DIR/err-$stage" &
	pids+=($!)
done
for k in "${!stages[@]}"; do
	stage=${stages[k]}
	wait "${pids[k]}"
	is "$?" 3 "docpipe-$stage with standard input closed: exit 3 (no wait for ever)"
	like "$(cat "$T_DIR/err-$stage")" "docpipe-$stage: read: Bad file descriptor" "... saying why"
done
timeout 60 docpipe-chunk <"$T_DIR/files" >&- 2>"$T_DIR/err"
is "$?" 3 "docpipe-chunk with standard output closed: exit 3, its records written nowhere else"
like "$(cat "$T_DIR/err")" "docpipe-chunk: write to standard output: Bad file descriptor" "... saying why"
timeout 60 docpipe-embed <"$T_DIR/docs.ndjson" 2>&- >"$T_DIR/out"
is "$?:$(grep -c '"kind":"document"' "$T_DIR/out")" 0:3 \
	"docpipe-embed with standard error closed: every document embedded, exit 0"

timeout 120 docpipe run "$T_DIR/docs" --progress none >&- 2>"$T_DIR/err"
rc=$?
is "$rc" 3 "docpipe run with standard output closed: the report cannot be printed, exit 3"
like "$(cat "$T_DIR/err")" "docpipe: the report could not be written to standard output: Bad file descriptor" \
	"... saying why"
unlike_bash=$(grep -c 'unbound variable' "$T_DIR/err")
is "$unlike_bash" 0 "... with no bash error"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 3 "the documents are stored"
[ "$rc" = 3 ] || sed 's/^/# /' "$T_DIR/err"

# docpipe-status and docpipe-query, text and JSON, writing to a full disk or
# a closed stdout: one wording with errno's (status said "writing the
# output failed", query's text "write to standard output failed", no
# errno: fault sweep 21b); docpipe-plan's report the same (it said "writing
# the output failed").
for prog in docpipe-status "docpipe-query --mode text note" "docpipe-plan $T_DIR/docs"; do
	for json in "" --json; do
		timeout 60 $prog $json >/dev/full 2>"$T_DIR/err"
		is "$?" 3 "${prog%% *} $json to /dev/full: exit 3"
		like "$(cat "$T_DIR/err")" "${prog%% *}: write to standard output: No space left on device" "... saying why"
		timeout 60 $prog $json >&- 2>"$T_DIR/err"
		like "$?: $(cat "$T_DIR/err")" "^3: ${prog%% *}: write to standard output: Bad file descriptor" \
			"${prog%% *} $json, stdout closed: exit 3, saying why"
	done
done
done_testing
