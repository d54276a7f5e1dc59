#!/bin/bash
# The store's text pass (store_doc_parse_text) fuzzed against the whole
# parse it stands for (tests/fuzz/fuzz_store.c): every input of the corpus
# kept in tests/fuzz/corpus-store (the records of test_store_text, odd
# vectors, keys, nesting, truncations, and what session 55's campaign
# kept) replayed, then a short libFuzzer run.  Longer runs:
# tests/fuzz/run-fuzz.sh store SECONDS.  The target carries its own
# ASan+UBSan, so this runs in the release pass.
source "$(dirname "$0")/../lib/tap.sh"
unsanitized_only "the fuzz target is a sanitized build of its own"
# No database here: once, not again on the pgvector server (two at once
# would build the one target binary over each other).
if [ -n "${DOCPIPE_TEST_PGVECTOR:-}" ]; then
	skip "no database in this test; run once, on the first server"
	done_testing
fi
if ! command -v clang >/dev/null; then
	skip "clang is not installed"
	done_testing
fi
n=$(ls "$TOP/tests/fuzz/corpus-store" | wc -l)
"$TOP/tests/fuzz/run-fuzz.sh" store replay >"$T_DIR/replay.log" 2>&1
rc=$?
ok $rc "the text pass on the $n inputs of the corpus: each declined untouched, or the whole parse's item ($(grep -oE 'Done [0-9]+ runs' "$T_DIR/replay.log"))"
[ $rc -eq 0 ] || tail -30 "$T_DIR/replay.log" | sed 's/^/# /'
"$TOP/tests/fuzz/run-fuzz.sh" store "${FUZZ_SECONDS:-5}" >"$T_DIR/fuzz.log" 2>&1
rc=$?
ok $rc "fuzz store: no difference, crash or undefined behaviour in ${FUZZ_SECONDS:-5} s ($(grep -oE 'Done [0-9]+ runs' "$T_DIR/fuzz.log"))"
[ $rc -eq 0 ] || tail -30 "$T_DIR/fuzz.log" | sed 's/^/# /'
done_testing
