#!/bin/bash
# One huge document through `docpipe run`: over the default --max-size it
# fails by name; with --max-size given to discover and chunk alone, its
# record with vectors outgrows the stages' default --max-record (64 MiB) and
# fails naming that and the fix; `docpipe run --max-size` lets it through
# every stage and it is stored whole.
. "$(dirname "$0")/../lib/tap.sh"
# 24 MB through every stage is CPU, ASan's 2-3x of it the suite's longest
# test (86-146 s); the record and buffer limits it meets run under ASan in
# stage_limits and fault_max_record.
release_only "a 24 MB document through every stage"
newdb || exit 1

# ~24 MB of Markdown: sections of paragraphs, ~1 KB chunks (a 384-dimension
# vector each makes the embedded record ~3x the file).
mkdir -p "$T_DIR/docs"
awk 'BEGIN {
	for (s = 0; s < 2600; s++) {
		printf "## Section %d\n\n", s
		for (p = 0; p < 9; p++) {
			for (w = 0; w < 150; w++) printf "word%d ", (s * 7 + p * 13 + w * w) % 997
			printf "\n\n"
		}
	}
}' >"$T_DIR/docs/huge.md"
size=$(stat -c %s "$T_DIR/docs/huge.md")
[ "$size" -gt 22000000 ]
ok $? "a Markdown file of $size bytes"

docpipe run "$T_DIR/docs" --progress none >"$T_DIR/r1" 2>"$T_DIR/e1"
is "$?/$(jq -r '.failures[0].error' "$T_DIR/r1")" "1/file is $size bytes, over --max-size 16777216" \
	"default run: the file fails by name, over --max-size"

docpipe run "$T_DIR/docs" --progress none --opt discover=--max-size=40000000 \
	--opt chunk=--max-size=40000000 >"$T_DIR/r2" 2>"$T_DIR/e2"
is "$?/$(jq -r '.failures[0].stage' "$T_DIR/r2")" "1/embed" \
	"--max-size for discover and chunk alone: its record fails at embed"
like "$(jq -r '.failures[0].error' "$T_DIR/r2")" "over 67108864 bytes.*larger --max-record.*docpipe run --max-size" \
	"naming the record limit and what lets it through"

docpipe run "$T_DIR/docs" --progress none --max-size 40000000 >"$T_DIR/r3" 2>"$T_DIR/e3"
is "$?/$(jq -r '[.added, .failed] | @tsv' "$T_DIR/r3")" "0/1	0" "docpipe run --max-size: stored"
[ "$(jq -r .added "$T_DIR/r3")" = 1 ] || sed 's/^/# /' "$T_DIR/e3"
is "$(sql "SELECT sum(length(content)) >= $size * 0.95 AND count(*) > 20000 FROM docpipe.chunks")" t \
	"whole: its chunks hold the file's text"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE embedding IS NULL")" 0 "every chunk has its vector"

docpipe run "$T_DIR/docs" --progress none --max-size x >/dev/null 2>"$T_DIR/e4"
is "$?/$(grep -c "malformed value 'x'" "$T_DIR/e4")" "2/1" "--max-size x: usage error"
like "$(docpipe run --help)" "--max-size BYTES" "--help lists --max-size"
done_testing
