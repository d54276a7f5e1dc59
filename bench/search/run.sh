#!/bin/bash
# Retrieval quality of docpipe-query by mode (vector, text, hybrid) with the
# local embedder, into a throwaway PostgreSQL:
#  (a) ../shared/eval/chunking: token-level recall@5 / IoU@5 (its README);
#  (b) questions-corpora.jsonl over ../shared/corpora: expected file in the
#      top 5 / first.
#   bench/search/run.sh [SHARED_DIR]     (default /work/shared)
# Extra variants compare BM25 with ts_rank_cd and RRF constants.
set -eu
cd "$(dirname "$0")/../.."
shared=${1:-/work/shared}
export DOCPIPE_BIN=${DOCPIPE_BIN:-$PWD/bin}
tmp=$(mktemp -d /tmp/docpipe-bench-search.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
B=$DOCPIPE_BIN
load() { # load DB DIR...: discover, chunk, embed (local), store
	local db=$1; shift
	createdb "$db"
	DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER" bash -c \
		'set -o pipefail; "$0"/docpipe-discover "$@" | "$0"/docpipe-chunk | tee "$TMPCHUNKS" |
		 "$0"/docpipe-embed | "$0"/docpipe-store -q >/dev/null' "$B" "$@"
}
variants=("vector:--mode vector" "text:--mode text" "hybrid:--mode hybrid"
	"text-cd:--mode text --text-rank cd" "hybrid-rrf60-w1:--mode hybrid --rrf-k 60 --text-weight 1")
echo "# $(date -u +%FT%TZ) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)"
TMPCHUNKS=$tmp/eval-chunks.ndjson load eval "$shared/eval/chunking/corpora"
echo "## (a) chunking eval (docpipe-chunk defaults, local embedder)"
DATABASE_URL="postgresql:///eval?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
	python3 bench/search/eval.py chunking "$tmp/eval-chunks.ndjson" \
	"$shared/eval/chunking/questions.jsonl" "${variants[@]}"
for c in rust-book:rust-book/src hugo-docs:hugo-docs/content/en; do
	name=${c%%:*} db=${name//-/_}
	TMPCHUNKS=/dev/null load "$db" "$shared/corpora/${c#*:}"
	echo "## (b) $name"
	DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
		python3 bench/search/eval.py files "$name" bench/search/questions-corpora.jsonl "${variants[@]}"
done
