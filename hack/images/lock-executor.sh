#!/usr/bin/env bash
# Resolves executor-packages.txt into executor.<arch>.lock ("name version sha256" per line, sorted
# bytewise) for amd64 or arm64, on any machine with apt-get: apt's own resolver, simulating an
# install into an EMPTY system, against Debian's current $DEBIAN_SUITE indexes for that
# architecture, fetched into a private apt configuration (apt.sh; this machine's apt sources,
# lists and dpkg status are neither read nor changed). So the result depends only on the index.
# Run it when the index moves (Debian point and security releases remove old versions):
# `hack/images/lock-executor.sh amd64 arm64`, then commit the locks.
#
# EXCLUDED packages are dropped after resolving: they serve maintainer scripts, which never run
# (the image is unpacked with dpkg-deb -x), documentation, or git commands written in Perl
# (send-email, svn, instaweb). perl-base stays (Essential; a few git helpers use it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images.env
. "$here/images.env"
# shellcheck source=apt.sh
. "$here/apt.sh"
EXCLUDED=" dpkg debconf perl perl-modules-5.36 libperl5.36 libdb5.3 libgdbm6 libgdbm-compat4 liberror-perl git-man openssl "
wanted=$(grep -v '^#' "$here/executor-packages.txt" | grep -v '^$')
[ $# -gt 0 ] || set -- amd64
for arch in "$@"; do
  case $arch in amd64|arm64) ;; *) echo "lock-executor.sh: $arch: want amd64 or arm64" >&2; exit 1 ;; esac
done
apt=$(mktemp -d); trap 'rm -rf "$apt"' EXIT
for arch in "$@"; do
  rm -rf "${apt:?}"/*
  apt_private "$arch" "$apt"
  apt_update
  # shellcheck disable=SC2086
  resolved=$(apt-get -s -q install $wanted | awk '/^Inst /{gsub(/[()]/, "", $3); print $2, $3}' | LC_ALL=C sort)
  kept=()
  while read -r name version; do
    case "$EXCLUDED" in *" $name "*) ;; *) kept+=("$name=$version") ;; esac
  done <<<"$resolved"
  # One apt-cache call for all: the SHA-256 of each exact version, from the signed index.
  apt-cache show "${kept[@]}" | awk '
    /^Package:/ {p=$2} /^Version:/ {v=$2}
    /^SHA256:/ && !((p, v) in seen) {seen[p, v]; print p, v, $2}' | LC_ALL=C sort >"$here/executor.$arch.lock.new"
  [ "$(wc -l <"$here/executor.$arch.lock.new")" = "${#kept[@]}" ] ||
    { echo "lock-executor.sh: $arch: apt-cache gave no SHA-256 for some of ${kept[*]}" >&2; exit 1; }
  mv "$here/executor.$arch.lock.new" "$here/executor.$arch.lock"
  echo "wrote $here/executor.$arch.lock ($(wc -l <"$here/executor.$arch.lock") packages)" >&2
done
