#!/usr/bin/env bash
# Runs a command (a bench run) as on a slower machine of this kind: the command's processes and
# every workerd they start are each held to SHARE percent of one core by a CFS quota in their own
# cgroup (cgroup v1 or v2; needs root and a writable cgroup filesystem). The load generator and
# workerd keep a core each, as on a 2-core machine, only slower.
#   SHARE=63 bench/slower-machine.sh npm run bench -- --only apikey-warm --no-readme --startups 0
# 63 % made the bare route answer 8,500–12,500 requests/s here instead of 16,000–20,000: about
# the 10,600 of the slower machine the performance issue was filed from.
set -euo pipefail
SHARE=${SHARE:-63}
PERIOD=10000
QUOTA=$((PERIOD * SHARE / 100))

if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  root=/sys/fs/cgroup
  grep -qw cpu "$root/cgroup.subtree_control" || echo +cpu > "$root/cgroup.subtree_control"
  limit() { mkdir -p "$root/$1" && echo "$QUOTA $PERIOD" > "$root/$1/cpu.max"; }
else
  root=/sys/fs/cgroup/cpu
  limit() {
    mkdir -p "$root/$1"
    echo "$PERIOD" > "$root/$1/cpu.cfs_period_us"
    echo "$QUOTA" > "$root/$1/cpu.cfs_quota_us"
  }
fi
limit bench-load
limit bench-workerd
echo $$ > "$root/bench-load/cgroup.procs"

# Whether a process was started by this script's command (not another session's workerd).
descends() {
  local pid=$1
  while [[ $pid -gt 1 ]]; do
    [[ $pid -eq $$ ]] && return 0
    pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 1)
  done
  return 1
}

# workerd processes start later (one per Miniflare instance): move each into its own group.
(
  while true; do
    for pid in $(pgrep -x workerd || true); do
      descends "$pid" || continue
      grep -q bench-workerd "/proc/$pid/cgroup" 2>/dev/null ||
        echo "$pid" > "$root/bench-workerd/cgroup.procs" 2>/dev/null || true
    done
    sleep 0.3
  done
) &
watcher=$!
trap 'kill $watcher 2>/dev/null || true' EXIT
"$@"
