#!/usr/bin/env bash
# Resolves executor-packages.txt into executor.<arch>.lock ("name version sha256" per line,
# sorted): apt's own resolver, simulating an install into an EMPTY system (a private empty dpkg
# status), so the result depends only on the package index, not on what this machine has
# installed. Run it when the index moves (Debian point and security releases remove old
# versions): `hack/images/lock-executor.sh [amd64]`, then commit the lock.
#
# EXCLUDED packages are dropped after resolving: they serve maintainer scripts, which never run
# (the image is unpacked with dpkg-deb -x), documentation, or git commands written in Perl
# (send-email, svn, instaweb). perl-base stays (Essential; a few git helpers use it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=${1:-$(dpkg --print-architecture)}
[ "$arch" = "$(dpkg --print-architecture)" ] || { echo "lock-executor.sh: resolving for $arch needs apt configured for it; run it on an $arch machine" >&2; exit 1; }
EXCLUDED=" dpkg debconf perl perl-modules-5.36 libperl5.36 libdb5.3 libgdbm6 libgdbm-compat4 liberror-perl git-man openssl "
wanted=$(grep -v '^#' "$here/executor-packages.txt" | grep -v '^$')
status=$(mktemp); trap 'rm -f "$status"' EXIT
# shellcheck disable=SC2086
apt-get -s -q install --no-install-recommends -o Dir::State::status="$status" -o Debug::NoLocking=1 $wanted |
  awk '/^Inst /{gsub(/[()]/, "", $3); print $2, $3}' | sort | while read -r name version; do
    case "$EXCLUDED" in *" $name "*) continue ;; esac
    sha=$(apt-cache show "$name=$version" | awk '/^SHA256:/{print $2; exit}')
    [ -n "$sha" ] || { echo "no SHA256 for $name=$version" >&2; exit 1; }
    echo "$name $version $sha"
  done >"$here/executor.$arch.lock.new"
mv "$here/executor.$arch.lock.new" "$here/executor.$arch.lock"
echo "wrote $here/executor.$arch.lock ($(wc -l <"$here/executor.$arch.lock") packages)" >&2
