#!/bin/bash
# --threads auto's limiter (src/lib/limiter.c) in tests/unit/test_limiter.c's
# simulation, swept beyond the cases the tests assert: token buckets without
# x-ratelimit headers by rate (8-200/s) and burst (0.25-8 s), a stage's 64
# callers, ~26 s of work at the bucket's rate (429 share and time: one run at
# 20 ms, the mean and worst at 12 service times of 17-22.5 ms and with +-20%
# and +-50% of spread in the service time), the climb (auto against -j64 on
# 1, 4, 16, 64 free slots of 25 and 250 ms; also at 12 service times, with
# +-20% and +-50% of spread and lognormal service times of sigma 0.5, 12
# seeds each; and auto's queueing: its successes' mean time over the service
# time, which the delay gradient is there to bound), the storm (30% 429 + 5% 5xx, 1,000 seeds), walls behind light
# weather (a 1 s bucket at 25, 50, 200/s and 1-5% of 429s at random: time and
# the wall's share of 429s, 50 seeds) and light weather (1-12% of 429s or of
# 5xx at random, 16 slots: the median and worst of 50 seeds, as the ratio to
# the clean run) and tests/integration/api_storm.sh's light block (1-5% of
# 429s, 16 slots of 20 ms, 1,100 requests, 1,000 seeds: how many keep
# under 3 requests in flight over the second half and under a tenth of the
# clean run's, as the check fails, under a tenth, under a quarter).
# Deterministic; no server.  One seed of that block, the limiter's decisions
# (each loss and each change of level, pace, test, wall, weather):
#   build/release/tests/test_limiter --trace SEED
#   bench/limiter-sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s V=release build/release/tests/test_limiter
build/release/tests/test_limiter --sweep
