#!/usr/bin/env bash
# `make chaos`: the fault run on its own kwok-only test bed (no real node, no root-only parts).
# Brings up a control plane + kwok fake node in $TESTBED_DIR (default .testbed-chaos, cluster
# kocchaos), installs operator/config (namespace, CRDs, generated RBAC, admission policy) as
# hack/run.sh does, runs the chaos harness (which removes any admission policy guarding the
# finalizer: the operator must hold without it) and ALWAYS tears the test bed down. Extra
# arguments go to the harness (e.g. -n 100 -n2 50). Results: results/chaos.json (git-ignored).
# Exit status: the harness's (1: an invariant failed or a phase did not converge).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
export TESTBED_DIR=${TESTBED_DIR:-$REPO/.testbed-chaos} TESTBED_CLUSTER=${TESTBED_CLUSTER:-kocchaos}
. "$REPO/hack/testbed/env.sh"
cd "$REPO"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
kubectl() { "$TESTBED_BIN/kubectl" --kubeconfig "$TESTBED_KUBECONFIG" "$@"; }
mkdir -p results

step "building the test bed binaries (cached)"
"$TESTBED_HACK/build.sh" >/dev/null
[ -f "$TESTBED_KUBECONFIG" ] && "$TESTBED_HACK/down.sh"
trap '"$TESTBED_HACK/down.sh"' EXIT
step "starting a kwok-only test bed in $TESTBED_DIR ($TESTBED_CLUSTER)"
"$TESTBED_HACK/cluster-up.sh"

step "installing operator/config (namespace, CRDs, RBAC, admission policy)"
kubectl apply -f operator/config/manager/namespace.yaml >/dev/null
kubectl apply -k operator/config/crd >/dev/null
kubectl apply -k operator/config/rbac >/dev/null
kubectl apply -k operator/config/policy >/dev/null
kubectl wait --for condition=Established crd/agents.kubeopencode.io crd/tasks.kubeopencode.io \
  crd/kubeopencodeconfigs.kubeopencode.io --timeout=60s >/dev/null
# The operator starts no Task created within 5 s of its admission policies (they load
# asynchronously; docs/security.md T22).
sleep 6

step "chaos harness"
cd e2e
GOWORK=off go run ./cmd/chaos -kubeconfig "$TESTBED_KUBECONFIG" \
  -cluster-dir "$TESTBED_DIR/kwok/clusters/$TESTBED_CLUSTER" -bin-dir "$TESTBED_BIN" "$@"
