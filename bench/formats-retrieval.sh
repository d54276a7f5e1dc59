#!/bin/bash
# Retrieval sanity check of issue 12: the PostgreSQL 15 HTML manual
# (Debian postgresql-doc-15) through discover | chunk | embed | store with
# the local embedder, then the questions of bench/formats-questions.tsv
# (written before the first run); a question is found when one of its
# pages is among the top 5 results.  Starts a throwaway PostgreSQL.
#
# Usage: bench/formats-retrieval.sh [CHUNK-OPTION]...
# Env:   DOCPIPE_BIN (default bin/)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
bin=${DOCPIPE_BIN:-$top/bin}
work=$(mktemp -d /tmp/docpipe-bench-retrieval.XXXXXX)
chmod 755 "$work"
eval "$(tests/lib/pg.sh start "$work/pg")"
trap 'tests/lib/pg.sh stop "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
export PGHOST PGPORT PGUSER
createdb bench
export DATABASE_URL="postgresql:///bench?host=$PGHOST&port=$PGPORT&user=$PGUSER"

"$bin/docpipe-discover" /usr/share/doc/postgresql-doc-15/html --glob '*.html' |
	"$bin/docpipe-chunk" "$@" | "$bin/docpipe-embed" | "$bin/docpipe-store" >"$work/receipts"
echo "stored: $(jq -s 'map(select(.status == "stored")) | length' "$work/receipts") documents"
found=0 n=0
while IFS=$'\t' read -r question pages; do
	case $question in '#'* | '') continue ;; esac
	n=$((n + 1))
	got=$("$bin/docpipe-query" --json -k 5 "$question" | jq -r '.path | sub(".*/"; "")' | tr '\n' ' ')
	hit=no
	for p in $pages; do case " $got" in *" $p "*) hit=yes ;; esac; done
	[ $hit = yes ] && found=$((found + 1))
	printf '%-3s %-58s top 5: %s\n' "$hit" "$question" "$got"
done <bench/formats-questions.tsv
echo "found in the top 5: $found of $n"
