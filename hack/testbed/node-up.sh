#!/usr/bin/env bash
# Joins a REAL node to the cluster from cluster-up.sh: containerd (built) + runc and CNI plugins
# (Debian packages) + kubelet (built). Pods scheduled here really run; images cannot be pulled, so
# the test images from images.sh are imported into containerd (use imagePullPolicy Never or
# IfNotPresent). Needs root. ~10 s.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ "$(id -u)" = 0 ] || die "the real node needs root (kubelet, containerd, CNI)"
[ -f "$TESTBED_KUBECONFIG" ] || die "no control plane; run hack/testbed/cluster-up.sh first"
"$TESTBED_HACK/install-deps.sh"
node=$(hostname)
getent hosts "$node" | grep -q '^127\.' ||
  log "WARNING: $node does not resolve to 127.x; the API server reaches the kubelet (logs, exec) by the node's address"
pki=$TESTBED_DIR/kwok/clusters/$TESTBED_CLUSTER/pki
N=$TESTBED_DIR/node; RUN=$TESTBED_DIR/run
mkdir -p "$N/containerd" "$N/cni/net.d" "$N/cni/data" "$N/kubelet/pki" "$N/podlogs" "$RUN"

# One bridge with host-local IPAM and no masquerade: Pods reach each other and this host, nothing
# leaves the machine.
cat > "$N/cni/net.d/10-bridge.conflist" <<EOC
{"cniVersion": "1.0.0", "name": "kubeopencode-testbed", "plugins": [
  {"type": "bridge", "bridge": "kocbr0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$N/cni/data", "ranges": [[{"subnet": "10.244.0.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOC

# restrict_oom_score_adj: this VM lacks CAP_SYS_RESOURCE, and runc fails every sandbox ("can't get
# final child's PID from pipe: EOF") when asked for a negative oom_score_adj.
cat > "$N/containerd/config.toml" <<EOC
version = 3
root = "$N/containerd/root"
state = "$N/containerd/state"
[grpc]
  address = "$N/containerd/containerd.sock"
[ttrpc]
  address = "$N/containerd/containerd.sock.ttrpc"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "example.local/pause:v1"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$N/cni/net.d"
EOC
log "starting containerd"
PATH=$TESTBED_BIN:$PATH nohup "$TESTBED_BIN/containerd" --config "$N/containerd/config.toml" >"$N/containerd.log" 2>&1 &
echo $! >"$RUN/containerd.pid"
for _ in $(seq 100); do [ -S "$N/containerd/containerd.sock" ] && break; sleep 0.1; done
[ -S "$N/containerd/containerd.sock" ] || die "containerd did not start; see $N/containerd.log"
for img in "$TESTBED_IMAGES"/*.tar; do
  "$TESTBED_BIN/ctr" -a "$N/containerd/containerd.sock" -n k8s.io images import "$img" >/dev/null ||
    die "importing $img failed"
done

# The kubelet authenticates as system:node:<hostname> with a certificate from the cluster CA.
openssl req -new -newkey rsa:2048 -nodes -keyout "$N/kubelet/pki/client.key" \
  -subj "/O=system:nodes/CN=system:node:$node" -out "$N/kubelet/pki/client.csr" 2>/dev/null
openssl x509 -req -in "$N/kubelet/pki/client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
  -CAserial "$N/kubelet/pki/ca.srl" -CAcreateserial -days 30 -out "$N/kubelet/pki/client.crt" 2>/dev/null
server=$(awk '/server:/{print $2; exit}' "$TESTBED_KUBECONFIG")
cat > "$N/kubelet/kubeconfig" <<EOC
apiVersion: v1
kind: Config
clusters: [{name: testbed, cluster: {server: "$server", certificate-authority: $pki/ca.crt}}]
users: [{name: kubelet, user: {client-certificate: $N/kubelet/pki/client.crt, client-key: $N/kubelet/pki/client.key}}]
contexts: [{name: testbed, context: {cluster: testbed, user: kubelet}}]
current-context: testbed
EOC
# failCgroupV1: false because the host is cgroup v1 (kubelet >= 1.35 refuses it otherwise); no
# systemd here, hence cgroupfs. seccompDefault stays false: Pods must ask for RuntimeDefault, which
# is exactly what our Pod Security checks demand of them.
cat > "$N/kubelet/config.yaml" <<EOC
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$N/containerd/containerd.sock
podLogsDir: $N/podlogs
address: 127.0.0.1
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $pki/ca.crt}}
authorization: {mode: Webhook}
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: "2%", imagefs.available: "2%", nodefs.inodesFree: "2%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
EOC
log "starting kubelet as node $node"
nohup "$TESTBED_BIN/kubelet" --config="$N/kubelet/config.yaml" --kubeconfig="$N/kubelet/kubeconfig" \
  --root-dir="$N/kubelet/root" --cert-dir="$N/kubelet/pki" --v=1 >"$N/kubelet.log" 2>&1 &
echo $! >"$RUN/kubelet.pid"
kubectl() { "$TESTBED_BIN/kubectl" --kubeconfig "$TESTBED_KUBECONFIG" "$@"; }
for _ in $(seq 120); do kubectl get node "$node" >/dev/null 2>&1 && break; sleep 0.5; done
kubectl wait --for=condition=Ready node/"$node" --timeout=120s >/dev/null ||
  die "node $node not Ready; see $N/kubelet.log"
log "real node $node Ready"
