#!/bin/bash
# What the full-text index costs the store: chunks/s of two builds' stores
# (e.g. before and after issue 11) on the same embedded records with real
# text, each into a fresh database, alternating, N rounds.
#   bench/search/store-text.sh OLD_BIN NEW_BIN RECORDS.ndjson [N]
# RECORDS.ndjson: embedded document records, e.g.
#   bin/docpipe-discover ../shared/corpora | bin/docpipe-chunk | bin/docpipe-embed > r.ndjson
set -eu
cd "$(dirname "$0")/../.."
old=$1 new=$2 records=$3 rounds=${4:-3}
tmp=$(mktemp -d /tmp/docpipe-bench-storetext.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$rounds"); do
	for v in old new; do
		bin=$old; [ $v = new ] && bin=$new
		db=st_${v}_$i
		createdb "$db"
		export DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER"
		"$bin/docpipe-store" -q </dev/null
		start=$(date +%s.%N)
		"$bin/docpipe-store" -q <"$records" >/dev/null
		end=$(date +%s.%N)
		n=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM docpipe.chunks")
		python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print('%s round %s: %s chunks in %.2f s = %.0f chunks/s' % (sys.argv[3], sys.argv[5], sys.argv[4], t, int(sys.argv[4])/t))" \
			"$start" "$end" $v "$n" "$i"
		dropdb "$db"
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
