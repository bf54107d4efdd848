#!/usr/bin/env bash
# Battle at mlii/mfrl's setting (64 vs 64 on 40x40, 400 steps a round), self-play training of
# several runs in chunks of STEP rounds, round-robin, so that all runs stay at the same round count
# when time runs out. Resumable: finished chunks are skipped, an interrupted one is redone from the
# previous chunk's checkpoint.
#
#   scripts/battle-study.sh ROOT NET STEP MAX DEADLINE RUN...     RUN = algo:seed
#   e.g. scripts/battle-study.sh runs/study population 20 200 "$(date -d '+90 min' +%s)" mfq:1 il:1
#
# Each chunk is runs ROOT/<algo>-s<seed>/r<NNNN>/ (config.json, metrics.jsonl, rounds.jsonl and
# the checkpoint of round NNNN). No chunk starts after DEADLINE (seconds since the epoch).
set -euo pipefail
root=$1 net=$2 step=$3 max=$4 deadline=$5
shift 5
cd "$(dirname "$0")/.."
for ((target = step; target <= max; target += step)); do
  for run in "$@"; do
    algo=${run%%:*} seed=${run##*:}
    dir="$root/$algo-s$seed"
    chunk="$dir/r$(printf %04d "$target")"
    if [ -f "$chunk/checkpoints/latest.json" ] &&
      grep -Eq "\"round\": *$target[,}]" "$chunk/checkpoints/latest.json"; then
      continue
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "deadline: stopping before $algo seed $seed round $target"
      exit 0
    fi
    rm -rf "$chunk"
    mkdir -p "$dir"
    resume=()
    if [ "$target" -gt "$step" ]; then resume=(--resume "$dir/r$(printf %04d $((target - step)))"); fi
    echo "$(date +%T) $algo seed $seed -> round $target"
    pnpm --silent gibbs run battle-train --algo "$algo" --net "$net" --seed "$seed" \
      --rounds "$target" --steps $((target * 400)) --threads 1 --checkpointEvery "$step" \
      --keepCheckpoints 1 --out "$chunk" "${resume[@]}" >"$chunk.log" 2>&1 ||
      { echo "failed: see $chunk.log"; exit 1; }
  done
done
