#!/usr/bin/env bash
# `make image-push`: pushes the tarballs of `make image` to $IMAGE_PREFIX with crane, built from
# the go-containerregistry version hack/tools pins, as one multi-architecture image per name:
#
#   $IMAGE_PREFIX/<name>:$IMAGE_VERSION-<arch>   each architecture's image, as built
#   $IMAGE_PREFIX/<name>:$IMAGE_VERSION          a manifest list naming them, each with the
#                                                platform of its config (linux/amd64, linux/arm64)
#
# so nodes of every architecture pull the same reference. ARCHES lists the architectures to push
# (default: $ARCH, else amd64); build each first (`ARCH=arm64 make image`). IMAGE_OUT (the
# tarballs' directory) works with one architecture only. Credentials: crane reads
# ~/.docker/config.json (`crane auth login`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=${IMAGE_PREFIX:-}
# shellcheck source=images.env
. "$here/images.env"
IMAGE_VERSION=$(cat "$root/VERSION")
[ -n "$prefix" ] && [ "$prefix" != kubeopencode.local ] || { echo "set IMAGE_PREFIX to your registry, e.g. IMAGE_PREFIX=registry.example.com/team make image-push" >&2; exit 2; }
read -r -a arches <<<"${ARCHES:-${ARCH:-amd64}}"
cache=${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode}
if [ -n "${IMAGE_OUT:-}" ] && [ ${#arches[@]} != 1 ]; then
  echo "IMAGE_OUT names the tarballs of one architecture; ARCHES=${arches[*]}" >&2; exit 2
fi
for arch in "${arches[@]}"; do
  case $arch in amd64|arm64) ;; *) echo "ARCHES: $arch: want amd64 or arm64" >&2; exit 2 ;; esac
  for name in operator agent-opencode executor; do
    f=${IMAGE_OUT:-$cache/images/$IMAGE_VERSION/$arch}/$name.tar
    [ -f "$f" ] || { echo "no $f: run ARCH=$arch make image first" >&2; exit 1; }
  done
done
crane=$root/bin/crane
[ -x "$crane" ] || (cd "$root/hack/tools" && GOWORK=off go build -o "$crane" github.com/google/go-containerregistry/cmd/crane)
for name in operator agent-opencode executor; do
  ref=$prefix/$name:$IMAGE_VERSION
  manifests=()
  for arch in "${arches[@]}"; do
    "$crane" push "${IMAGE_OUT:-$cache/images/$IMAGE_VERSION/$arch}/$name.tar" "$ref-$arch" >/dev/null
    manifests+=(-m "$ref-$arch")
  done
  # A Docker manifest list, like the Docker manifests docker-archive tarballs push as.
  "$crane" index append --docker-empty-base "${manifests[@]}" -t "$ref" >/dev/null
  echo "$ref ($(IFS=,; echo "${arches[*]}")): $("$crane" digest "$ref")"
done
