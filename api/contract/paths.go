package contract

import "path"

// Paths the platform owns inside the agent container.
const (
	// ToolsDir holds the agent binary, copied there by the init container.
	ToolsDir = "/tools"
	// InternalDir is operator-internal: staged credentials and contexts.
	InternalDir = "/kubeopencode"
	// HomeDir is the agent's HOME, a writable emptyDir.
	HomeDir = "/home/agent"
	// TmpDir is a writable emptyDir.
	TmpDir = "/tmp"
	// MaxPathLength bounds mount paths; longer paths are refused.
	MaxPathLength = 1024
	// NumSystemReservedPaths is the length of SystemReservedPaths, for callers' stack buffers.
	NumSystemReservedPaths = 5
)

// SystemReservedPaths are the paths no container may mount over, into or above: they belong to the
// kernel, the container runtime and the kubelet (the service-account token), sorted. It returns an
// array, so callers get their own copy without an allocation.
func SystemReservedPaths() [NumSystemReservedPaths]string {
	return [...]string{"/dev", "/proc", "/run/secrets/kubernetes.io", "/sys", "/var/run/secrets/kubernetes.io"}
}

// ReservedPaths are the paths no user-supplied mount path (a credential, a workspace) may be,
// contain or lie under: SystemReservedPaths plus ToolsDir and InternalDir, sorted.
func ReservedPaths() [7]string {
	return [...]string{"/dev", InternalDir, "/proc", "/run/secrets/kubernetes.io", "/sys", ToolsDir, "/var/run/secrets/kubernetes.io"}
}

// CheckPath returns "" when p is acceptable as a mount path, otherwise the reason it is not: p must
// be absolute, clean (path.Clean(p) == p: no ".", "..", "//" or trailing "/"), not "/", free of
// control characters, and at most MaxPathLength bytes.
func CheckPath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case len(p) > MaxPathLength:
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

// Within reports whether p is dir or lies inside dir. Both must be clean absolute paths
// ([CheckPath], except that "/" is allowed here).
//
// "/" contains every path. That is the only answer that fails closed: Within is how the libraries
// ask "would this mount contain a reserved path?", and a mount at "/" would hide all of them. (An
// earlier copy in credentials answered false for "/", harmless only because CheckPath refuses
// "/" first; the contract does not rely on that ordering.)
func Within(p, dir string) bool {
	if dir == "/" {
		return p != "" && p[0] == '/'
	}
	return p == dir || len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

// Overlaps reports whether a and b are the same path or one lies inside the other.
func Overlaps(a, b string) bool { return Within(a, b) || Within(b, a) }
