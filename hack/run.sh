#!/usr/bin/env bash
# `make run`: the operator demo. The reference operator is not written yet (issue "Reference
# operator, core"), so this says what the demo will do and what works today, and changes nothing.
set -euo pipefail
cat <<'MSG'
make run — operator demo (not available yet)

When the reference operator lands, `make run` will:
  1. without KUBECONFIG: build the test-bed binaries (first time ~11 min), start a local control
     plane with a kwok fake node, install the CRDs and admission policies;
     with KUBECONFIG set: use that cluster instead;
  2. run the operator as a local process;
  3. apply a sample: a platform namespace with an Agent holding an env credential and allowing
     team-* namespaces, and a Task from team-a;
  4. show the Task moving to Completed and print the generated, hardened Pod;
  5. tear everything down on Ctrl-C.

What works today:
  make testbed-up     a local cluster (control plane + kwok node + real kubelet node)
  make test           the whole test suite
MSG
