#!/usr/bin/env bash
# Brings the whole local cluster up: control plane + kwok fake node, and (unless TESTBED_REAL_NODE=0)
# a real kubelet node. Builds what is missing first. Tear down with down.sh.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$TESTBED_HACK/build.sh"
"$TESTBED_HACK/cluster-up.sh"
if [ "${TESTBED_REAL_NODE:-1}" = 1 ]; then
  "$TESTBED_HACK/node-up.sh"
fi
