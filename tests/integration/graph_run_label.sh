#!/bin/bash
# A run label given again (`docpipe run --run LABEL`, as a retry does): the
# new hub numbers its records from 0 again, and the store must not take its
# records for older versions of the first hub's (a path's records are
# ordered only within one hub's stream).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"
for f in a b c; do printf '# %s\n\nFirst text of %s.\n' "$f" "$f" >"$D/$f.md"; done
docpipe run "$D" --run nightly-42 --progress none >"$T_DIR/r1" 2>"$T_DIR/e1"
is "$?/$(jq -r .added "$T_DIR/r1")" 0/3 "first run: 3 added"
# c.md had the highest seq of the three; alone now, it gets seq 0.
rm "$D/a.md" "$D/b.md"
printf '# c\n\nSecond text of c.\n' >"$D/c.md"
docpipe run "$D" --run nightly-42 --progress none >"$T_DIR/r2" 2>"$T_DIR/e2"
# (a and b are not swept: the first run's documents carry the same label.)
is "$?/$(jq -r '[.updated, .skipped] | @tsv' "$T_DIR/r2")" "0/1	0" \
	"the same label again: c updated, nothing skipped"
like "$(sql "SELECT string_agg(c.content, ' ') FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '$D/c.md'")" \
	"Second text of c" "the new text is stored"
like "$(sql "SELECT last_stream FROM docpipe.documents WHERE path = '$D/c.md'")" '^nightly-42/[0-9]+-[0-9]+$' \
	"the stream is the run and the hub process"
done_testing
