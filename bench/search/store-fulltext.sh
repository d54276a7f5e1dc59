#!/bin/bash
# What the full-text index costs docpipe-store, by variant, on the same
# embedded records with real text, each load into a fresh database, variants
# alternated, N rounds; chunks/s of wall time.
#   bench/search/store-fulltext.sh NOINDEX_BIN BIN RECORDS.ndjson [N] [VARIANT...]
# NOINDEX_BIN: a build whose store_fulltext_ensure returns 0 at once (the
# store as before the index); "build" makes one from HEAD in the temporary
# directory.  BIN: this build.  RECORDS.ndjson: embedded document records,
# e.g. the first 20,000 chunks of corpus100k.sh's records.ndjson:
#   python3 -c 'import json,sys; n=0
#   for l in sys.stdin:
#       n += len(json.loads(l).get("chunks", [])); print(l, end="")
#       if n >= 20000: break' <DIR/records.ndjson >r20k.ndjson
# Variants (default all): none, index (as shipped: the store's own lexer
# sends the tsvector), none2 and index2 (two stores at once, each on half
# of the documents: the graph's store replicas), server and server2 (the
# server's lexer: a STORED generated column, as before the store had its
# own lexer; SERVER_BIN below),
# nofastupdate (GIN fastupdate off), pending64 (GIN
# gin_pending_list_limit 64 MB).
# SERVER_BIN (environment): a build whose store has the generated column;
# default: one made from SERVER_REV (default 035b438, the last commit
# before docpipe's lexer) in the temporary directory.
set -eu
cd "$(dirname "$0")/../.."
old=$1 new=$2 records=$3 rounds=${4:-2}
shift $(($# < 4 ? $# : 4))
variants=${*:-none index server none2 index2 server2 nofastupdate pending64}
tmp=$(mktemp -d /tmp/docpipe-bench-storeft.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
if [ "$old" = build ]; then
	mkdir "$tmp/noindex"
	git archive HEAD | tar x -C "$tmp/noindex"
	python3 - "$tmp/noindex/src/store/fulltext.c" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
head = "int store_fulltext_ensure(store *s, dp_err *err)\n{\n"
assert head in s
s = s.replace(head, head + "\tif (s != NULL || err != NULL)\n\t\treturn 0; /* bench: no full-text index */\n")
open(p, "w").write(s)
PY
	make -s -C "$tmp/noindex" V=release bin/docpipe-store >/dev/null
	old=$tmp/noindex/bin
fi
server=${SERVER_BIN:-}
if [ -z "$server" ] && [ "${variants#*server}" != "$variants" ]; then
	mkdir "$tmp/server"
	git archive "${SERVER_REV:-035b438}" | tar x -C "$tmp/server"
	make -s -C "$tmp/server" V=release bin/docpipe-store >/dev/null
	server=$tmp/server/bin
fi
n=$(wc -l <"$records")
head -n $((n / 2)) "$records" >"$tmp/half1"
tail -n +$((n / 2 + 1)) "$records" >"$tmp/half2"
echo "# $(date -u +%FT%TZ) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$rounds"); do
	for v in $variants; do
		bin=$new; [ "${v#none}" != "$v" ] && bin=$old; [ "${v#server}" != "$v" ] && bin=$server
		db=sf_${v}_$i
		createdb "$db"
		export DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER"
		"$bin/docpipe-store" -q </dev/null
		case $v in
		nofastupdate) psql -X -q -d "$db" -c "ALTER INDEX docpipe.chunks_tsv SET (fastupdate = off)" ;;
		pending64) psql -X -q -d "$db" -c "ALTER INDEX docpipe.chunks_tsv SET (gin_pending_list_limit = 65536)" ;;
		esac
		start=$(date +%s.%N)
		case $v in
		*2)
			"$bin/docpipe-store" -q <"$tmp/half1" >/dev/null &
			"$bin/docpipe-store" -q <"$tmp/half2" >/dev/null
			wait $! ;;
		*) "$bin/docpipe-store" -q <"$records" >/dev/null ;;
		esac
		end=$(date +%s.%N)
		c=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM docpipe.chunks")
		python3 -c "import sys; a=sys.argv; t=float(a[2])-float(a[1]); print('%-13s round %s: %s chunks in %.2f s = %5.0f chunks/s' % (a[3], a[5], a[4], t, int(a[4])/t))" \
			"$start" "$end" "$v" "$c" "$i"
		dropdb "$db"
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
