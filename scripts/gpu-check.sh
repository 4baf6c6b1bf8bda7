#!/usr/bin/env bash
# One run on a lent GPU machine: the CUDA tests and the GPU benchmarks, every result under $OUT.
#
# The machine has its own python3 with torch and no network; the few packages it lacks travel as
# wheels in .whl/ (see docs/performance.md ▸ GPU for how they are fetched). Each benchmark has its own
# time limit so that one slow configuration cannot eat the whole lease; a rerun is this one command.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
log="$OUT/gpu-check.log"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
DEVICE=${DEVICE:-cuda}
LIMIT=${LIMIT:-120}
FRAMES=${FRAMES:-200}
STEPS=${STEPS:-20}

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

step() {  # step NAME SECONDS COMMAND...: run with a limit, log its output and exit status
    local name=$1 seconds=$2
    shift 2
    local start=$SECONDS
    echo "=== $name" >>"$log"
    timeout "$seconds" "$@" >>"$log" 2>&1
    local rc=$?
    echo "=== $name rc=$rc $((SECONDS - start)) s" | tee -a "$log"
}

bench() {  # bench NAME ARGS...: one benchmark with its JSON under $OUT
    local name=$1
    shift
    step "$name" "$LIMIT" python3 -m dawn_studio bench --device "$DEVICE" --json "$OUT/$name.json" "$@"
}

[ -n "${SKIP_TESTS:-}" ] || step cuda-tests 180 python3 -m pytest -q -p no:cacheprovider -k cuda \
    tests/networks/test_pbnet.py tests/networks/test_lfg_networks.py tests/networks/test_lfg_rendering.py \
    tests/stages/test_audio_features.py ${EXTRA_TESTS:-}

for run in ${BENCHES:-128-f32 128-bf16 128-f16 256-f32 256-bf16 256-1500}; do
    case $run in
        128-f32) bench "$run" --frames "$FRAMES" --steps "$STEPS" --baseline ;;
        128-bf16) bench "$run" --frames "$FRAMES" --steps "$STEPS" --precision bfloat16 --compare-float32 ;;
        128-f16) bench "$run" --frames "$FRAMES" --steps "$STEPS" --precision float16 --compare-float32 ;;
        256-f32) bench "$run" --resolution 256 --frames "$FRAMES" --steps "$STEPS" ;;
        256-bf16) bench "$run" --resolution 256 --frames "$FRAMES" --steps "$STEPS" --precision bfloat16 --compare-float32 ;;
        256-1500) bench "$run" --resolution 256 --frames "$((FRAMES * 15 / 2))" --steps "$STEPS" --precision bfloat16 --memory-cap 24 ;;
        enhance-128) bench "$run" --frames "$FRAMES" --steps "$STEPS" --enhance ;;
        enhance-256) bench "$run" --resolution 256 --frames "$FRAMES" --steps "$STEPS" --enhance ;;
        enhancer-speed) step "$run" "$LIMIT" python3 scripts/enhancer_speed.py --device "$DEVICE" --frames "$FRAMES" \
            --json "$OUT/$run.json" ;;
        *) echo "unknown benchmark $run" | tee -a "$log" ;;
    esac
done
tail -c 11000 "$log"
