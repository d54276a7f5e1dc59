#!/bin/bash
# docpipe plan on a corpus whose every summary and vector is cached: the
# issue 13 target is <= 2 s and zero API requests on 10,000 files.
#
#   bench/plan.sh [FILES] [SIZE]      (default 10000 files of ~2,000 bytes)
#
# Fills the database with a real run against the local test server
# (tests/fakeapi.py: summaries and embeddings over an OpenAI-style API),
# then times `docpipe plan` with the same options (best of 3), checks that
# it predicts 0 requests and that the server saw none, and times plain
# discover | chunk on the same files for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-10000}
size=${2:-2000}
out=$(mktemp -d /tmp/docpipe-plan-bench.XXXXXX)
chmod 755 "$out"
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT

bench/gen-corpus --seed 3 --files "$files" --size "$size" --out "$out/corpus" >/dev/null
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
createdb plan && export PGDATABASE=plan
/usr/bin/python3 tests/fakeapi.py --port 0 --no-log >"$out/port" 2>"$out/server.err" &
server=$!
for _ in $(seq 50); do [ -s "$out/port" ] && break; sleep 0.1; done
base=http://127.0.0.1:$(awk '{print $2}' "$out/port")
export OPENAI_BASE_URL=$base/v1
unset OPENAI_API_KEY
requests() { curl -sf "$base/_stats" | jq -r '.requests.chat + .requests.embed'; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

opts=(--opt summarize=--backend=openai --opt embed=--backend=openai --opt embed=--dim=256)
start=$(date +%s.%N)
bin/docpipe run "$out/corpus" "${opts[@]}" --threads summarize=16 --threads embed=8 \
	--progress none >"$out/report" 2>"$out/run.err"
fill=$(calc "$(date +%s.%N) - $start")
echo "filled: $(jq -r '"\(.added) documents, \(.requests) requests"' "$out/report") in ${fill}s"
curl -sf -X POST -d '{}' "$base/_reset" >/dev/null

best=999
for _ in 1 2 3; do
	start=$(date +%s.%N)
	bin/docpipe plan "$out/corpus" "${opts[@]}" --json >"$out/plan"
	t=$(calc "$(date +%s.%N) - $start")
	best=$(awk "BEGIN { print ($t < $best) ? $t : $best }")
done
best_dc=999
for _ in 1 2 3; do
	start=$(date +%s.%N)
	bin/docpipe-discover "$out/corpus" | bin/docpipe-chunk >/dev/null
	t=$(calc "$(date +%s.%N) - $start")
	best_dc=$(awk "BEGIN { print ($t < $best_dc) ? $t : $best_dc }")
done
echo "plan: $(jq -r '"\(.documents.seen) documents (\(.documents.unchanged) unchanged), \(.documents.chunks) chunks; predicted \(.requests) requests, \(.tokens) tokens; cached: \(.stages.summarize.cached) summaries, \(.stages.embed.cached) vectors"' "$out/plan")"
echo "plan best of 3: ${best}s; discover | chunk alone: ${best_dc}s; requests seen by the server during the plans: $(requests)"
echo "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
