#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A document that gets the chunk replica reading it killed with SIGKILL
# every time (the kernel's OOM killer on a file that inflates past the
# memory there is) fails alone once it was in progress at two SIGKILL
# deaths: "killed by SIGKILL twice while processing this document (out of
# memory?)", and the run goes on (docpipe(1), docpipe-chunk(1) CRASHES).
# Before, SIGKILL blamed nothing: the hub sent the document to every
# restarted replica until the supervisor's restart limit (5 deaths in
# 60 s) stopped the whole run with status 3.  The OOM killer is played by
# a watcher in this test: it kills -9 the chunk replica whenever its crash
# journal (the run's directory under TMPDIR, crash-chunk/doing.PID) names
# the PDF, which keeps poppler busy for seconds, so that the watcher
# cannot miss it.  A single kill -9 still blames nothing
# (fault_crash_doc.sh).
. "$(dirname "$0")/../lib/tap.sh"
release_only "the hub's 3 s of silence and the supervisor's restart delays, twice"

N=20
numbered_docs "$T_DIR/docs" $N 40 doc
want=$(plain_fingerprint "$T_DIR/docs")
ok $? "plain pipeline over the $N Markdown files"
python3 "$TOP/tests/lib/slowpdf.py" "$T_DIR/docs/hog.pdf" 1 'BT (abc def) Tj ET\n'

# oom_killer: kills -9 every chunk replica whose journal names hog.pdf
# once the hub's metrics say that replica holds a record (as the OOM
# killer would, seconds into the document: a replica killed before the hub
# heard from it is no death to the hub, and its document waits for
# --timeout); once per pid (a killed replica is a zombie until reaped:
# kill still succeeds); writes each pid it killed to $T_DIR/kills.
holds() { curl -s "http://127.0.0.1:$MPORT/metrics" | grep -Eq "^docpipe_records_in_flight\{stage=\"chunk\",replica=\"[^\"]*/$1\"\} [1-9]"; }
oom_killer() {
	local f line pid
	local -A seen=()
	while :; do
		for f in "$T_DIR"/tmp/docpipe-run.*/crash-chunk/doing.*; do
			pid=${f##*.}
			[ -e "$f" ] && [ -z "${seen[$pid]+set}" ] || continue
			IFS= read -r line <"$f" 2>/dev/null || continue
			if [[ "$line" == *'/hog.pdf"' ]] && holds "$pid" && kill -9 "$pid" 2>/dev/null; then
				seen[$pid]=1
				echo "$pid" >>"$T_DIR/kills"
			fi
		done
		sleep 0.05
	done
}
kills() { cat "$T_DIR/kills" 2>/dev/null | wc -l | tr -d ' '; }

newdb || exit 1
MPORT=$(free_ports 1) || exit 1
mkdir -p "$T_DIR/tmp"
: >"$T_DIR/kills"
oom_killer &
KILLER=$!
start=$SECONDS
TMPDIR=$T_DIR/tmp timeout 150 docpipe run "$T_DIR/docs" --progress none \
	--metrics "127.0.0.1:$MPORT" >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
kill $KILLER
wait $KILLER 2>/dev/null
is "$rc" 1 "the run ends with status 1 (one document failed), not stopped by the restart limit"
is "$(kills)" 2 "the replica reading the PDF was killed twice; the PDF was not tried a third time"
diag "the run took $((SECONDS - start)) s"
is "$(jq -r '[.complete, .added, .failed] | @tsv' "$T_DIR/report")" "$(printf 'true\t%d\t1' $N)" \
	"the $N others stored, the PDF failed"
like "$(jq -r '.failures[] | .path + ": " + .error' "$T_DIR/report")" \
	"/hog.pdf: .*killed by SIGKILL twice while processing this document \(out of memory\?\); not tried again in this run" \
	"the failure's reason says it was killed twice (out of memory?)"
like "$(cat "$T_DIR/err")" "chunk-1 \(pid [0-9]+\) was killed \(SIGKILL\) processing \".*/hog.pdf\": not blamed" \
	"the first kill blames nothing (the supervisor says so)"
like "$(cat "$T_DIR/err")" "chunk-1 \(pid [0-9]+\) killed by SIGKILL twice while processing \".*/hog.pdf\" \(out of memory\?\): that document fails, not tried again in this run" \
	"the supervisor names the document at the second kill"
is "$(fingerprint "d.path NOT LIKE '%/hog.pdf'")" "$want" \
	"the database holds the plain pipeline's documents: each once, whole, same content"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/hog.pdf'")" 0 "the PDF is not stored"
like "$(sql "SELECT error FROM docpipe.failures WHERE path LIKE '%/hog.pdf'")" "killed by SIGKILL twice" \
	"its failure is recorded for docpipe status"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err" | tail -30
done_testing
