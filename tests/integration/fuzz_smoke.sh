#!/bin/bash
# A short libFuzzer run of each parser target (the chunker; the record
# reader every stage runs on its input), so `make check` fuzzes the parsers
# on every change.  Longer runs: tests/fuzz/run-fuzz.sh TARGET SECONDS.
# The targets carry their own ASan+UBSan, so this runs in the release pass.
source "$(dirname "$0")/../lib/tap.sh"
if [ "${DOCPIPE_VARIANT:-release}" != release ]; then
	skip "fuzz targets are sanitized builds of their own; run once, in the release pass"
	done_testing
fi
if ! command -v clang >/dev/null; then
	skip "clang is not installed"
	done_testing
fi
rm -f "$TOP"/build/fuzz/crash-* "$TOP"/build/fuzz/leak-* "$TOP"/build/fuzz/timeout-*
# fuzz TARGET...: builds and runs each in turn; its status in T_DIR/TARGET.rc.
fuzz() {
	local target
	for target; do
		"$TOP/tests/fuzz/run-fuzz.sh" "$target" "${FUZZ_SECONDS:-5}" >"$T_DIR/$target.log" 2>&1
		echo $? >"$T_DIR/$target.rc"
	done
}
# Two at a time (each run is one process, its build mostly one compiler:
# one after another they left a core idle for a minute of make check).
# The targets that share the chunk archive, which run-fuzz.sh builds when
# it is missing or old, run one after another.  Each still fuzzes for its
# FUZZ_SECONDS; a crash's file names its input (crash-<sha1>).
# The chunk targets' poppler SONAME (run-fuzz.sh), read once.
POPPLER_SONAME=$(make -s --no-print-directory -C "$TOP" poppler-soname) && export POPPLER_SONAME
fuzz chunk html zip ipynb &
fuzz record http lexer join answer
wait
for target in chunk record html zip ipynb http lexer join answer; do
	rc=$(cat "$T_DIR/$target.rc" 2>/dev/null || echo 1)
	ok $rc "fuzz $target: no crash or undefined behaviour in ${FUZZ_SECONDS:-5} s ($(grep -oE 'Done [0-9]+ runs' "$T_DIR/$target.log"))"
	[ $rc -eq 0 ] || tail -30 "$T_DIR/$target.log" | sed 's/^/# /'
done
done_testing
