#!/bin/bash
# A document the database server dies on (a crash, the OOM killer: here a
# trigger that terminates its own backend when a chunk says POISON): the
# store reconnected and wrote the same batch again, for ever.  Now a write
# that loses the connection STORE_LOST_MAX times in a row with the database
# back each time fails: the batch is redone one document per transaction,
# the poisonous one fails alone (its receipt says why), the others are
# stored, and the store goes on.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

docpipe-store -q </dev/null
is "$?" 0 "schema made"
sql "CREATE FUNCTION public.poison() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.content LIKE '%POISON%' THEN
		PERFORM pg_terminate_backend(pg_backend_pid());
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER poison BEFORE INSERT ON docpipe.chunks FOR EACH ROW EXECUTE FUNCTION public.poison()" >/dev/null
doc() { printf '{"v":1,"kind":"document","path":"/d/%s.md","root":"/d","hash":"%s","chunker":"t","chunks":[{"seq":0,"text":"%s"}]}\n' "$1" "$1" "$2"; }
{ doc a "first words"; doc b "second words"; doc bad "a POISON chunk"; doc c "third words"; doc d "fourth words"; } >"$T_DIR/in"
timeout 60 docpipe-store <"$T_DIR/in" >"$T_DIR/receipts" 2>"$T_DIR/err"
is "$?" 1 "the store ends, one document failed (exit 1)"
is "$(jq -r 'select(.status == "stored") | .path' "$T_DIR/receipts" | sort | tr '\n' ' ')" \
	"/d/a.md /d/b.md /d/c.md /d/d.md " "the others stored"
like "$(jq -r 'select(.status == "failed") | [.path, .error] | @tsv' "$T_DIR/receipts")" \
	"^/d/bad.md	.*connection .*lost 3 times in a row" "the poisonous one fails alone, saying why"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 4 "four documents in the database"
is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE content LIKE '%POISON%'")" 0 "nothing of the poisonous one"
done_testing
