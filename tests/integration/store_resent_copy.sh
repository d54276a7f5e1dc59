#!/bin/bash
# docpipe-store: a copy of a record the store already wrote (a store
# replica committed it, then died before its receipt left; the hub re-sent
# the record to another replica) has that write's outcome, "stored" and
# whether it created the row, not "unchanged": a first run over an empty
# database reported "2996 added, 4 unchanged" under kill -9 of store
# replicas (fault sweep 26).  A copy of a record found unchanged stays
# unchanged; so does a later record of the stream with the same bytes
# (a file touched), and one without stream or seq.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
GEN="python3 $TOP/bench/store-gen.py"
cd "$T_DIR"
# record DOC VERSION SEQ [STREAM]: one document record of run r1.
record() { $GEN --docs 1 --chunks 2 --start "$1" --version "$2" --run r1 | jq -c ".seq = $3 | .stream = \"${4:-s1}\""; }
receipt() { docpipe-store -q | jq -c '[.status, .created]'; }

record 0 1 5 >a
is "$(receipt <a)" '["stored",true]' "a new document: stored, created"
is "$(receipt <a)" '["stored",true]' "the same record again (a re-sent copy): stored, created, as its first write"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 2 "its chunks once"
record 0 2 6 >b
is "$(receipt <b)" '["stored",false]' "a changed version: stored, not created"
is "$(receipt <b)" '["stored",false]' "its re-sent copy: the same"
record 0 2 7 >c
is "$(receipt <c)" '["unchanged",null]' "a later record of the stream, same bytes (a touch): unchanged"
is "$(receipt <c)" '["unchanged",null]' "its re-sent copy: unchanged"
record 0 2 8 s2 >d
is "$(receipt <d)" '["unchanged",null]' "another stream, same bytes: unchanged"
jq -c 'del(.stream, .seq)' b >e
is "$(receipt <e)" '["unchanged",null]' "no stream or seq: unchanged"
is "$(sql 'SELECT count(*) FROM docpipe.chunks')" 2 "the chunks once throughout"
done_testing
