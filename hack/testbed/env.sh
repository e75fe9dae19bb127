# Sourced by every test-bed script: where things live. Nothing here starts or writes anything.
#
#   KUBEOPENCODE_CACHE  root of the binary cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode)
#   TESTBED_BIN         built binaries, keyed by the versions in versions.env
#   TESTBED_DIR         state of the running test bed (default $REPO/.testbed, git-ignored)
TESTBED_HACK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTBED_HACK/../.." && pwd)
# shellcheck source=versions.env
. "$TESTBED_HACK/versions.env"
KUBEOPENCODE_CACHE=${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode}
TESTBED_KEY="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_containerd-${CONTAINERD_VERSION}"
TESTBED_BIN=${TESTBED_BIN:-$KUBEOPENCODE_CACHE/$TESTBED_KEY/bin}
TESTBED_IMAGES=${TESTBED_IMAGES:-$KUBEOPENCODE_CACHE/$TESTBED_KEY/images}
TESTBED_DIR=${TESTBED_DIR:-$REPO_ROOT/.testbed}
TESTBED_CLUSTER=${TESTBED_CLUSTER:-kubeopencode}
TESTBED_KUBECONFIG=$TESTBED_DIR/kubeconfig
export KUBEOPENCODE_CACHE TESTBED_BIN TESTBED_IMAGES TESTBED_DIR TESTBED_CLUSTER TESTBED_KUBECONFIG

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
