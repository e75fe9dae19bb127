#!/usr/bin/env bash
# Tears down what node-up.sh and cluster-up.sh started, and only that: processes are found by the
# PID files the scripts wrote or by the binary path inside $TESTBED_BIN, never by name. Safe to run
# when nothing is up, and always run by the make targets that bring the test bed up.
set -uo pipefail
. "$(dirname "$0")/env.sh"
N=$TESTBED_DIR/node; RUN=$TESTBED_DIR/run
kubectl() { "$TESTBED_BIN/kubectl" --kubeconfig "$TESTBED_KUBECONFIG" "$@"; }
s=$(date +%s)

stop_pid() { # name: SIGTERM, wait up to 10 s, then SIGKILL
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$TESTBED_BIN/$1" ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

if [ -f "$RUN/kubelet.pid" ] && [ -f "$TESTBED_KUBECONFIG" ]; then
  # Let the kubelet tear its Pods down (network namespaces, mounts, cgroups) before it stops.
  timeout 60 "$TESTBED_BIN/kubectl" --kubeconfig "$TESTBED_KUBECONFIG" delete pods --all -A \
    --field-selector "spec.nodeName=$(hostname)" --grace-period=1 --wait=true >/dev/null 2>&1
fi
stop_pid kubelet
if [ -f "$RUN/containerd.pid" ]; then
  ctr=("$TESTBED_BIN/ctr" -a "$N/containerd/containerd.sock" -n k8s.io)
  for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks kill -s KILL "$t" >/dev/null 2>&1; done
fi
stop_pid containerd
# Shims outlive containerd by design; ours are recognised by their binary path and by the address
# of our containerd on their command line (another test bed's shims run the same cached binary).
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/exe" 2>/dev/null)" = "$TESTBED_BIN/containerd-shim-runc-v2" ] || continue
  tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$N/containerd/containerd.sock" && kill -9 "${p#/proc/}" 2>/dev/null
done
# Mounts under the state directory, deepest first.
grep -o " $TESTBED_DIR/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done
# Sandbox network namespaces (containerd names them cni-<uuid>) left by an unclean stop of our
# containerd, and our bridge. Only done when our containerd state exists: nothing else is touched.
if [ -d "$N/containerd" ]; then
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do ip netns delete "$ns" 2>/dev/null; done
fi
ip link delete kocbr0 2>/dev/null
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done
if [ -x "$TESTBED_BIN/kwokctl" ] && [ -d "$TESTBED_DIR/kwok/clusters/$TESTBED_CLUSTER" ]; then
  KWOK_WORKDIR=$TESTBED_DIR/kwok "$TESTBED_BIN/kwokctl" delete cluster --name "$TESTBED_CLUSTER" >/dev/null 2>&1
fi
# Paths the kubelet, containerd and CNI write outside the state directory.
find /var/log/containers /var/log/pods -maxdepth 1 -lname "$TESTBED_DIR/*" -delete 2>/dev/null
rm -f /var/lib/cni/results/kubeopencode-testbed-* 2>/dev/null
rm -rf "$TESTBED_DIR"
log "test bed down in $(( $(date +%s) - s ))s"
true
