#!/usr/bin/env bash
# `make bench`: the load test on its own kwok-only test bed (no real node, no root-only parts).
# Brings up a control plane + kwok fake node in $TESTBED_DIR (default .testbed-bench, cluster
# kocbench), installs operator/config (CRDs, generated RBAC, admission policy, namespace) as
# hack/run.sh does, runs the library benchmarks and the load generator, and ALWAYS tears the test
# bed down. Extra arguments go to the load generator (e.g. -n 1000 -reps 1 -memory-n 0).
# Results: results/ (git-ignored).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
export TESTBED_DIR=${TESTBED_DIR:-$REPO/.testbed-bench} TESTBED_CLUSTER=${TESTBED_CLUSTER:-kocbench}
. "$REPO/hack/testbed/env.sh"
cd "$REPO"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
kubectl() { "$TESTBED_BIN/kubectl" --kubeconfig "$TESTBED_KUBECONFIG" "$@"; }
mkdir -p results

if [ "${BENCH_GO:-1}" = 1 ]; then
  step "library benchmarks (go test -bench, -benchmem -count 5): results/gobench.txt"
  { echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    for m in podspec credentials policy taskpod; do (cd "$m" && GOWORK=off go test -run '^$' -bench . -benchmem -count 5 ./...); done
  } | tee results/gobench.txt | grep -E '^(Benchmark|#)' >&2
fi

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

step "load generator"
cd e2e
GOWORK=off go run ./cmd/loadtest -kubeconfig "$TESTBED_KUBECONFIG" "$@"
