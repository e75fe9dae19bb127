#!/usr/bin/env bash
# Installs the Debian packages the real node needs when they are missing: runc, the CNI plugins and
# iptables (the bridge and portmap plugins call it). Idempotent; needs root and apt.
set -euo pipefail
. "$(dirname "$0")/env.sh"
missing=()
command -v runc >/dev/null || missing+=(runc)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v openssl >/dev/null || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them as root: apt-get install ${missing[*]}"
command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them with your package manager"
log "installing ${missing[*]} (apt)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
