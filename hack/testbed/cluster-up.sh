#!/usr/bin/env bash
# Starts the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and the
# kwok controller with `kwokctl --runtime binary`, from the binaries build.sh made, then registers the
# kwok fake node. Everything listens on 127.0.0.1. Writes $TESTBED_DIR/kubeconfig. ~5 s.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ -x "$TESTBED_BIN/kwokctl" ] || die "no kwokctl in $TESTBED_BIN; run \`make testbin\` first"
export KWOK_WORKDIR=$TESTBED_DIR/kwok KWOK_KUBE_VERSION=$KUBERNETES_VERSION KWOK_RUNTIME=binary
export KWOK_KUBECTL_BINARY=$TESTBED_BIN/kubectl
pki=$KWOK_WORKDIR/clusters/$TESTBED_CLUSTER/pki
mkdir -p "$TESTBED_DIR/cfg"
if [ -f "$TESTBED_KUBECONFIG" ]; then
  die "a test bed already runs here ($TESTBED_KUBECONFIG); run hack/testbed/down.sh first"
fi

# kwokctl's binary runtime makes kwok manage every node; restrict it to the annotated fake node so
# the real kubelet node is left alone. The API server needs a client certificate for the kubelet
# (logs, exec) and, when asked, an audit policy (TESTBED_AUDIT_POLICY) for the RBAC proof.
cat > "$TESTBED_DIR/cfg/kwokctl.yaml" <<EOC
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
componentsPatches:
- name: kwok-controller
  extraArgs:
  - {key: manage-all-nodes, value: "false", override: true}
  - {key: manage-nodes-with-annotation-selector, value: "kwok.x-k8s.io/node=fake"}
- name: kube-apiserver
  extraArgs:
  - {key: kubelet-client-certificate, value: $pki/admin.crt}
  - {key: kubelet-client-key, value: $pki/admin.key}
EOC
if [ -n "${TESTBED_ETCD_QUOTA_BYTES:-}" ]; then
  # A larger etcd backend for load scenarios that store gigabytes (make bench -max-size-n).
  cat >> "$TESTBED_DIR/cfg/kwokctl.yaml" <<EOC
- name: etcd
  extraArgs:
  - {key: quota-backend-bytes, value: "$TESTBED_ETCD_QUOTA_BYTES", override: true}
EOC
fi
audit=()
if [ -n "${TESTBED_AUDIT_POLICY:-}" ]; then
  audit=(--kube-audit-policy "$TESTBED_AUDIT_POLICY")
fi
log "starting control plane ($KUBERNETES_VERSION) and kwok"
s=$(date +%s)
"$TESTBED_BIN/kwokctl" create cluster --name "$TESTBED_CLUSTER" --kubeconfig "$TESTBED_KUBECONFIG.tmp" \
  --etcd-binary "$TESTBED_BIN/etcd" --kube-apiserver-binary "$TESTBED_BIN/kube-apiserver" \
  --kube-controller-manager-binary "$TESTBED_BIN/kube-controller-manager" \
  --kube-scheduler-binary "$TESTBED_BIN/kube-scheduler" --kwok-controller-binary "$TESTBED_BIN/kwok" \
  --config "$TESTBED_HACK/cfg/kwok-default-stages.yaml" --config "$TESTBED_HACK/cfg/kwok-exit-stage.yaml" \
  --config "$TESTBED_DIR/cfg/kwokctl.yaml" "${audit[@]}" --wait 2m >&2
mv "$TESTBED_KUBECONFIG.tmp" "$TESTBED_KUBECONFIG"
kubectl() { "$TESTBED_BIN/kubectl" --kubeconfig "$TESTBED_KUBECONFIG" "$@"; }
kubectl apply -f "$TESTBED_HACK/cfg/kwok-fake-node.yaml" >/dev/null
# The default ServiceAccount appears once kube-controller-manager runs: the cluster is usable then.
for _ in $(seq 300); do kubectl get serviceaccount default >/dev/null 2>&1 && break; sleep 0.2; done
kubectl get serviceaccount default >/dev/null || die "control plane did not become ready"
kubectl wait --for=condition=Ready node/kwok-node-0 --timeout=60s >/dev/null
log "control plane up in $(( $(date +%s) - s ))s; KUBECONFIG=$TESTBED_KUBECONFIG"
