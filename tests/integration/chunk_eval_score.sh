#!/bin/bash
# The chunk-quality benchmark's scoring (bench/chunk-quality/score.mjs) on
# a hand-computed example.
. "$(dirname "$0")/../lib/tap.sh"

if ! command -v node >/dev/null; then
	skip "node is not installed"
	done_testing
fi
# References [10,20) and [15,30) = 20 bytes [10,30).  Retrieved [0,12) and
# [8,25): union [0,25), 15 bytes of it in the references; 12 + 17 = 29 bytes
# retrieved.  recall 15/20, precision 15/29, IoU 15/(29 + 20 - 15) = 15/34.
got=$(cd "$TOP/bench/chunk-quality" && node --input-type=module -e '
import { score, tokens } from "./score.mjs";
const s = score([[0, 12], [8, 25]], [[10, 20], [15, 30]]);
const none = score([[40, 50]], [[10, 20]]);
console.log([s.recall, s.precision, s.iou, none.recall, none.iou, tokens("abcde é")].map((x) => +x.toFixed(6)).join(" "));
')
is "$got" "0.75 0.517241 0.441176 0 0 3" "recall, precision, IoU on byte ranges; token estimate"
done_testing
