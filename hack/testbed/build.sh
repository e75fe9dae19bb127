#!/usr/bin/env bash
# Builds every binary the test bed needs from the Go module proxy alone (no registry, no binary
# downloads) into $TESTBED_BIN, a cache outside the clone keyed by versions. Binaries that exist are
# kept, so a warm run takes seconds; a cold one about 11 minutes on 2 cores (kube-apiserver alone ~4.5).
#
#   build.sh            everything (envtest + cluster + real node + test images)
#   build.sh envtest    only etcd and kube-apiserver (what envtest needs), and helm (the chart's
#                       rendering test in operator/internal/configtest runs with them)
set -euo pipefail
. "$(dirname "$0")/env.sh"
SRC=$REPO_ROOT/hack/tools/testbin
export GOWORK=off GOFLAGS=-buildvcs=false
mkdir -p "$TESTBED_BIN" "$TESTBED_IMAGES"
what=${1:-all}
start_all=$(date +%s)

# pinned: the version in versions.env must be the one the build module requires.
pinned() { # dir module version
  grep -qE "^(require )?[[:space:]]*$2 $3\$" "$SRC/$1/go.mod" ||
    die "$SRC/$1/go.mod does not require $2 $3 (versions.env); update one of them"
}

# build NAME MODULE PACKAGE [go build flags...]: builds PACKAGE from the pinned build module
# MODULE unless $TESTBED_BIN/NAME exists; reports progress and elapsed time.
build() {
  local name=$1 module=$2 pkg=$3; shift 3
  if [ -x "$TESTBED_BIN/$name" ]; then log "$name: cached"; return 0; fi
  log "$name: building (cold builds take minutes; see hack/testbed/README.md)"
  local s; s=$(date +%s)
  (cd "$SRC/$module" && go build "$@" -o "$TESTBED_BIN/$name.tmp" "$pkg")
  mv "$TESTBED_BIN/$name.tmp" "$TESTBED_BIN/$name"
  log "$name: built in $(( $(date +%s) - s ))s"
}

# Without these -X flags every component reports v0.0.0-master and kubectl version breaks.
k8s_ldflags() {
  local v=${KUBERNETES_VERSION#v} ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=${v%%.*} -X $p.gitMinor=$(cut -d. -f2 <<<"$v") -X $p.gitTreeState=clean"
  done
  echo "$ld"
}

pinned kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION"
pinned etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
pinned kwok sigs.k8s.io/kwok "$KWOK_VERSION"
pinned containerd github.com/containerd/containerd/v2 "$CONTAINERD_VERSION"
pinned helm helm.sh/helm/v3 "$HELM_VERSION"

build etcd etcd go.etcd.io/etcd/server/v3 -ldflags="-s -w"
# helm: the chart's rendering test (operator/internal/configtest) needs it with envtest, the
# install test (e2e) with the cluster. Rebuilt when versions.env names another version.
if [ -x "$TESTBED_BIN/helm" ] && [ "$("$TESTBED_BIN/helm" version --template '{{.Version}}')" != "$HELM_VERSION" ]; then
  log "helm: cached binary is not $HELM_VERSION; rebuilding"
  rm -f "$TESTBED_BIN/helm"
fi
CGO_ENABLED=0 build helm helm helm.sh/helm/v3/cmd/helm \
  -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
components=(kube-apiserver)
[ "$what" = envtest ] || components+=(kubectl kube-controller-manager kube-scheduler kubelet)
for c in "${components[@]}"; do
  build "$c" kubernetes "k8s.io/kubernetes/cmd/$c" -ldflags="$(k8s_ldflags)"
done
if [ "$what" != envtest ]; then
  build kwok kwok sigs.k8s.io/kwok/cmd/kwok -ldflags="-s -w"
  build kwokctl kwok sigs.k8s.io/kwok/cmd/kwokctl -ldflags="-s -w"
  cld="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
  CGO_ENABLED=0 build containerd containerd github.com/containerd/containerd/v2/cmd/containerd \
    -tags "urfave_cli_no_docs no_btrfs no_zfs no_devmapper" -ldflags="$cld"
  CGO_ENABLED=0 build containerd-shim-runc-v2 containerd github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
    -tags "urfave_cli_no_docs no_grpc" -ldflags="$cld"
  CGO_ENABLED=0 build ctr containerd github.com/containerd/containerd/v2/cmd/ctr -tags urfave_cli_no_docs -ldflags="$cld"
  "$TESTBED_HACK/images.sh"
fi
log "test-bed binaries ready in $TESTBED_BIN ($(( $(date +%s) - start_all ))s)"
