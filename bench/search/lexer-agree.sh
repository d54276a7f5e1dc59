#!/bin/bash
# docpipe's full-text lexer against PostgreSQL's to_tsvector on the real
# corpora: each corpus chunked, embedded (local) and stored by this build
# into a throwaway PostgreSQL, then bench/search/lexer-agree.sql compares
# every chunk's stored tsvector with the server's (shares of identical
# lexemes, of letter-only words, of whole tsvectors; the lexemes one side
# alone has, most frequent first).
#   bench/search/lexer-agree.sh [SHARED_DIR] [CONFIG]   (default /work/shared, english)
set -eu
cd "$(dirname "$0")/../.."
shared=${1:-/work/shared} cfg=${2:-english}
B=${DOCPIPE_BIN:-$PWD/bin}
tmp=$(mktemp -d /tmp/docpipe-bench-agree.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $cfg"
for c in rust-book hugo-docs; do
	db=${c//-/_}
	createdb "$db"
	DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER" bash -c \
		'set -o pipefail; "$0"/docpipe-discover "$1" 2>/dev/null | "$0"/docpipe-chunk 2>/dev/null |
		 "$0"/docpipe-embed 2>/dev/null | "$0"/docpipe-store -q --text-config "$2" >/dev/null' \
		"$B" "$shared/corpora/$c" "$cfg"
	echo "## $c"
	psql -X -q -A -t -d "$db" -f bench/search/lexer-agree.sql
done
