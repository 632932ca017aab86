#!/usr/bin/env bash
# Issue 12's measurements in one GPU run: PyTorch eager (torch_side.py) and `npm run bench` with `--anchor` on the same
# GPU, then the lab's suites (`bench suites`) and one seed of the paper-scale Sokoban matrix, everything in one folder
# ready for docs/measurements/.
#
# Prepare on the machine without a GPU (from the project root; ../shared/WEBGPU-HERE.md §3):
#   bash ../shared/gpu/prepare-carry.sh && npx vite build --config vite.node.config.ts
#   mkdir -p .gpu && cp ../shared/gpu/torch_side.py .gpu/      # ../shared is not inside the tree
# then on the GPU machine, sending .gpu/ and dist-node/ along:
#   bash .gpu/on-gpu.sh bash scripts/gpu-bench.sh [FOLDER]
# FOLDER defaults to $OUT (or /tmp/out); the results land in FOLDER/bench-<date>-<gpu>/ and FOLDER/bench-<date>-<gpu>.tgz:
#   torch.json        torch_side.py's output (the anchor)
#   bench.json        the bench, with the ratios under `anchor` (…Ratio keys) and the adapter named; per preset also
#                     the decode step's per-kernel profile (decodeProfileMs) and each decode-shape Linear timed with the
#                     tiled kernel and with matmul_rows.wgsl (decodeMatmuls)
#   bench-anchor.md   the ratio table
#   suites.json       the paper-scale Sokoban suite set (fresh `medium` weights, 32 episodes a suite): together at 256
#                     decoder rows, one suite per call at 256, together at 32 (target: ≤ 15 s); written after each
#   experiment/       seed 1 of experiments/generalization-sokoban.json (five methods, SFT and suites; target: ≤ 5 min),
#                     if time is left; its log says how far it got
#   gpu.txt, *.log    nvidia-smi's GPU and driver, each step's output; steps.log: when each step started and ended
# The steps run in that order under one deadline, GPU_BUDGET_S seconds from the start (default 560: a device command
# may run 600 s); each also has its own limit, cut to what is left, and a step with under 30 s left is skipped. A
# failure does not stop the rest (set +e). Environment: TORCH_PYTHON (default /opt/torch/.venv/bin/python), TORCH_SIDE
# (default: the first of .gpu/, shared/gpu/, ../shared/gpu/ torch_side.py), GPU_BUDGET_S.
set +e
base=${1:-${OUT:-/tmp/out}}
day=$(date -u +%F)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
dir="$base/bench-$day-${gpu:-unknown-gpu}"
mkdir -p "$dir"
budget=${GPU_BUDGET_S:-560}
start=$(date +%s)
left() { echo $((budget - ($(date +%s) - start))); }
# limit NAME SECONDS: prints the step's limit (SECONDS, cut to what is left), or nothing when under 30 s are left.
limit() {
  local l
  l=$(left)
  if [ "$l" -lt 30 ]; then
    echo "== $1: skipped, ${l} s of the budget left ($(date -u +%T))" | tee -a "$dir/steps.log" >&2
    return 1
  fi
  [ "$2" -lt "$l" ] && l=$2
  echo "$l"
}
step() {
  local name=$1 want=$2 l
  shift 2
  l=$(limit "$name" "$want") || return 1
  echo "== $name: $* (limit ${l} s, $(date -u +%T))" | tee -a "$dir/steps.log"
  timeout "$l" "$@" 2>&1 | tee "$dir/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc ($(date -u +%T))" | tee -a "$dir/steps.log"
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$dir/gpu.txt" 2>&1

if [ ! -f dist-node/bench.mjs ]; then
  step build 300 npx vite build --config vite.node.config.ts --logLevel warn
fi

python=${TORCH_PYTHON:-/opt/torch/.venv/bin/python}
side=${TORCH_SIDE:-}
if [ -z "$side" ]; then
  for f in .gpu/torch_side.py shared/gpu/torch_side.py ../shared/gpu/torch_side.py; do
    if [ -f "$f" ]; then side=$f; break; fi
  done
fi
anchor=()
if [ -n "$side" ] && [ -x "$python" ]; then
  cp "$side" "$dir/torch_side.py"
  if l=$(limit torch 240); then
    echo "== torch: $python $side (limit ${l} s, $(date -u +%T))" | tee -a "$dir/steps.log"
    timeout "$l" "$python" "$side" > "$dir/torch.json" 2> "$dir/torch.log"
    echo "== torch: exit $? ($(date -u +%T))" | tee -a "$dir/steps.log"
  fi
  # Only a complete JSON is an anchor; otherwise the bench runs alone.
  if [ -s "$dir/torch.json" ] && node -e "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))" "$dir/torch.json"; then
    anchor=(--anchor "$dir/torch.json")
  else
    echo "torch.json missing or not JSON: the bench runs without --anchor" | tee -a "$dir/steps.log"
  fi
else
  echo "no torch_side.py (TORCH_SIDE) or no python at $python: the bench runs without --anchor" | tee -a "$dir/steps.log"
fi

step bench 300 node dist-node/bench.mjs "${anchor[@]}" --out "$dir/bench.json"
step suites 200 node dist-node/bench.mjs suites --rows 256,32 --apart --out "$dir/suites.json"
step experiment 600 node dist-node/experiment.mjs experiments/generalization-sokoban.json --seeds 1 --suite-rows 256 \
  --out-dir "$dir/experiment"

tar czf "$dir.tgz" -C "$base" "$(basename "$dir")"
echo "results: $dir ($dir.tgz); copy the folder into docs/measurements/ (experiment/: keep the logs and matrix, strip weights from run files)"
