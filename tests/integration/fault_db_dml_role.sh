#!/bin/bash
# A role that may use docpipe's schema but not create anything (a DBA's
# usual split: the owner made the schema and tables with a first run, the
# application's role got USAGE and SELECT/INSERT/UPDATE/DELETE).  Before:
# PostgreSQL checks the CREATE privilege of CREATE SCHEMA/TABLE ... IF NOT
# EXISTS before it looks whether the object exists, so every start was
# refused ("CREATE SCHEMA IF NOT EXISTS docpipe: permission denied for
# database ... run docpipe-store once as the owner", which had been done):
# docpipe run exited 2 at its claim, the store and the result cache too.
# Now each CREATE runs only when its object is missing (DP_DB_CREATE_MISSING,
# src/lib/db.h).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
fakeapi
unset OPENAI_API_KEY
D=$T_DIR/docs
numbered_docs "$D" 3 6 doc
ROLE=dml_$$_$RANDOM
OWNER_URL=$DATABASE_URL
at_exit "psql -X -q -c 'DROP OWNED BY $ROLE' >/dev/null 2>&1; psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $ROLE' >/dev/null 2>&1"

# The owner's first run and first summarize with the result cache make
# every table.
docpipe run "$D" --progress none >"$T_DIR/owner.json" 2>"$T_DIR/owner.err"
is "$?/$(jq -c '.added' "$T_DIR/owner.json")" 0/3 "the owner's run stores 3 documents"
printf '%s\n' '{"v":1,"kind":"document","path":"/x/a.md","chunks":[{"seq":0,"text":"The first text.","heading":["H"]}]}' \
	>"$T_DIR/a.ndjson"
docpipe-summarize --backend openai <"$T_DIR/a.ndjson" >/dev/null 2>"$T_DIR/owner-sum.err"
is "$?/$(sql 'SELECT count(*) FROM docpipe.summary_cache')" 0/1 "the owner's summarize keeps its answer"

psql -X -q -v ON_ERROR_STOP=1 <<SQL || exit 1
CREATE ROLE $ROLE LOGIN;
REVOKE CREATE, TEMPORARY ON DATABASE "$PGDATABASE" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA docpipe TO $ROLE;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA docpipe TO $ROLE;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA docpipe TO $ROLE;
SQL
is "$(sql "SELECT has_database_privilege('$ROLE', current_database(), 'CREATE') OR has_schema_privilege('$ROLE', 'docpipe', 'CREATE')")" \
	f "the role may create nothing"
export DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$ROLE"

# The role's run: one file new, one edited, one deleted.
printf '# New\n\nA new file.\n' >"$D/new.md"
printf '# Edited\n\nedited text\n' >"$D/doc1.md"
rm "$D/doc2.md"
# The server's log (tests/lib/pg.sh's cluster: its data directory's
# sibling "log"), for the refusals of merges only the index's owner may do.
PGLOG=$(dirname "$(DATABASE_URL=$OWNER_URL sql 'SHOW data_directory')")/log
refusals() { grep -c 'must be owner of index chunks_tsv' "$PGLOG" 2>/dev/null || true; }
refused0=$(refusals)
timeout 120 docpipe run "$D" --progress none >"$T_DIR/role.json" 2>"$T_DIR/role.err"
is "$?/$(jq -c '[.added, .updated, .deleted, .failed, .sweep]' "$T_DIR/role.json")" '0/[1,1,1,0,"done"]' \
	"the role's run: exit 0, added, updated, deleted, swept" || diag "$(cat "$T_DIR/role.err")"
is "$(DATABASE_URL=$OWNER_URL sql "SELECT string_agg(regexp_replace(path, '.*/', ''), ',' ORDER BY path) FROM docpipe.documents")" \
	"doc1.md,doc3.md,new.md" "the store holds the files that exist"
ok "$([ -f "$PGLOG" ]; echo $?)" "the server's log is there ($PGLOG)"
is "$(($(refusals) - refused0))" 0 "the role's store asks for no merge of the full-text index only its owner may do"
timeout 60 docpipe status >"$T_DIR/status.out" 2>&1
is "$?" 0 "docpipe status as the role" || diag "$(cat "$T_DIR/status.out")"
timeout 60 docpipe-query --mode text "edited" >"$T_DIR/query.out" 2>&1
is "$?/$(grep -c 'doc1\.md' "$T_DIR/query.out")" 0/1 "docpipe-query as the role" || diag "$(cat "$T_DIR/query.out")"

# summarize's result cache: the owner's answer reused, a new one kept.
printf '%s\n' '{"v":1,"kind":"document","path":"/x/b.md","chunks":[{"seq":0,"text":"Another text.","heading":["H"]}]}' \
	>>"$T_DIR/a.ndjson"
timeout 60 docpipe-summarize --backend openai <"$T_DIR/a.ndjson" >"$T_DIR/role-sum.out" 2>"$T_DIR/role-sum.err"
is "$?/$(api_requests chat)/$(DATABASE_URL=$OWNER_URL sql 'SELECT count(*) FROM docpipe.summary_cache')" 0/2/2 \
	"summarize as the role: one answer reused, one asked and kept" || diag "$(cat "$T_DIR/role-sum.err")"

# docpipe plan only reads the caches: SELECT on them is enough (it was
# refused for want of INSERT, as a stage that keeps what it paid for is).
API=(--opt summarize=--backend=openai --opt embed=--backend=openai --opt embed=--dim=16)
DATABASE_URL=$OWNER_URL sql "REVOKE INSERT, UPDATE, DELETE ON docpipe.summary_cache, docpipe.embedding_cache FROM $ROLE" || exit 1
api_reset
timeout 60 docpipe plan "$D" "${API[@]}" --json >"$T_DIR/plan.json" 2>"$T_DIR/plan.err"
is "$?/$(api_requests chat)" 0/0 "docpipe plan as a role that may only read the result cache: planned, nothing asked" ||
	diag "$(cat "$T_DIR/plan.err")"
timeout 60 docpipe-summarize --backend openai <"$T_DIR/a.ndjson" >/dev/null 2>"$T_DIR/role-sum.err"
is "$?/$(api_requests chat)" 2/0 "summarize as that role: exit 2, nothing asked (it could not keep what it pays for)"
like "$(cat "$T_DIR/role-sum.err")" "GRANT SELECT, INSERT, UPDATE, DELETE ON .*permission denied to INSERT on table docpipe.embedding_cache" \
	"... naming the privilege"

# The caches outside the role's grants (a GRANT ON ALL TABLES given before
# the caches were made): every lookup failed, said once, and each run paid
# the model API again for every unchanged file, exit 0 (fault sweep 14).
# Now a configuration error as the cache opens: exit 2, nothing asked.
DATABASE_URL=$OWNER_URL sql "REVOKE ALL ON docpipe.summary_cache, docpipe.embedding_cache FROM $ROLE" || exit 1
api_reset
timeout 60 docpipe-summarize --backend openai <"$T_DIR/a.ndjson" >"$T_DIR/role-sum.out" 2>"$T_DIR/role-sum.err"
is "$?/$(api_requests chat)" 2/0 "summarize as a role that may not use the result cache: exit 2, nothing asked"
like "$(cat "$T_DIR/role-sum.err")" "the result cache cannot be used, so every run would pay the model API again .*permission denied to SELECT on table docpipe.embedding_cache" \
	"... naming the cache and the privilege"
timeout 60 docpipe plan "$D" "${API[@]}" --json >/dev/null 2>"$T_DIR/plan.err"
is "$?" 2 "docpipe plan as a role that may not read the result cache: exit 2"
like "$(cat "$T_DIR/plan.err")" "GRANT SELECT ON docpipe.embedding_cache, docpipe.summary_cache to the role" "... naming the grant it needs"
done_testing
