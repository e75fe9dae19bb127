package credentials

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"path"
	"strings"
)

// Shared contract values (CONTRIBUTING.md), duplicated on purpose: this module imports no sibling.
const (
	// DefaultUID and DefaultGID are the agent's user and group when Options.UID/GID are zero.
	DefaultUID int64 = 65532
	DefaultGID int64 = 65532
	// DefaultFileMode is the mode of a credential file when Credential.FileMode is nil.
	DefaultFileMode int32 = 0o600
)

// reservedEnvNames and reservedEnvPrefixes may not be set by a credential: the names the
// operator or the agent runtime sets. OpenCode sets AGENT, OPENCODE and OPENCODE_PID for itself;
// the operator sets WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, TASK_* and KUBEOPENCODE_*.
// prefixReservedPrefixes are the prefixes no envPrefix+key may start with: whoever writes a Secret
// chooses its keys, and OpenCode reads OPENCODE_* variables as its own settings.
var (
	reservedEnvNames       = [...]string{"HOME", "PATH", "SHELL", "USER", "WORKSPACE_DIR", "OPENCODE_CONFIG_CONTENT", "AGENT", "OPENCODE", "OPENCODE_PID"}
	reservedEnvPrefixes    = [...]string{"TASK_", "KUBEOPENCODE_"}
	prefixReservedPrefixes = [...]string{"TASK_", "KUBEOPENCODE_", "OPENCODE_"}
)

// reservedEnvList is how error messages name the reserved variables.
const reservedEnvList = "HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*"

// reservedPaths may not hold, contain or be inside a credential's mountPath (the agent's tools,
// the operator's internal directory, and what belongs to the kernel, runtime and kubelet).
var reservedPaths = [...]string{
	"/dev",
	"/kubeopencode",
	"/proc",
	"/run/secrets/kubernetes.io",
	"/sys",
	"/tools",
	"/var/run/secrets/kubernetes.io",
}

// IsEnvName reports whether name is a C identifier ([A-Za-z_][A-Za-z0-9_]*).
func IsEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// IsReservedEnvName reports whether a credential may not set name: HOME, PATH, SHELL, USER,
// WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, and any name starting
// with TASK_ or KUBEOPENCODE_. Other OPENCODE_* names (OPENCODE_API_KEY) are not reserved. The
// comparison is case-sensitive, as environment variables are.
func IsReservedEnvName(name string) bool {
	for _, n := range reservedEnvNames {
		if name == n {
			return true
		}
	}
	for _, p := range reservedEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// safeEnvPrefix reports whether no name of the form prefix+key can be reserved or start with
// OPENCODE_: the prefix must not be the start of a reserved name or of TASK_, KUBEOPENCODE_ or
// OPENCODE_ (e.g. "TAS" + "K_ID", "OPEN" + "CODE_X"), nor start with one of those prefixes.
func safeEnvPrefix(prefix string) bool {
	for _, n := range reservedEnvNames {
		if strings.HasPrefix(n, prefix) {
			return false
		}
	}
	for _, p := range prefixReservedPrefixes {
		if strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p) {
			return false
		}
	}
	return true
}

// checkPath returns "" when p is a clean absolute path other than "/", without control
// characters and at most 1024 bytes.
func checkPath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case len(p) > 1024:
		return "must be at most 1024 bytes"
	case p[0] != '/':
		return "must be an absolute path"
	case p == "/":
		return "must not be the root directory"
	case path.Clean(p) != p:
		return `must be clean (no ".", "..", "//" or trailing "/")`
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}

// within reports whether p is dir or inside it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

// isDNSSubdomain reports whether s is a valid Secret name (RFC 1123 subdomain).
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !isDNSLabel(label) {
			return false
		}
	}
	return true
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

// isSecretKey reports whether k is a valid Secret data key: [-._a-zA-Z0-9]+, at most 253
// characters, not "." and not starting with "..".
func isSecretKey(k string) bool {
	if k == "" || len(k) > 253 || k == "." || strings.HasPrefix(k, "..") {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '-' || c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// dnsLabel derives a deterministic DNS label (at most 63 characters) from a readable prefix and an
// identity: the prefix reduced to [a-z0-9-] and cut to 50 characters, "-", and 12 base32
// characters (60 bits) of a SHA-256 over the prefix and every identity part, length-prefixed.
// It is the same derivation as podspec.DNSLabel (duplicated: the modules do not import each other).
func dnsLabel(readable string, identity ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range append([]string{readable}, identity...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	hash := lowerBase32.EncodeToString(h.Sum(sum[:0])[:8])[:12]
	var b strings.Builder
	sep := false
	for i := 0; i < len(readable) && b.Len() < 50; i++ {
		c := readable[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			sep = b.Len() > 0
			continue
		}
		if sep {
			if b.Len()+1 >= 50 {
				break
			}
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return hash
	}
	return b.String() + "-" + hash
}
