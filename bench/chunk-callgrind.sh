#!/bin/bash
# Instructions docpipe-chunk executes (valgrind --tool=callgrind, Ir) over
# bench/chunk.sh's corpus (bench/gen-corpus, default 2000 files, seed 1) and
# over the converted formats in tests/data/formats, for one or more builds:
# a count that the load of a shared machine does not change.
#
# Usage: bench/chunk-callgrind.sh BIN_DIR...   (e.g. /tmp/before/bin bin)
# Env:   FILES (default 2000), SEED (default 1)
set -eu -o pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/chunk-callgrind.sh BIN_DIR..." >&2; exit 2; }
work=$(mktemp -d /tmp/docpipe-bench-callgrind.XXXXXX)
trap 'rm -rf "$work"' EXIT

bench/gen-corpus --seed "${SEED:-1}" --files "${FILES:-2000}" --out "$work/corpus" 2>/dev/null
"$1/docpipe-discover" "$work/corpus" >"$work/markdown"
"$1/docpipe-discover" "$(pwd)/tests/data/formats" >"$work/formats"

ir() { # BIN RECORDS: instructions of one docpipe-chunk run
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
		"$1/docpipe-chunk" <"$2" >/dev/null 2>"$work/cg.err" || true
	grep -o 'Collected : [0-9]*' "$work/cg.err" | grep -o '[0-9]*$'
}
printf '%-40s %18s %18s\n' build "markdown Ir" "formats Ir"
for bin in "$@"; do
	printf '%-40s %18s %18s\n' "$bin" "$(ir "$bin" "$work/markdown")" "$(ir "$bin" "$work/formats")"
done
