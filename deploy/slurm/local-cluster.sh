#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on localhost, for trying deploy/slurm/ and for the
# test that submits the demo as an array job (tests/cli/slurm.rs). Everything lives in
# DIR: a munge key and daemon, slurm.conf, state, logs. Needs Debian's slurmctld, slurmd,
# slurm-client and munge packages and root (the daemons run as root here; never on a
# real cluster).
#
#   deploy/slurm/local-cluster.sh start DIR [CPUS]   # prints `export SLURM_CONF=...`
#   deploy/slurm/local-cluster.sh stop DIR
#
# The node offers CPUS task slots (default 4), the feature `xavier-nx` and CPUS
# count-only `gpu` generic resources, so validate.sbatch's `--constraint=xavier-nx` and
# `--gres=gpu:1` are honoured as on a farm.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [CPUS]" >&2; exit 2; }

stop() {
  for p in slurmd slurmctld munged; do
    if [ -f "$dir/$p.pid" ]; then
      kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
      rm -f "$dir/$p.pid"
    fi
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR [CPUS]" >&2; exit 2; }

cpus="${3:-4}"
for b in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$b" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
  command -v "$b" >/dev/null 2>&1 || { echo "missing $b: install slurmctld slurmd slurm-client munge" >&2; exit 4; }
done
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
chmod 0755 "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
host="$(hostname -s)"
# Ports: free ones in 20000-29999 chosen from this directory's name, so two clusters
# started side by side do not collide.
base=$(( 20000 + $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 9000 ))
ctld_port=$base
slurmd_port=$(( base + 1 ))

dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
chmod 0400 "$dir/munge.key"
munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
  --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munged.seed"

cat > "$dir/slurm.conf" <<CONF
ClusterName=adasval-local
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
GresTypes=gpu
SchedulerParameters=sched_interval=1
MinJobAge=300
NodeName=$host CPUs=$cpus Feature=xavier-nx Gres=gpu:$cpus State=UNKNOWN
PartitionName=farm Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
# Stand-in GPU devices: character devices (the same device as /dev/null) that slurmd
# hands to jobs by CUDA_VISIBLE_DEVICES, one per slot.
mkdir -p "$dir/dev"
last=$(( cpus - 1 ))
for i in $(seq 0 "$last"); do
  [ -e "$dir/dev/gpu$i" ] || mknod "$dir/dev/gpu$i" c 1 3 \
    || { echo "cannot create stand-in GPU devices (mknod) in $dir/dev" >&2; exit 4; }
done
cat > "$dir/gres.conf" <<CONF
NodeName=$host Name=gpu File=$dir/dev/gpu[0-$last]
CONF

export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"
# Ready when the node answers idle.
for _ in $(seq 1 60); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
echo "the local cluster did not come up; logs in $dir/log" >&2
sinfo -N -l >&2 || true
exit 4
