#!/usr/bin/env bash
# Issue 13's GPU runs: P1's claims over five seeds (main), the review-style stopping task (review) and three TLDR
# recipes (steps, lambda, group), each with its report. Prepare on the machine without a GPU (from the project root):
#   bash ../shared/gpu/prepare-carry.sh && npx vite build --config vite.node.config.ts
# then run on the lent GPU, sending .gpu/ and dist-node/ along, one part per 15-minute slot:
#   bash .gpu/on-gpu.sh bash scripts/gpu-efficient-reasoners.sh main      # or: review, steps, lambda, group
# (On the H200 one seed of the chain took 75–92 s at 256 problems; main runs five at 512.) Each step has its own
# time limit and a failure does not stop the rest; everything lands in one tarball under $OUT.
set +e
part=${1:-main}
out=${OUT:-/tmp/out}
log=docs/measurements/gpu-efficient-reasoners-$part.log
mkdir -p docs/measurements "$out"
run() {
  local limit=$1
  shift
  echo "== $* ($(date -u +%T))" | tee -a "$log"
  timeout "$limit" node "$@" 2>&1 | grep -v '^Warning:' | tee -a "$log"
}
experiment() { run "$2" dist-node/experiment.mjs "experiments/$1.json"; }
report() {
  ls "docs/measurements/$1"/seed-*.stoptime.json >/dev/null 2>&1 &&
    run 120 dist-node/report.mjs "docs/measurements/$1"/seed-*.stoptime.json --out "docs/measurements/$1/report"
}
case $part in
  main) experiment reproduce-efficient-reasoners 660 && report efficient-reasoners-h200 ;;
  review) experiment stopping-arithmetic-review 660 && report stopping-arithmetic-review-h200 ;;
  steps | lambda | group) experiment "tldr-recipe-$part" 660 && report "tldr-recipe-$part-h200" ;;
  *) echo "usage: $0 main|review|steps|lambda|group" >&2; exit 2 ;;
esac
tar czf "$out/efficient-reasoners-$part.tgz" docs/measurements
