#!/bin/bash
# Databases older docpipes made (tests/data/old-schema: pg_dumps of what
# those commits' binaries stored).  The readers say what is old and what
# brings it up to date (exit 1) instead of failing on a missing column; a
# current docpipe-store (or docpipe plan --run, docpipe-status
# --record-run: the writers of the outcome tables) brings it up to date in
# place, keeping what it holds; once more changes nothing.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
FIX=$TOP/tests/data/old-schema
# load NAME: a new database holding fixture NAME.
load() { newdb && psql -X -q -v ON_ERROR_STOP=1 -f "$FIX/$1.sql" >/dev/null; }
cols() { sql "SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute WHERE attrelid = 'docpipe.$1'::regclass AND attnum > 0 AND NOT attisdropped AND attname = ANY('{$2}')"; }
D=$T_DIR/docs
numbered_docs "$D" 1 5 new

# 0cd28be: chunks without provenance columns or full-text index.
load 0cd28be || exit 1
docpipe-query "cats and dogs" >"$T_DIR/q1" 2>"$T_DIR/e1"
is "$?" 1 "0cd28be: a hybrid query exits 1"
like "$(cat "$T_DIR/e1")" "made by an older docpipe \(docpipe.chunks lacks the provenance columns byte_start to page_end\); run docpipe-store \(or docpipe run\) once" \
	"and names the cause and the fix"
is "$(grep -c 'query failed' "$T_DIR/e1")/$(wc -c <"$T_DIR/q1")" 0/0 "no SQL error, no results"
docpipe-query --mode text cats 2>"$T_DIR/e2" >/dev/null
is "$?/$(grep -c 'older docpipe' "$T_DIR/e2")" 1/1 "--mode text: the same"
docpipe status --json >"$T_DIR/s1"
is "$?/$(jq -c '[.roots[0].documents, .failures_total]' "$T_DIR/s1")" "0/[2,0]" \
	"status reads it as it is (it reads no chunk column)"
docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null
is "$?" 0 "a current store on it exits 0"
is "$(cols chunks byte_start,byte_end,line_start,line_end,page_start,page_end,tsv)" \
	"byte_end,byte_start,line_end,line_start,page_end,page_start,tsv" "chunks: provenance columns and tsv added"
is "$(sql "SELECT count(*) FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path LIKE '/old/%'")" 3 \
	"the old chunks are kept"
docpipe-query --json "cats and dogs" >"$T_DIR/q2" 2>"$T_DIR/e3"
is "$?/$(head -1 "$T_DIR/q2" | jq -r .path)" "0//old/notes/a.md" "then a hybrid query finds an old chunk"
docpipe-query --json --mode text trains | head -1 | jq -r .path >"$T_DIR/q3"
is "$(cat "$T_DIR/q3")" /old/notes/b.md "and a text query (the old chunks were indexed in place)"

# 5f9ece0: outcomes in docpipe.outcomes, runs without planned.
load 5f9ece0 || exit 1
docpipe status >"$T_DIR/t1" 2>"$T_DIR/e4"
is "$?/$(wc -c <"$T_DIR/t1")" 1/0 "5f9ece0: status exits 1, prints nothing"
like "$(cat "$T_DIR/e4")" "older docpipe \(its failures are in docpipe.outcomes, not docpipe.failures; docpipe.runs has no column planned\); run docpipe-store" \
	"and names both causes and the fix"
docpipe status --json >/dev/null 2>&1
is "$?" 1 "status --json: the same"
is "$(docpipe-query --json cats 2>/dev/null | jq -r .path | sort -u | tr "\n" " ")" "/old/notes/a.md /old/notes/b.md " "query reads it (its chunks are current)"
docpipe-store -q </dev/null
is "$?" 0 "a store with no input brings it up to date"
is "$(sql "SELECT to_regclass('docpipe.outcomes') IS NULL")" t "docpipe.outcomes is gone"
is "$(sql "SELECT path, stage, error, run, to_char(failed_since AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM docpipe.failures")" \
	"/old/notes/bad.md|chunk|invalid UTF-8 at byte 4|old-run-1|02:16:23" "its failure is carried over with its time"
docpipe status --json >"$T_DIR/s2"
is "$?/$(jq -c '[.failures_total, .runs[0].id, .runs[0].added, .runs[0].failed]' "$T_DIR/s2")" '0/[1,"old-run-1",2,1]' \
	"status then shows the failure and the old run"
sql "SELECT column_default IS NULL AND is_nullable = 'YES' FROM information_schema.columns
	WHERE table_schema = 'docpipe' AND table_name = 'runs' AND column_name = 'started_at'" >"$T_DIR/c1"
is "$(cat "$T_DIR/c1")" t "runs.started_at: nullable, no default (a planned run has not started)"
docpipe plan "$D" --run planned-5 >/dev/null 2>&1
is "$?/$(docpipe status --json | jq -c '.runs[] | select(.id == "planned-5") | [.started_at, .planned_requests]')" \
	'0/[null,0]' "plan --run records a planned, unstarted run"

# 612a486 over 5f9ece0: stale outcomes beside failures, runs without
# planned, tombstones without stream.
load 612a486 || exit 1
docpipe status 2>&1 >/dev/null | grep -c 'older docpipe' >"$T_DIR/c2"
is "$(cat "$T_DIR/c2")" 1 "612a486: status says it is old"
docpipe plan "$D" --run planned-6 >/dev/null 2>"$T_DIR/e5"
is "$?" 0 "plan --run on it exits 0 (it brings the outcome tables up to date)"
docpipe status --json >"$T_DIR/s3"
is "$?/$(jq -c '[.failures[].path]' "$T_DIR/s3")" '0/["/old/notes/bad2.md"]' \
	"the stale outcome (bad.md, fixed since) is not carried over"
is "$(jq -c '[.runs[] | select(.planned_requests != null) | .id]' "$T_DIR/s3")" '["planned-6"]' "the plan is recorded"
is "$(sql "SELECT to_regclass('docpipe.outcomes') IS NULL")" t "docpipe.outcomes is gone"
docpipe-store -q </dev/null
is "$?/$(sql "SELECT path, run, stream, seq FROM docpipe.tombstones")" "0//old/notes/b.md|mid-run-3|mid-run-3|99" \
	"a store: the tombstone's run becomes its stream"
is "$(cols documents last_stream,last_seq,last_seen)" "last_seen,last_seq,last_stream" "documents: last_stream, last_seen added"
doc_record /old/notes/b.md h1 'an older version' | jq -c '.run = "mid-run-3" | .stream = "mid-run-3" | .seq = 50' |
	docpipe-store -q >"$T_DIR/r1"
is "$(jq -r .status "$T_DIR/r1")" skipped "an older version of the deleted path in that stream is refused"
printf '{"v":1,"kind":"delete","path":"/old/notes/a.md","stream":"w1","seq":3}\n' | docpipe-store -q >"$T_DIR/r2"
is "$?/$(sql "SELECT coalesce(run, 'null') || ' ' || stream FROM docpipe.tombstones WHERE path = '/old/notes/a.md'")" "0/null w1" \
	"a delete without a run leaves its tombstone (run no longer NOT NULL)"

# Once more: nothing to do, nothing changes.
sql "SELECT md5(string_agg(table_name || column_name || coalesce(column_default, '') || is_nullable, ',' ORDER BY table_name, column_name))
	FROM information_schema.columns WHERE table_schema = 'docpipe'" >"$T_DIR/before"
docpipe-store -q </dev/null && docpipe-status --record-run - <<<'{"v":1,"kind":"report","run":"r7"}'
is "$?" 0 "a store and a recorder on a current database exit 0"
sql "SELECT md5(string_agg(table_name || column_name || coalesce(column_default, '') || is_nullable, ',' ORDER BY table_name, column_name))
	FROM information_schema.columns WHERE table_schema = 'docpipe'" >"$T_DIR/after"
is "$(cat "$T_DIR/after")" "$(cat "$T_DIR/before")" "and change no column"

done_testing
