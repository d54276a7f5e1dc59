#!/bin/bash
# Is the chunker's output byte-identical between two builds?  Runs both
# builds' docpipe-chunk over the same file records (generated Markdown from
# bench/gen-corpus, the real corpora in /work/shared/corpora, the converted
# formats in tests/data/formats, with and without --overlap) and compares
# the outputs byte for byte.
#
# Usage: bench/chunk-identical.sh BEFORE_BIN [AFTER_BIN]   (AFTER_BIN default bin/)
# Exit status 0 when every output is identical, 1 otherwise.
set -eu -o pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: bench/chunk-identical.sh BEFORE_BIN [AFTER_BIN]}
after=${2:-$(pwd)/bin}
corpora=${CORPORA:-/work/shared/corpora}
work=$(mktemp -d /tmp/docpipe-chunk-identical.XXXXXX)
trap 'rm -rf "$work"' EXIT

bench/gen-corpus --seed 1 --files 2000 --out "$work/gen" 2>/dev/null
sets=("$work/gen" "$(pwd)/tests/data/formats")
for d in "$corpora"/*/; do [ -d "$d" ] && sets+=("${d%/}"); done

status=0
for dir in "${sets[@]}"; do
	"$after/docpipe-discover" "$dir" >"$work/records"
	for opts in "" "--overlap 64 --max-tokens 256" "--max-tokens 64 --min-tokens 8"; do
		# shellcheck disable=SC2086
		"$before/docpipe-chunk" $opts <"$work/records" >"$work/before" 2>"$work/before.err" || true
		# shellcheck disable=SC2086
		"$after/docpipe-chunk" $opts <"$work/records" >"$work/after" 2>"$work/after.err" || true
		if cmp -s "$work/before" "$work/after" && cmp -s "$work/before.err" "$work/after.err"; then
			printf 'identical  %-60s %-32s %s bytes\n' "$dir" "${opts:-(defaults)}" "$(wc -c <"$work/after")"
		else
			printf 'DIFFERENT  %-60s %s\n' "$dir" "${opts:-(defaults)}"
			status=1
		fi
	done
done
exit "$status"
