#!/bin/bash
# lane: beside (tests/run: it waits more than it computes: jvrace's pauses)
# --jq in a stage of several threads: every thread's records go through the
# one compiled program, and its outputs share values with it (`.tag = "x"`
# puts the program's own string "x" into every output) and with the input,
# which the program's state holds until its next run.  jq's reference
# counts are not atomic (docs/HACKING.md rule 3): the threads must use and
# free the outputs under the program's lock (dp_jq_each), not after it
# (session 54: the sink serialized and freed them outside the lock).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
chunked_doc /d/doc%d.md 3 200 >docs.ndjson

# tests/lib/jvrace.c widens each change of the count of a string beginning
# with JVRACE_PREFIX to 300 us and says when two threads meet on one:
# before session 54, 1,500-1,600 meetings on the program's constant a run.
if ! ${CC:-cc} -shared -fPIC -O1 -o jvrace.so "$TOP/tests/lib/jvrace.c" -ldl 2>jvrace.err; then
	diag "$(cat jvrace.err)"
	skip "no C compiler for tests/lib/jvrace.c"
	done_testing
	exit
fi
# jq_race STAGE PROGRAM OUT ARGS...: the stage under jvrace, watching the
# strings that begin with "JQC-" (JVRACE_US: the pause, 300 us unless
# set); prints "status:meetings:watched>0".
jq_race() {
	local stage=$1 program=$2 out=$3
	shift 3
	LD_PRELOAD="$T_DIR/jvrace.so${LD_PRELOAD:+ $LD_PRELOAD}" JVRACE_PREFIX=JQC- \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$stage" --jq "$program" "$@" <docs.ndjson >"$out" 2>"$out.e"
	local rc=$? watched
	watched=$(sed -n 's/^jvrace watched //p' "$out.e")
	echo "$rc:$(grep -c '^jvrace:' "$out.e"):$((${watched:-0} > 0))"
}

is "$(jq_race docpipe-summarize '.tag = "JQC-constant"' tag.ndjson --backend local -j 8)" 0:0:1 \
	"a constant of the program in every output, 8 threads: no two change its count at once"
is "$(jq -r .tag tag.ndjson | sort | uniq -c | awk '{print $1, $2}')" "200 JQC-constant" \
	"every document has the program's value"

# More outputs than the 1,024 kept of an input: the program's state is left
# holding the input (the rest of its forks) until the next run, another
# thread's, which frees it; the outputs share the input's path (made to
# begin with "JQC-").  Before session 54: 8-17 meetings a run, and now and
# then a use after free (the path freed while an output still held it).
chunked_doc JQC-/d/doc%d.md 3 8 >docs.ndjson
is "$(JVRACE_US=30 jq_race docpipe-summarize 'range(1100) as $i | {kind, path}' many.ndjson --backend local -j 8)" 1:0:1 \
	"outputs sharing the input, the program's state left holding it: no two threads change a value's count at once"
is "$(jq -s -c '[group_by(.kind)[] | [.[0].kind, length]]' many.ndjson)" '[["document",8192],["error",8]]' \
	"each input's first 1,024 outputs are written, then its error record"
# An error record made by the program is a failed record: exit 1, as for
# the stage's other error records (session 54 left it 0).
docpipe-summarize --backend local --jq 'if .path == "JQC-/d/doc3.md" then error("no") else . end' \
	<docs.ndjson >err.ndjson 2>/dev/null
is "$?:$(jq -r 'select(.kind == "error") | .error' err.ndjson)" "1:--jq: no" \
	"a runtime error in the program: its record's error record, exit status 1"
done_testing
