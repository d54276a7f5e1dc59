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
# Variants (default: all but the last two): none, index (as shipped: the store's own lexer
# sends the tsvector), none2 and index2 (two stores at once, each on half
# of the documents: the graph's store replicas), server and server2 (the
# server's lexer: a STORED generated column, as before the store had its
# own lexer; SERVER_BIN below),
# before and before2 (SERVER_REV's store without the index: the store as
# before issue 11), inline and inline2 (this build with the GIN pending
# list merged by the writes, no merge on a second connection: HEAD with
# store_fulltext_tend's call removed), nofastupdate (GIN fastupdate off),
# pending64 (GIN gin_pending_list_limit 64 MB), lexhash and lexhash2 (the
# store of LEXHASH_REV, default bdc9453: the GIN index over an int4[] of
# the lexemes' hashes instead of the tsvector, measured and not kept:
# docs/PERFORMANCE.md), nogin and lexhashnogin (this build's and
# LEXHASH_REV's store with the GIN index dropped: what the columns cost
# without it; the store says once that it cannot merge), ginbulk and ginbulk2 (this
# build with the GIN index dropped before the load and built by CREATE
# INDEX after it, maintenance_work_mem 256 MB, the build timed with the
# load: what a bulk rule for the full-text index would give; the store says
# once that it cannot merge the pending list, there being no index).
# tsvmain, tsvplain, tsvexternal, tsvextended (this build with the tsv
# column's STORAGE set so before the load), tsvpglz, tsvlz4 (its
# COMPRESSION): how a chunk's tsvector is kept (in line or not, compressed
# or not) against what the load costs.  mwmN (this build with the
# database's maintenance_work_mem N MB: the memory of the merges on the
# store's second connection, gin_clean_pending_list).  nonefsync and
# indexfsync (none's and this build's store with the server's fsync on, as
# a user's database runs: the bench's throwaway cluster has fsync off,
# tests/lib/pg.sh; synchronous_commit and full_page_writes are on either
# way, PostgreSQL's defaults): ALTER SYSTEM and a reload before the load,
# fsync off again for the next variant without the suffix.
# Each line ends with the 1-minute load average after the load.
# Each timed load starts after a CHECKPOINT (the previous round's WAL is
# not flushed inside the next one's timing).
# BASE (environment): embedded document records stored before each load,
# outside the timing (an incremental store into an existing corpus, e.g.
# the rest of corpus100k.sh's records); each store build fills a template
# database from BASE once, every round's database is a copy of it.
# SERVER_BIN (environment): a build whose store has the generated column;
# default: one made from SERVER_REV (default 035b438, the last commit
# before docpipe's lexer) in the temporary directory.
# SCHED=DIR (environment): each timed load of one store (not the *2
# variants) is also recorded into DIR/VARIANT-ROUND/ for
# bench/search/storewall.py (where the wall goes, per thread, off-CPU):
# perf sched record -a, the store's backends' pg_stat_activity every
# 10 ms, the load's start and end; lock waits over 10 ms go to the
# server's log.  SCHED_LOG=1: every statement's duration too
# (log_min_duration_statement 0; ~0.3 more server CPU-s per 20k chunks
# with or without the index).  The recording costs CPU: compare loads
# recorded alike.
set -eu
cd "$(dirname "$0")/../.."
old=$1 new=$2 records=$3 rounds=${4:-2}
shift $(($# < 4 ? $# : 4))
variants=${*:-before none index server before2 none2 index2 server2}
tmp=$(mktemp -d /tmp/docpipe-bench-storeft.XXXXXX)
chmod 755 "$tmp"
[ -n "${SCHED:-}" ] && export PG_OPTS="${PG_OPTS:-} -c log_line_prefix='%m [%p] %a ' -c log_lock_waits=on -c deadlock_timeout=10ms"
# The *fsync variants switch the server's fsync by ALTER SYSTEM: no fsync
# option on its command line, which would override it; off until then.
[ "${variants#*fsync}" != "$variants" ] && export PG_FSYNC=
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
# set_fsync on|off: the server's fsync from the next statement on.
set_fsync() {
	psql -X -q -d postgres -c "ALTER SYSTEM SET fsync = $1" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 50); do
		[ "$(psql -X -A -t -d postgres -c "SHOW fsync")" = "$1" ] && server_fsync=$1 && return
		sleep 0.1
	done
	echo "store-fulltext.sh: the server's fsync is not $1 after a reload" >&2
	exit 1
}
[ -n "${PG_FSYNC-x}" ] || set_fsync off
# noindex SRC_DIR: patches the tree's store_fulltext_ensure to return 0 at
# once (no full-text column or index) and builds its store.
noindex() {
	python3 - "$1/src/store/fulltext.c" <<'PY2'
import re, sys
p = sys.argv[1]
s = open(p).read()
m = re.search(r"int store_fulltext_ensure\((\w+) \*(\w+), dp_err \*err\)\n\{\n", s)
assert m
s = s[:m.end()] + "\tif (%s != NULL || err != NULL)\n\t\treturn 0; /* bench: no full-text index */\n" % m.group(2) + s[m.end():]
open(p, "w").write(s)
PY2
	make -s -C "$1" V=release bin/docpipe-store >/dev/null
}
if [ "$old" = build ]; then
	mkdir "$tmp/noindex"
	git archive HEAD | tar x -C "$tmp/noindex"
	noindex "$tmp/noindex"
	old=$tmp/noindex/bin
fi
server=${SERVER_BIN:-}
if [ -z "$server" ] && [ "${variants#*server}" != "$variants" ]; then
	mkdir "$tmp/server"
	git archive "${SERVER_REV:-035b438}" | tar x -C "$tmp/server"
	make -s -C "$tmp/server" V=release bin/docpipe-store >/dev/null
	server=$tmp/server/bin
fi
if [ "${variants#*inline}" != "$variants" ]; then
	mkdir "$tmp/inline"
	git archive HEAD | tar x -C "$tmp/inline"
	python3 - "$tmp/inline/src/store/run.c" <<'PY2'
import sys
p = sys.argv[1]
s = open(p).read()
assert s.count("\tstore_fulltext_tend(s);\n") == 1
open(p, "w").write(s.replace("\tstore_fulltext_tend(s);\n", ""))
PY2
	make -s -C "$tmp/inline" V=release bin/docpipe-store >/dev/null
fi
if [ "${variants#*lexhash}" != "$variants" ]; then
	mkdir "$tmp/lexhash"
	git archive "${LEXHASH_REV:-bdc9453}" | tar x -C "$tmp/lexhash"
	make -s -C "$tmp/lexhash" V=release bin/docpipe-store >/dev/null
fi
if [ "${variants#*before}" != "$variants" ]; then
	mkdir "$tmp/before"
	git archive "${SERVER_REV:-035b438}" | tar x -C "$tmp/before"
	noindex "$tmp/before"
fi
# template BIN: tpl is a database holding BASE stored by BIN (made once per BIN).
declare -A templates=()
template() {
	tpl=${templates[$1]:-}
	if [ -z "$tpl" ]; then
		tpl=sf_base_${#templates[@]}
		createdb "$tpl"
		DATABASE_URL="postgresql:///$tpl?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
			"$1/docpipe-store" -q <"$BASE" >/dev/null
		psql -X -q -d "$tpl" -c "VACUUM ANALYZE"
		templates[$1]=$tpl
	fi
}
n=$(wc -l <"$records")
head -n $((n / 2)) "$records" >"$tmp/half1"
tail -n +$((n / 2 + 1)) "$records" >"$tmp/half2"
# CPU seconds used so far by the server: the postmaster and the children it
# reaped (every backend of a finished run).
server_cpu() {
	awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / t }' \
		"/proc/$(head -1 "$tmp/pg/data/postmaster.pid")/stat"
}
# sched_start DB DIR / sched_stop DIR START END: SCHED's recording of one
# load (the header's SCHED).
sched_start() {
	mkdir -p "$2"
	if [ "${SCHED_LOG:-}" = 1 ]; then psql -X -q -d "$1" -c "ALTER DATABASE $1 SET log_min_duration_statement = 0"; fi
	log_at=$(wc -c <"$tmp/pg/log")
	printf '%s\n' "SELECT extract(epoch FROM clock_timestamp()), pid, application_name, state,
		coalesce(wait_event_type, '-'), coalesce(wait_event, '-'), left(regexp_replace(query, '\s+', ' ', 'g'), 40)
		FROM pg_stat_activity WHERE datname = '$1' AND backend_type = 'client backend'
		AND pid <> pg_backend_pid()" '\watch 0.01' | psql -X -q -A -t -F'|' -d "$1" >"$2/samples.txt" 2>/dev/null &
	sampler=$!
	perf sched record -k CLOCK_MONOTONIC -a -o "$2/sched.data" >/dev/null 2>"$2/perf.err" &
	recorder=$!
	sleep 0.5
	python3 -c 'import time; print("offset", time.time() - time.clock_gettime(time.CLOCK_MONOTONIC))' >"$2/info"
}
sched_stop() {
	sleep 0.2
	kill -INT "$recorder" || true; wait "$recorder" || true
	kill "$sampler" || true; wait "$sampler" 2>/dev/null || true
	echo "start $2 end $3" >>"$1/info"
	if [ "${SCHED_LOG:-}" = 1 ]; then tail -c +$((log_at + 1)) "$tmp/pg/log" >"$1/pg.log"; fi
}
# store BIN INPUT OUT: one store, its user+system CPU seconds into OUT.
store() { /usr/bin/time -f "%U %S" -o "$3" "$1/docpipe-store" -q <"$2" >/dev/null; }
echo "# $(date -u +%FT%TZ) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)${BASE:+; into a copy of $BASE}"
echo "# chunks/s of wall time; CPU seconds of the store(s) and of the server"
for i in $(seq "$rounds"); do
	for v in $variants; do
		case $v in
		none*) bin=$old ;; server*) bin=$server ;; before*) bin=$tmp/before/bin ;; inline*) bin=$tmp/inline/bin ;;
		lexhash*) bin=$tmp/lexhash/bin ;;
		*) bin=$new ;;
		esac
		db=sf_${v}_$i
		if [ -n "${BASE:-}" ]; then
			template "$bin"
			createdb -T "$tpl" "$db"
		else
			createdb "$db"
		fi
		export DATABASE_URL="postgresql:///$db?host=$PGHOST&port=$PGPORT&user=$PGUSER"
		"$bin/docpipe-store" -q </dev/null
		gin=$(psql -X -A -t -d "$db" -c "SELECT indexrelid::regclass FROM pg_index WHERE indexrelid::regclass::text IN
			('docpipe.chunks_tsv', 'docpipe.chunks_lexhash')")
		case $v in
		nofastupdate) psql -X -q -d "$db" -c "ALTER INDEX $gin SET (fastupdate = off)" ;;
		pending64) psql -X -q -d "$db" -c "ALTER INDEX $gin SET (gin_pending_list_limit = 65536)" ;;
		tsvpglz | tsvlz4) psql -X -q -d "$db" -c "ALTER TABLE docpipe.chunks ALTER COLUMN tsv SET COMPRESSION ${v#tsv}" ;;
		tsv*) psql -X -q -d "$db" -c "ALTER TABLE docpipe.chunks ALTER COLUMN tsv SET STORAGE ${v#tsv}" ;;
		mwm*) psql -X -q -d "$db" -c "ALTER DATABASE $db SET maintenance_work_mem = '${v#mwm}MB'" ;;
		*nogin) psql -X -q -d "$db" -c "DROP INDEX $gin" ;;
		ginbulk*) ginkey=$(psql -X -A -t -d "$db" -c "SELECT pg_get_indexdef('$gin'::regclass)")
			psql -X -q -d "$db" -c "DROP INDEX $gin" ;;
		esac
		case $v in *fsync) fsync=on ;; *) fsync=off ;; esac
		[ "${server_fsync:-off}" = "$fsync" ] || set_fsync "$fsync"
		psql -X -q -d "$db" -c CHECKPOINT
		rows0=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM docpipe.chunks")
		rm -f "$tmp/t1" "$tmp/t2"
		sched=
		case $v in *2) ;; *) [ -n "${SCHED:-}" ] && sched=$SCHED/$v-$i && sched_start "$db" "$sched" ;; esac
		c0=$(server_cpu)
		start=$(date +%s.%N)
		case $v in
		*2)
			store "$bin" "$tmp/half1" "$tmp/t1" &
			store "$bin" "$tmp/half2" "$tmp/t2"
			wait $! ;;
		*) store "$bin" "$records" "$tmp/t1" ;;
		esac
		case $v in
		ginbulk*) psql -X -q -d "$db" -c "SET maintenance_work_mem = '256MB'" \
			-c "$ginkey" ;;
		esac
		end=$(date +%s.%N)
		[ -n "$sched" ] && sched_stop "$sched" "$start" "$end"
		sleep 0.5 # the backends' exit reaches the postmaster
		c1=$(server_cpu)
		c=$(($(psql -X -A -t -d "$db" -c "SELECT count(*) FROM docpipe.chunks") - rows0))
		python3 -c "import sys; a=sys.argv; t=float(a[2])-float(a[1]); cpu=sum(sum(map(float, open(f).read().split())) for f in a[8:] if f)
print('%-13s round %s: %s chunks in %.2f s = %5.0f chunks/s | CPU store %.2f s, server %.2f s | load %s' % (a[3], a[5], a[4], t, int(a[4])/t, cpu, float(a[7])-float(a[6]), open('/proc/loadavg').read().split()[0]))" \
			"$start" "$end" "$v" "$c" "$i" "$c0" "$c1" "$tmp/t1" "$([ -f "$tmp/t2" ] && echo "$tmp/t2")"
		dropdb "$db"
	done
done
for t in "${templates[@]}"; do dropdb "$t"; done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
