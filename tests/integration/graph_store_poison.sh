#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A document that kills the store every time it is written (a bug, or the
# OOM killer on its huge vectors) fails by name and the run goes on
# (docpipe(1), poison documents; src/lib/crash.h): the store journals the
# batch it writes; a crash death with several documents in progress lists
# them as suspects, each written alone by the next store, so that the next
# death names exactly one document, listed as crashed and failed unread.
# Before, the hub re-sent the batch to each restarted store, which died
# again, until the restart limit stopped the run (status 3) naming no
# document, every document not yet stored left undone.
# 20 Markdown files and two poison ones: the store dies of SIGSEGV writing
# one (DOCPIPE_TEST_STORE_SEGV_SIZE: its size), SIGKILL writing the other
# (DOCPIPE_TEST_STORE_KILL_SIZE).
. "$(dirname "$0")/../lib/tap.sh"

cd "$T_DIR" || exit 1
numbered_docs docs 20 40 note
want=$(plain_fingerprint docs)
ok $? "plain pipeline over the 20 Markdown files"
# poison NAME BYTES: a Markdown file of exactly BYTES bytes.
poison() { python3 -c 'import sys; n = int(sys.argv[2]); t = "# %s\n\n" % sys.argv[1]
open("docs/%s.md" % sys.argv[1], "w").write(t + "x" * (n - len(t) - 1) + "\n")' "$1" "$2"; }
poison note7-poison-segv 1111
poison note13-poison-kill 1222

newdb || exit 1
start=$SECONDS
DOCPIPE_TEST_STORE_SEGV_SIZE=1111 DOCPIPE_TEST_STORE_KILL_SIZE=1222 \
	timeout 100 docpipe run docs --progress none >report 2>err
rc=$?
diag "the run took $((SECONDS - start)) s"
is "$rc" 1 "two poison documents: the run ends with status 1 (documents failed), not stopped"
# A document whose receipt a death lost after its commit is re-sent and
# found unchanged: stored once, counted so (the store flushes its receipts
# before it writes a suspect alone, so this is rare).
diag "report: $(jq -c '{added, unchanged, failed}' report)"
is "$(jq -r '[.complete, .added + .unchanged, .updated, .failed] | @tsv' report)" "$(printf 'true\t20\t0\t2')" \
	"the 20 others stored (none twice), the 2 poison ones failed"
is "$(jq -r '.failures[] | .path | sub(".*/"; "")' report | sort | tr '\n' ' ')" \
	"note13-poison-kill.md note7-poison-segv.md " "each poison document failed by name"
like "$(jq -r '.failures[] | select(.path | test("-segv")) | .error' report)" \
	"a replica of this stage died of SIGSEGV processing this document" "the crashing one with the signal as reason"
like "$(jq -r '.failures[] | select(.path | test("-kill")) | .error' report)" \
	"killed by SIGKILL twice while processing this document" "the killed one with 'killed by SIGKILL twice'"
ok "$(grep -qE 'exited 5 times|stopping the run' err && echo 1 || echo 0)" "no restart limit, no stop"
is "$(sql "SELECT string_agg(regexp_replace(path, '.*/', '') || ':' || stage, ' ' ORDER BY path)
	FROM docpipe.failures")" "note13-poison-kill.md:store note7-poison-segv.md:store" \
	"the failures are recorded for docpipe status, by the store"
is "$(fingerprint "d.path NOT LIKE '%-poison-%'")" "$want" \
	"the others are stored as a plain pipeline stores them: each once, whole"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' err | tail -40
done_testing
