#!/usr/bin/env bash
# Queue a farm validation on Slurm: N shards as one array job (validate.sbatch, one shard
# per task) and the merge (merge.sbatch) after every task has ended. Prints the two job
# ids. Run from the project root (the jobs start there).
#
#   deploy/slurm/submit.sh N FARM_DIR [extra sbatch flags for the array, e.g. --constraint=orin-agx]
set -euo pipefail
n="${1:?usage: submit.sh N FARM_DIR [sbatch flags]}"
farm="${2:?usage: submit.sh N FARM_DIR [sbatch flags]}"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$farm/logs"
farm="$(cd "$farm" && pwd)"
array=$(sbatch --parsable --array="1-$n" --chdir="$PWD" \
  --output="$farm/logs/shard-%A_%a.out" \
  --export="ALL,SHARDS=$n,FARM_DIR=$farm" "$@" "$here/validate.sbatch")
array="${array%%;*}"
merge=$(sbatch --parsable --dependency="afterany:$array" --chdir="$PWD" \
  --output="$farm/logs/merge-%j.out" \
  --export="ALL,FARM_DIR=$farm" "$here/merge.sbatch")
echo "$array ${merge%%;*}"
