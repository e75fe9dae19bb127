#!/usr/bin/env bash
# `make image-push`: pushes the tarballs of `make image` (ARCH, default amd64) to
# $IMAGE_PREFIX/<name>:$IMAGE_VERSION with crane, built from the go-containerregistry version
# hack/tools pins. Credentials: crane reads ~/.docker/config.json (`crane auth login`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=${IMAGE_PREFIX:-}
# shellcheck source=images.env
. "$here/images.env"
IMAGE_VERSION=$(cat "$root/VERSION")
[ -n "$prefix" ] && [ "$prefix" != kubeopencode.local ] || { echo "set IMAGE_PREFIX to your registry, e.g. IMAGE_PREFIX=registry.example.com/team make image-push" >&2; exit 2; }
arch=${ARCH:-amd64}
cache=${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode}
dir=${IMAGE_OUT:-$cache/images/$IMAGE_VERSION/$arch}
crane=$root/bin/crane
[ -x "$crane" ] || (cd "$root/hack/tools" && GOWORK=off go build -o "$crane" github.com/google/go-containerregistry/cmd/crane)
for name in operator agent-opencode executor; do
  [ -f "$dir/$name.tar" ] || { echo "no $dir/$name.tar: run make image first" >&2; exit 1; }
  "$crane" push "$dir/$name.tar" "$prefix/$name:$IMAGE_VERSION"
done
