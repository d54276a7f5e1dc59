#!/bin/bash
# F1's figures: the model requests of a corpus holding copies of one file,
# read in one run (docs/reuse.md, "Copies in one run").
#
#   bench/api-copies.sh [BINDIR...]      (default: bin)
#
# The corpus: COPIES (default 40) copies of FILE (default the Rust book's
# ch04-01, ../shared/corpora) in folders of their own, and the first OTHERS
# (default 30) other files of the Rust book.  For each BINDIR, a fresh
# database (the result cache on, a throwaway PostgreSQL): discover | chunk |
# summarize --chunk-summaries -j16 | embed -j16 against the test server
# (bench/api-common.sh's latency); prints the chat and embedding requests,
# the embedding inputs and the wall time.  With REAL=1 the corpus is
# ../shared/corpora whole (its own copies: 1,107 files).
set -euo pipefail
cd "$(dirname "$0")/.."
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(bin)
real=../shared/corpora
FILE=${FILE:-$real/rust-book/src/ch04-01-what-is-ownership.md}
. bench/api-common.sh
bench_workdir api-copies
unset OPENAI_API_KEY DATABASE_URL
eval "$(tests/lib/pg.sh start "$out/pg")"
serve 64
if [ "${REAL:-0}" = 1 ]; then
	roots=("$real/rust-book" "$real/hugo-docs")
else
	for k in $(seq -w 1 "${COPIES:-40}"); do
		mkdir -p "$out/corpus/copy$k"
		cp "$FILE" "$out/corpus/copy$k/"
	done
	mkdir -p "$out/corpus/others"
	find "$real/rust-book/src" -name '*.md' ! -name "$(basename "$FILE")" | sort |
		head -n "${OTHERS:-30}" | xargs cp -t "$out/corpus/others"
	roots=("$out/corpus")
fi
for bin in "${bins[@]}"; do
	db=copies$RANDOM
	createdb "$db"
	reset
	t0=$(date +%s.%N)
	"$bin/docpipe-discover" "${roots[@]}" | "$bin/docpipe-chunk" |
		PGDATABASE=$db "$bin/docpipe-summarize" --backend openai --chunk-summaries -j 16 2>"$out/e1" |
		PGDATABASE=$db "$bin/docpipe-embed" --backend openai -j 16 >"$out/docs" 2>"$out/e2"
	t1=$(date +%s.%N)
	curl -sf "$base/_stats" >"$out/stats"
	printf '%s: %s documents, chat %s, embed %s requests (%s inputs), %s s\n' "$bin" \
		"$(grep -c '"kind":"document"' "$out/docs")" "$(jq .requests.chat "$out/stats")" \
		"$(jq .requests.embed "$out/stats")" "$(jq .inputs.embed "$out/stats")" "$(calc "$t1 - $t0")"
	dropdb "$db"
done
