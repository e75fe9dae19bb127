#!/usr/bin/env bash
# `make test-e2e`: build what is missing, bring the cluster up, run the e2e suite, and tear the
# cluster down whatever happened (also on failure or Ctrl-C). Extra arguments go to `go test`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$TESTBED_HACK/build.sh"
[ -f "$TESTBED_KUBECONFIG" ] && "$TESTBED_HACK/down.sh"
trap '"$TESTBED_HACK/down.sh"' EXIT
# The audit log of the operator's requests lets the suite prove its RBAC minimal.
TESTBED_AUDIT_POLICY=${TESTBED_AUDIT_POLICY:-$TESTBED_HACK/cfg/audit-policy.yaml} "$TESTBED_HACK/cluster-up.sh"
"$TESTBED_HACK/node-up.sh"
cd "$REPO_ROOT/e2e"
log "running the e2e suite"
GOWORK=off go test -tags e2e -count=1 -timeout 40m "$@" ./...
