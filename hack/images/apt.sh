# Sourced by lock-executor.sh and build.sh: a private apt configuration for the Debian release
# the executor image comes from, for one architecture, that neither reads nor changes this
# machine's apt configuration (its sources, apt.conf.d, keyrings, package lists, dpkg status).
#
#   apt_private ARCH DIR   writes DIR/apt.conf, DIR/sources.list, empty DIR/status and the
#                          lists/cache directories, and exports APT_CONFIG=DIR/apt.conf, so every
#                          apt-get/apt-cache call after it uses only that configuration.
#   apt_update             downloads the signed indexes into DIR (apt verifies the InRelease
#                          signatures with $DEBIAN_KEYRING and every index against them).
#
# The suites are Debian's, for the architecture asked for, on any host architecture: APT::Architecture
# and APT::Architectures name only ARCH, so apt resolves and downloads as on an ARCH machine with
# nothing installed (the status file is empty). Needs apt-get (any Debian or Ubuntu machine) and
# Debian's archive keyring (package debian-archive-keyring; DEBIAN_KEYRING names another path).
DEBIAN_KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}

apt_private() {
  local arch=$1 dir=$2
  [ -r "$DEBIAN_KEYRING" ] || {
    echo "no Debian archive keyring at $DEBIAN_KEYRING: apt-get install debian-archive-keyring, or set DEBIAN_KEYRING" >&2
    return 1
  }
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts" "$dir/preferences.d" "$dir/trusted.gpg.d"
  : >"$dir/status"
  local s=[arch=$arch\ signed-by=$DEBIAN_KEYRING]
  cat >"$dir/sources.list" <<EOF
deb $s $DEBIAN_MIRROR/debian $DEBIAN_SUITE main
deb $s $DEBIAN_MIRROR/debian $DEBIAN_SUITE-updates main
deb $s $DEBIAN_MIRROR/debian-security $DEBIAN_SUITE-security main
EOF
  # Every Dir:: apt would otherwise take from this machine points into DIR. Sandbox::User root:
  # apt's download user (_apt) may not write into a root-owned private directory.
  cat >"$dir/apt.conf" <<EOF
Dir::Etc "$dir";
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$dir/parts";
Dir::Etc::sourcelist "$dir/sources.list";
Dir::Etc::sourceparts "$dir/parts";
Dir::Etc::preferences "$dir/preferences";
Dir::Etc::preferencesparts "$dir/preferences.d";
Dir::Etc::trusted "$dir/trusted.gpg";
Dir::Etc::trustedparts "$dir/trusted.gpg.d";
Dir::State "$dir";
Dir::State::lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::State::extended_states "$dir/extended_states";
Dir::Cache "$dir/cache";
Dir::Cache::archives "$dir/cache/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Install-Recommends "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Debug::NoLocking "true";
EOF
  export APT_CONFIG=$dir/apt.conf
}

apt_update() {
  apt-get update -q -o APT::Update::Error-Mode=any >/dev/null
}
