#!/bin/bash
# An embedding failure that is no input's (a wrong model name: a 404 to
# every request) on real documentation: how many requests docpipe-embed
# pays before every document fails (the split that finds a poison input
# must not halve every batch down to single inputs), against a clean run.
#
#   bench/embed-config-error.sh [CORPUS]   (default ../shared/corpora/rust-book)
#     OLD_BIN=DIR runs DIR/docpipe-embed beside bin/'s
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/bin:$PATH OPENAI_API_KEY=k
corpus=${1:-/work/shared/corpora/rust-book}
out=$(mktemp -d /tmp/docpipe-embed-config.XXXXXX)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT
. bench/api-common.sh
serve 16
bin/docpipe-discover "$corpus" | bin/docpipe-chunk >"$out/chunks.ndjson"
python3 -c 'import json; print(json.dumps({"faults": [{"endpoint": "embed", "status": 404, "message": "model not found"}] * 5000}))' >"$out/faults.json"
bins=(bin)
[ -n "${OLD_BIN:-}" ] && bins=("$OLD_BIN" bin)
echo "nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); $(jq -s 'map(.chunks | length) | add' "$out/chunks.ndjson") chunks in $(wc -l <"$out/chunks.ndjson") documents"
for c in clean 404; do
	for b in "${bins[@]}"; do
		reset
		[ $c = 404 ] && curl -sf -X POST -d @"$out/faults.json" "$base/_control" >/dev/null
		start=$(date +%s.%N)
		"$b/docpipe-embed" --backend openai --no-reuse <"$out/chunks.ndjson" >"$out/out" 2>"$out/err" || :
		end=$(date +%s.%N)
		printf '%-6s %-28s wall %5.2f s  requests %4s  documents %s  failed %s\n' "$c" "$b" \
			"$(calc "$end - $start")" "$(curl -sf "$base/_stats" | jq .requests.embed)" \
			"$(grep -c '"kind":"document"' "$out/out" || :)" "$(grep -c '"kind":"error"' "$out/out" || :)"
	done
done
