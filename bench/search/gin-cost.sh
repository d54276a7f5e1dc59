#!/bin/bash
# What the full-text (GIN) index costs the server, by way of maintaining it,
# in CPU seconds of the one backend that does the work (read from /proc:
# wall times on this shared machine swing with the load, CPU seconds much
# less).  The chunks of RECORDS (stored once by BIN's docpipe-store, their
# tsvectors included) are inserted again into a fresh table in 500-row
# transactions, as the store's batches, N rounds:
#   bench/search/gin-cost.sh BIN RECORDS.ndjson [N] [VARIANT...]
# Variants (default: all): none (no GIN index), gin4000 (the GIN index as
# the store keeps it: pending list up to 16 MB, merged every 4,000 chunks),
# gin16000 (merged every 16,000), ginend (merged once at the end), build
# (no GIN index while inserting, CREATE INDEX after: a bulk load), int4000
# and intbuild (the same two with a GIN index over int4[] hashes of the
# lexemes instead of the tsvector: what cheaper keys would cost).
# BASE (environment): embedded document records whose chunks are in the
# table (and its index) before the insertion: an incremental store.
set -eu
cd "$(dirname "$0")/../.."
bin=$1 records=$2 rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
variants=${*:-none gin4000 gin16000 ginend build int4000 intbuild}
tmp=$(mktemp -d /tmp/docpipe-bench-gincost.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
load() { # DB RECORDS: stores RECORDS into DB with BIN's store
	createdb "$1"
	DATABASE_URL="postgresql:///$1?host=$PGHOST&port=$PGPORT&user=$PGUSER" "$bin/docpipe-store" -q <"$2" >/dev/null
}
load g "$records"
if [ -n "${BASE:-}" ]; then
	load b "$BASE"
	psql -X -q -d b -c "\\copy docpipe.chunks TO '$tmp/base.bin' (FORMAT binary)"
fi
psql -X -q -d g -c "\\copy docpipe.chunks TO '$tmp/src.bin' (FORMAT binary)"
psql -X -q -v ON_ERROR_STOP=1 -d g <<SQL
CREATE TABLE src (LIKE docpipe.chunks);
\\copy src FROM '$tmp/src.bin' (FORMAT binary)
-- ids above BASE's: the same documents may be in both
CREATE TABLE srcn AS SELECT row_number() OVER (ORDER BY document_id, seq) rn, s.*,
	array(SELECT hashtext(x) FROM unnest(tsvector_to_array(s.tsv)) x ORDER BY 1) AS lh
	FROM (SELECT document_id + 1000000000 AS document_id, seq, content, heading, tokens, summary,
	      embedding, byte_start, byte_end, line_start, line_end, page_start, page_end, tsv FROM src) s;
CREATE TABLE base (LIKE srcn);
$([ -n "${BASE:-}" ] && printf '%s\n' "CREATE TABLE b0 (LIKE docpipe.chunks);" \
	"\\copy b0 FROM '$tmp/base.bin' (FORMAT binary)" \
	"INSERT INTO base SELECT 0, b0.*, array(SELECT hashtext(x) FROM unnest(tsvector_to_array(b0.tsv)) x ORDER BY 1) FROM b0;")
VACUUM ANALYZE srcn;
CREATE FUNCTION cpu() RETURNS float8 LANGUAGE sql AS \$\$
	SELECT (split_part(s, ' ', 12)::int + split_part(s, ' ', 13)::int)
	       / current_setting('docpipe.clk_tck')::float8
	FROM (SELECT split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2) s) x \$\$;
-- key: tsv or int; cadence: chunks between merges (0: no index while
-- inserting, CREATE INDEX after)
CREATE PROCEDURE run(key text, cadence int) LANGUAGE plpgsql AS \$\$
DECLARE t0 float8; t1 float8; ins float8 := 0; mrg float8 := 0; since int := 0; i int := 0;
	n int := (SELECT count(*) FROM srcn); col text := CASE key WHEN 'int' THEN 'lh' ELSE 'tsv' END;
BEGIN
	DROP TABLE IF EXISTS t;
	CREATE TABLE t (LIKE srcn);
	ALTER TABLE t DROP COLUMN rn;
	ALTER TABLE t ALTER COLUMN tsv SET COMPRESSION lz4;
	INSERT INTO t SELECT document_id, seq, content, heading, tokens, summary, embedding, byte_start,
		byte_end, line_start, line_end, page_start, page_end, tsv, lh FROM base;
	IF key <> 'none' AND cadence > 0 THEN
		EXECUTE format('CREATE INDEX t_gin ON t USING gin (%I)', col);
	END IF;
	COMMIT;
	WHILE i < n LOOP
		t0 := cpu();
		SET LOCAL gin_pending_list_limit = '16MB';
		SET LOCAL work_mem = '64MB';
		INSERT INTO t SELECT document_id, seq, content, heading, tokens, summary, embedding, byte_start,
			byte_end, line_start, line_end, page_start, page_end, tsv, lh FROM srcn WHERE rn > i AND rn <= i + 500;
		COMMIT;
		i := i + 500;
		since := since + 500;
		t1 := cpu();
		ins := ins + t1 - t0;
		IF key <> 'none' AND cadence > 0 AND (since >= cadence OR i >= n) THEN
			PERFORM gin_clean_pending_list('t_gin'::regclass);
			COMMIT;
			mrg := mrg + cpu() - t1;
			since := 0;
		END IF;
	END LOOP;
	IF key <> 'none' AND cadence = 0 THEN
		t0 := cpu();
		SET LOCAL maintenance_work_mem = '256MB';
		EXECUTE format('CREATE INDEX t_gin ON t USING gin (%I)', col);
		COMMIT;
		mrg := cpu() - t0;
	END IF;
	RAISE NOTICE '% chunks into %: CPU-s insert %, merge or build %, total %', n, (SELECT count(*) FROM base),
		round(ins::numeric, 2), round(mrg::numeric, 2), round((ins + mrg)::numeric, 2);
END \$\$;
SQL
echo "# $(date -u +%FT%TZ) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)${BASE:+; into the chunks of $BASE}"
for i in $(seq "$rounds"); do
	for v in $variants; do
		case $v in
		none) args="'none', 0" ;; gin4000) args="'tsv', 4000" ;; gin16000) args="'tsv', 16000" ;;
		ginend) args="'tsv', 1000000000" ;; build) args="'tsv', 0" ;;
		int4000) args="'int', 4000" ;; intbuild) args="'int', 0" ;;
		*) echo "unknown variant $v" >&2; exit 2 ;;
		esac
		printf '%-9s round %s: ' "$v" "$i"
		PGOPTIONS="-c docpipe.clk_tck=$(getconf CLK_TCK)" psql -X -q -d g -c "CALL run($args)" 2>&1 |
			sed -n 's/.*NOTICE: *\(.*CPU-s\)/\1/p'
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
