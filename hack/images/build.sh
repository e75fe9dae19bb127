#!/usr/bin/env bash
# `make image`: builds the project's three images offline, as docker-archive tarballs, for one
# architecture (ARCH, default amd64), from this repository and pinned downloads:
#
#   $IMAGE_PREFIX/operator:$IMAGE_VERSION        the kubeopencode binary (static) at
#       /usr/local/bin/kubeopencode and Debian's CA certificates at
#       /etc/ssl/certs/ca-certificates.crt. It runs the operator and the agent Pods' init steps
#       (stage-credentials, git-clone).
#   $IMAGE_PREFIX/agent-opencode:$IMAGE_VERSION  the OpenCode binary from the npm package
#       opencode-linux-<arch>@$OPENCODE_VERSION at /opencode/opencode and installbin, its
#       entrypoint, which copies it into /tools (podspec's agent-init step).
#   $IMAGE_PREFIX/executor:$IMAGE_VERSION        Debian packages of executor.<arch>.lock (glibc,
#       bash, coreutils, git, CA certificates, ...), unpacked with dpkg-deb -x (no maintainer
#       script runs); the agent container runs /tools/opencode in it.
#
# Every image runs as 65532:65532 and has no set-user-ID file (hack/tools/cmd/imagecheck checks
# that, and the architecture of every ELF file, at the end). Downloads (npm pack, apt-get
# download) are cached outside the clone in $KUBEOPENCODE_CACHE/downloads and checked against
# the pinned SHA-256 (Debian) or npm's integrity (npm pack). Output:
# $KUBEOPENCODE_CACHE/images/$IMAGE_VERSION/<arch>/{operator,agent-opencode,executor}.tar
# (printed at the end). Import: `ctr -n k8s.io images import FILE`, `docker load -i FILE`; push:
# hack/images/push.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=images.env
. "$here/images.env"
# shellcheck source=apt.sh
. "$here/apt.sh"
IMAGE_VERSION=$(cat "$root/VERSION")
arch=${ARCH:-amd64}
cache=${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode}
out=${IMAGE_OUT:-$cache/images/$IMAGE_VERSION/$arch}
debs=$cache/downloads/deb/$DEBIAN_SUITE-$arch
npm=$cache/downloads/npm
log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
case $arch in
  amd64) oc_pkg=opencode-linux-x64 oc_version=$OPENCODE_VERSION ;;
  arm64) oc_pkg=opencode-linux-arm64 oc_version=$OPENCODE_VERSION_ARM64 ;;
  *) die "ARCH=$arch: want amd64 or arm64" ;;
esac
for tool in go npm apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is needed (npm: apt-get install npm; apt-get and dpkg-deb: a Debian or Ubuntu machine, with the debian-archive-keyring package)"
done
lock=$here/executor.$arch.lock
[ -f "$lock" ] || die "no $lock: run hack/images/lock-executor.sh $arch (see docs/images.md)"
mkdir -p "$out" "$debs" "$npm"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
start=$(date +%s)

log "Go programs for linux/$arch"
(cd "$root/hack/tools" && GOWORK=off go build -o "$work/mkimage" ./cmd/mkimage && GOWORK=off go build -o "$work/imagecheck" ./cmd/imagecheck)
(cd "$root/hack/tools" && GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags="-s -w" -o "$work/installbin" ./cmd/installbin)
(cd "$root/operator" && GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags="-s -w" -o "$work/kubeopencode" ./cmd/kubeopencode)

log "Debian packages of $(basename "$lock") (cache $debs)"
rootfs=$work/executor
mkdir -p "$rootfs"
# One apt-get call for every missing package, through a private apt configuration for $arch
# (apt.sh: Debian's signed indexes for $DEBIAN_SUITE, whatever this machine's apt sources and
# architecture are; apt checks each package against the index), then our check against the
# lock's SHA-256.
missing=()
while read -r name version sha; do
  f=$debs/${name}_${version//:/%3a}_$arch.deb
  [ -f "$f" ] && echo "$sha  $f" | sha256sum -c --status || missing+=("$name:$arch=$version")
done <"$lock"
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} packages"
  mkdir -p "$work/dl"
  apt_private "$arch" "$work/apt"
  apt_update || die "apt-get update of the private $DEBIAN_SUITE/$arch configuration failed"
  (cd "$work/dl" && apt-get download -q "${missing[@]}" >/dev/null) ||
    die "apt-get download failed (is the lock stale? hack/images/lock-executor.sh $arch)"
  # apt names files after the package's own architecture ("all" for some) and escapes the epoch;
  # the cache names them after the lock.
  while read -r name version sha; do
    f=$debs/${name}_${version//:/%3a}_$arch.deb
    for got in "$work/dl/${name}"_*.deb; do [ -f "$got" ] && mv "$got" "$f"; done
  done <"$lock"
fi
while read -r name version sha; do
  f=$debs/${name}_${version//:/%3a}_$arch.deb
  echo "$sha  $f" | sha256sum -c --status || die "$f: SHA-256 differs from the lock"
  dpkg-deb -x "$f" "$rootfs"
done <"$lock"
# What ca-certificates' maintainer script (update-ca-certificates) would write: the bundle every
# TLS library on Debian reads by default (Go, GnuTLS for git, OpenSSL).
mkdir -p "$rootfs/etc/ssl/certs" "$work/certs/etc/ssl/certs"
find "$rootfs/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat >"$rootfs/etc/ssl/certs/ca-certificates.crt"
cp "$rootfs/etc/ssl/certs/ca-certificates.crt" "$work/certs/etc/ssl/certs/"
# The one alternatives link an agent's scripts expect that only a maintainer script creates.
ln -sf mawk "$rootfs/usr/bin/awk"
# Documentation and manuals are not needed by an agent.
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/locale"
mkdir -p "$rootfs/workspace"

log "OpenCode $oc_pkg@$oc_version (cache $npm)"
tgz=$npm/$oc_pkg-$oc_version.tgz
if [ ! -f "$tgz" ]; then
  (cd "$npm" && npm pack --silent "$oc_pkg@$oc_version" >/dev/null) || die "npm pack $oc_pkg@$oc_version"
fi
mkdir -p "$work/agent/opencode" "$work/npm"
tar -xzf "$tgz" -C "$work/npm" package/bin/opencode
mv "$work/npm/package/bin/opencode" "$work/agent/opencode/opencode"
chmod 0555 "$work/agent/opencode/opencode"

ref() { echo "$IMAGE_PREFIX/$1:$IMAGE_VERSION"; }
log "images"
"$work/mkimage" -tag "$(ref operator)" -out "$out/operator.tar" -arch "$arch" \
  -layer "$work/certs" -env PATH=/usr/local/bin -entrypoint /usr/local/bin/kubeopencode \
  "$work/kubeopencode:/usr/local/bin/kubeopencode"
"$work/mkimage" -tag "$(ref agent-opencode)" -out "$out/agent-opencode.tar" -arch "$arch" \
  -layer "$work/agent" -env PATH=/usr/local/bin -entrypoint /usr/local/bin/installbin,/opencode/opencode,/tools \
  "$work/installbin:/usr/local/bin/installbin"
"$work/mkimage" -tag "$(ref executor)" -out "$out/executor.tar" -arch "$arch" \
  -layer "$rootfs" -env PATH=/usr/local/bin:/usr/bin:/bin -workdir /workspace -entrypoint /bin/bash
# What docs/images.md promises, checked without running anything (so for arm64 too): linux/$arch
# and user 65532:65532 in each config, every ELF file for $arch, no set-user-ID or set-group-ID
# file, the entrypoints and the ELF files' interpreters present.
log "checking the images (imagecheck -arch $arch)"
"$work/imagecheck" -arch "$arch" "$out/operator.tar" "$out/agent-opencode.tar" "$out/executor.tar" |
  sed "s#$out/##" >&2 || die "imagecheck found problems (above)"
log "done in $(( $(date +%s) - start ))s:"
for i in operator agent-opencode executor; do
  printf '  %-45s %s (%s)\n' "$(ref $i)" "$out/$i.tar" "$(du -h "$out/$i.tar" | cut -f1)"
done
