#!/bin/bash
# What a run's sweep must not delete (fault sweep 19): the documents of
# files a narrower run did not take (`--glob`, `--exclude`: before, `docpipe
# run notes --glob '*.txt'` deleted every stored Markdown document of notes,
# exit 0), and a root found empty (a share or disk not mounted leaves its
# mount point so: before, every document stored from it was swept).  A file
# really gone is still swept.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/notes
mkdir -p "$D/sub"
printf '# A\n\nAlpha text.\n' >"$D/a.md"
printf 'Beta text.\n' >"$D/b.txt"
printf '# C\n\nGamma text.\n' >"$D/sub/c.md"
docpipe run "$D" --progress none >"$T_DIR/r1" 2>"$T_DIR/e1"
is "$?/$(jq -r .added "$T_DIR/r1")" 0/3 "a first run stores the 3 files"

docpipe run "$D" --glob '*.txt' --progress none >"$T_DIR/r2" 2>"$T_DIR/e2"
is "$?/$(jq -r '[.unchanged, .deleted, .sweep] | @tsv' "$T_DIR/r2")" "$(printf '0/1\t0\tdone')" \
	"a run with --glob '*.txt': its file unchanged, nothing deleted"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 3 "the Markdown documents are kept"
like "$(cat "$T_DIR/e2")" "sweep: kept 2 document\(s\) whose files are still there, though this run did not take them" \
	"and the run says so"
docpipe run "$D" --exclude sub --progress none >"$T_DIR/r3" 2>"$T_DIR/e3"
is "$?/$(jq -r .deleted "$T_DIR/r3")/$(sql 'SELECT count(*) FROM docpipe.documents')" 0/0/3 \
	"--exclude sub: sub/c.md kept"
# docpipe plan predicts the same (it counted them gone, which the run keeps),
# and --delete-excluded deletes what the filters leave out, as asked.
like "$(docpipe plan "$D" --exclude sub 2>&1 | head -1)" "; 0 gone " "plan --exclude sub: none gone"
like "$(docpipe plan "$D" --exclude sub --delete-excluded 2>&1 | head -1)" "; 1 gone " \
	"plan --exclude sub --delete-excluded: sub/c.md gone"
docpipe run "$D" --exclude sub --delete-excluded --progress none >"$T_DIR/r3x" 2>"$T_DIR/e3x"
is "$?/$(jq -r .deleted "$T_DIR/r3x")/$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/sub/%'")" 0/1/0 \
	"run --exclude sub --delete-excluded: sub/c.md deleted"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 2 "... the others kept"

rm "$D/a.md"
docpipe run "$D" --progress none >"$T_DIR/r4" 2>"$T_DIR/e4"
is "$?/$(jq -r .deleted "$T_DIR/r4")/$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$D/a.md'")" 0/1/0 \
	"a file really gone is swept"

# The root found empty: kept whole, said.
E=$T_DIR/share
mkdir -p "$E"
for i in 1 2; do printf '# S%d\n\nShared text %d.\n' "$i" "$i" >"$E/s$i.md"; done
docpipe run "$E" --progress none >/dev/null 2>&1
rm "$E"/*.md
docpipe run "$E" --progress none >"$T_DIR/r5" 2>"$T_DIR/e5"
is "$?/$(jq -r .deleted "$T_DIR/r5")/$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '$E'")" 0/0/2 \
	"a root found empty: what is stored from it is kept"
like "$(cat "$T_DIR/e5")" "sweep: $E is an empty directory \(a share or disk not mounted\?\): what is stored under it is kept" \
	"and the run says why"
like "$(docpipe plan "$E" 2>&1 | head -1)" "; 0 gone " "plan over the empty root: none gone"
touch "$E/placeholder.txt"
docpipe run "$E" --progress none >"$T_DIR/r6" 2>"$T_DIR/e6"
is "$?/$(jq -r .deleted "$T_DIR/r6")" 0/2 "with a file in it, the next run sweeps them"
done_testing
