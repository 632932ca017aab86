#!/usr/bin/env bash
# The side-by-side with PyTorch in one GPU run (issue 12): PyTorch eager (torch_side.py) and `npm run bench` with
# `--anchor` on the same GPU, one after the other, everything in one folder ready for docs/measurements/.
#
# Prepare on the machine without a GPU (from the project root; ../shared/WEBGPU-HERE.md §3):
#   bash ../shared/gpu/prepare-carry.sh && npx vite build --config vite.node.config.ts
#   mkdir -p .gpu && cp ../shared/gpu/torch_side.py .gpu/      # ../shared is not inside the tree
# then on the GPU machine, sending .gpu/ and dist-node/ along:
#   bash .gpu/on-gpu.sh bash scripts/gpu-bench.sh [FOLDER]
# FOLDER defaults to $OUT (or /tmp/out); the results land in FOLDER/bench-<date>-<gpu>/ and FOLDER/bench-<date>-<gpu>.tgz:
#   torch.json        torch_side.py's output (the anchor)
#   bench.json        the bench, with the ratios under `anchor` (…Ratio keys) and the adapter named
#   bench-anchor.md   the ratio table
#   gpu.txt, *.log    nvidia-smi's GPU and driver, each step's output
# Each step has its own time limit and a failure does not stop the rest (set +e). Environment: TORCH_PYTHON (default
# /opt/torch/.venv/bin/python), TORCH_SIDE (default: the first of .gpu/, shared/gpu/, ../shared/gpu/ torch_side.py).
set +e
base=${1:-${OUT:-/tmp/out}}
day=$(date -u +%F)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
dir="$base/bench-$day-${gpu:-unknown-gpu}"
mkdir -p "$dir"
step() {
  local name=$1 limit=$2
  shift 2
  echo "== $name: $* ($(date -u +%T))" | tee -a "$dir/steps.log"
  timeout "$limit" "$@" 2>&1 | tee "$dir/$name.log"
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
  echo "== torch: $python $side ($(date -u +%T))" | tee -a "$dir/steps.log"
  timeout 420 "$python" "$side" > "$dir/torch.json" 2> "$dir/torch.log"
  echo "== torch: exit $? ($(date -u +%T))" | tee -a "$dir/steps.log"
  # Only a complete JSON is an anchor; otherwise the bench runs alone.
  if [ -s "$dir/torch.json" ] && node -e "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))" "$dir/torch.json"; then
    anchor=(--anchor "$dir/torch.json")
  else
    echo "torch.json missing or not JSON: the bench runs without --anchor" | tee -a "$dir/steps.log"
  fi
else
  echo "no torch_side.py (TORCH_SIDE) or no python at $python: the bench runs without --anchor" | tee -a "$dir/steps.log"
fi

step bench 600 node dist-node/bench.mjs "${anchor[@]}" --out "$dir/bench.json"

tar czf "$dir.tgz" -C "$base" "$(basename "$dir")"
echo "results: $dir ($dir.tgz); copy the folder into docs/measurements/"
