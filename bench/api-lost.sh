#!/bin/bash
# A request the model API loses (never answers), through docpipe-summarize
# alone: 60 small documents, chat latency 100 ms, the test server hangs one
# chat request 120 s (tests/fakeapi.py "kind": "hang").  Two cases:
#   first  the stage's very first request (before its first success one
#          request goes alone: nothing overtakes it)
#   later  the 9th document's request (others overtake it: the
#          lost-request watch)
# Prints one line per run: wall, requests, the stage's last line.
#
#   bench/api-lost.sh [CASE...] [-n RUNS]   (default: first later, 1 run each)
#     THREADS (default 16), TIMEOUT (default: the stage's, 60 s);
#     OLD_BIN=DIR runs DIR/docpipe-summarize beside bin/'s, alternated
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/bin:$PATH OPENAI_API_KEY=k
runs=1 cases=()
while [ $# -gt 0 ]; do
	case $1 in -n) runs=$2; shift ;; *) cases+=("$1") ;; esac
	shift
done
[ ${#cases[@]} -gt 0 ] || cases=(first later)
out=$(mktemp -d /tmp/docpipe-api-lost.XXXXXX)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT
latency=embed=20+4,chat=100
. bench/api-common.sh
serve 16
mkdir -p "$out/d"
for i in $(seq -w 1 60); do
	printf '# Doc %s\n\nSome text number %s about things.\n\n## Part\n\nMore words %s here.\n' "$i" "$i" "$i" >"$out/d/n$i.md"
done
bin/docpipe-discover "$out/d" | bin/docpipe-chunk >"$out/chunks.ndjson"
bins=(bin)
[ -n "${OLD_BIN:-}" ] && bins=("$OLD_BIN" bin)
echo "nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); chat 100 ms; --threads ${THREADS:-16}"
for c in "${cases[@]}"; do
	for _ in $(seq "$runs"); do
		for b in "${bins[@]}"; do
			reset
			fault='{"endpoint":"chat","kind":"hang","seconds":120}'
			[ "$c" = later ] && fault='{"endpoint":"chat","kind":"hang","seconds":120,"input":"number 09 about"}'
			curl -sf -X POST -d "{\"faults\":[$fault]}" "$base/_control" >/dev/null
			start=$(date +%s.%N)
			"$b/docpipe-summarize" --backend openai --no-reuse --threads "${THREADS:-16}" \
				${TIMEOUT:+--timeout "$TIMEOUT"} <"$out/chunks.ndjson" >"$out/out" 2>"$out/err" ||
				{ echo "run failed:"; tail -3 "$out/err"; exit 1; }
			end=$(date +%s.%N)
			printf '%-6s %-28s wall %6.2f s  docs %s  requests %s  %s\n' "$c" "$b" "$(calc "$end - $start")" \
				"$(grep -c '"kind":"document"' "$out/out")" \
				"$(curl -sf "$base/_stats" | jq .requests.chat)" "$(tail -1 "$out/err" | cut -c1-120)"
		done
	done
done
