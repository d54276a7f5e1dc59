#!/bin/bash
# A document whose parsing never ends: a 6 KB PDF whose one page inflates to
# megabytes of text operators keeps poppler busy for minutes (10 MiB: hours).
# The chunk replica kept reporting, so nothing ended it, and every document
# queued behind it failed "no receipt" (sweep 4).  Now, past --doc-timeout
# (300 s; 3 here), the replica lists the document as failed in the run's
# crash journal and ends itself; restarted, it fails that document by name
# and goes on with the rest.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 5 20 doc
python3 "$TOP/tests/lib/slowpdf.py" "$T_DIR/docs/slow.pdf" 2 'BT (abc def) Tj ET\n'
start=$SECONDS
timeout 120 docpipe run "$T_DIR/docs" --progress none --opt chunk=--doc-timeout=3 >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc" 1 "the run ends (exit 1: one document failed)"
ok "$([ $((SECONDS - start)) -lt 60 ]; echo $?)" "... within a minute ($((SECONDS - start)) s)"
is "$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report")" "$(printf '5\t1')" "the 5 others stored, the PDF failed"
like "$(jq -r '.failures[0] | .path + ": " + .error' "$T_DIR/report")" \
	"slow.pdf: .*processing this document lasted over 3 s .*not tried again in this run" "named, with why"
like "$(cat "$T_DIR/err")" "slow.pdf.*: processing it has lasted over 3 s" "the replica said so as it ended itself"
done_testing
