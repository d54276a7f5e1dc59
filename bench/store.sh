#!/bin/bash
# Store throughput: chunks/s written by docpipe-store with binary COPY at
# dim 384 into a throwaway PostgreSQL (documents generated beforehand, so
# only the store is timed).
#   bench/store.sh [DOCS [CHUNKS_PER_DOC]]     (default 2000 x 10)
set -eu
cd "$(dirname "$0")/.."
docs=${1:-2000} chunks=${2:-10}
tmp=$(mktemp -d /tmp/docpipe-bench-store.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
python3 bench/store-gen.py --docs "$docs" --chunks "$chunks" --dim 384 >"$tmp/docs.ndjson"
createdb bench
export DATABASE_URL="postgresql:///bench?host=$PGHOST&port=$PGPORT&user=$PGUSER"
# Schema first, so the timed run measures writes only.
bin/docpipe-store -q </dev/null
run() { # run LABEL: times one store of all documents
	local start end
	start=$(date +%s.%N)
	bin/docpipe-store -q "$@" <"$tmp/docs.ndjson" >"$tmp/receipts"
	end=$(date +%s.%N)
	python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print('%-28s %6d chunks in %.2f s = %7.0f chunks/s' % (sys.argv[4], n, s, n/s))" \
		"$start" "$end" $((docs * chunks)) "$LABEL"
}
LABEL="store (copy, new)" run
LABEL="store (copy, unchanged)" run
psql -X -q -d bench -c "TRUNCATE docpipe.documents CASCADE"
LABEL="store (insert, new)" run --write-method insert
