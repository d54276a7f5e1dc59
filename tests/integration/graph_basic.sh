#!/bin/bash
# The graph (hub + two replicas of every stage over tcp on loopback) stores
# exactly what the stdin/stdout pipeline stores; --jq reaches every stage;
# deleting a file and re-running removes exactly that document.
. "$(dirname "$0")/../lib/tap.sh"

corpus() { # corpus DIR N
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		printf '# Document %d\n\nIntro text for %d, with words.\n\n## Details\n\n%s\n' \
			"$i" "$i" "$(seq -s ' ' "$i" $((i + 40)))" >"$1/doc$i.md"
	done
}

corpus "$T_DIR/docs" 40
corpus "$T_DIR/other" 3

newdb || exit 1
docpipe-discover "$T_DIR/docs" | docpipe-chunk | docpipe-summarize | docpipe-embed | docpipe-store -q >/dev/null
ok $? "plain pipeline: every stage exits 0"
want=$(fingerprint)
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 40 "pipeline stores 40 documents"

newdb || exit 1
docpipe run "$T_DIR/docs" --replicas chunk=2 --replicas summarize=2 --replicas embed=2 \
	--replicas store=2 --threads embed=2 --progress none >"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc" 0 "graph run exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/err"
is "$(jq -r '[.complete, .documents, .added, .failed] | @tsv' "$T_DIR/report")" \
	"$(printf 'true\t40\t40\t0')" "report: complete, 40 documents added"
is "$(fingerprint)" "$want" "database identical to the pipeline's"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 40 "40 rows"

# --jq on a stage: metadata added in the graph reaches the store.
docpipe run "$T_DIR/other" --opt 'chunk=--jq=.meta.team = "docs"' --progress none \
	>"$T_DIR/report2" 2>"$T_DIR/err"
is "$?" 0 "second root with --jq"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE metadata->>'team' = 'docs'")" 3 \
	"--jq metadata stored"

# A compile error is a usage error at start.
docpipe-chunk --jq '.a |||' </dev/null >/dev/null 2>"$T_DIR/err"
is "$?" 2 "--jq compile error: exit 2"

# Unchanged re-run, then a deletion scoped to its root.
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$(jq -r '[.unchanged, .added, .deleted] | @tsv' "$T_DIR/report")" "$(printf '40\t0\t0')" \
	"re-run: all unchanged"
rm "$T_DIR/docs/doc7.md"
docpipe run "$T_DIR/docs" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$(jq -r '[.deleted, .unchanged] | @tsv' "$T_DIR/report")" "$(printf '1\t39')" \
	"re-run after rm: one deleted"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/docs/doc7.md'")" 0 \
	"that document is gone"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" 42 "every other document stays (other root too)"

done_testing
