package podspec

import (
	"fmt"
	"path"
	"strings"
)

// MaxPathLength bounds mount paths; longer paths are refused.
const MaxPathLength = 1024

// systemReservedPaths may not be mounted over, into, or above in any container: they belong to
// the kernel, the container runtime and the kubelet (service-account token).
var systemReservedPaths = [...]string{
	"/dev",
	"/proc",
	"/run/secrets/kubernetes.io",
	"/sys",
	"/var/run/secrets/kubernetes.io",
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

// checkSubPath returns "" when sp is an acceptable subPath: empty, or relative, clean and not
// leaving the volume.
func checkSubPath(sp string) string {
	switch {
	case sp == "":
		return ""
	case len(sp) > MaxPathLength:
		return "must be at most 1024 bytes"
	case sp[0] == '/':
		return "must be a relative path"
	case path.Clean(sp) != sp:
		return `must be clean (no ".", "..", "//" or trailing "/")`
	case sp == ".." || strings.HasPrefix(sp, "../"):
		return `must not leave the volume ("..")`
	}
	for i := 0; i < len(sp); i++ {
		if sp[i] < 0x20 || sp[i] == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}

// ResolveInWorkspace resolves a context path the way upstream KubeOpenCode does and checks that
// it stays in the workspace: a relative p is workspace + "/" + p, an absolute p is itself. It
// returns the absolute path, or "" and the reason when p is empty, not clean (".", "..", "//",
// a trailing "/"), has control characters, or does not lie strictly inside workspace (outside
// it, or the workspace itself). workspace must be a clean absolute path ([CheckPath]).
func ResolveInWorkspace(workspace, p string) (string, string) {
	if p == "" {
		return "", "must not be empty"
	}
	if p[0] != '/' {
		if why := checkSubPath(p); why != "" {
			return "", why
		}
		p = workspace + "/" + p
	}
	if why := CheckPath(p); why != "" {
		return "", why
	}
	if p == workspace || !Within(p, workspace) {
		return "", "must lie inside the workspace " + quote(workspace)
	}
	return p, ""
}

// ResolvePath resolves a context path without confining it: a relative p is workspace + "/" + p
// (relative paths cannot leave the workspace), an absolute p is itself. The result still has to
// pass [CheckPath]; ResolvePath only joins.
func ResolvePath(workspace, p string) string {
	if p == "" || p[0] == '/' {
		return p
	}
	return workspace + "/" + p
}

// Within reports whether p is dir or inside dir. Both must be clean absolute paths; "/" contains
// everything.
func Within(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

// mountOrigin says who asked for a mount, which decides the reserved paths it may use.
type mountOrigin uint8

const (
	originCaller mountOrigin = iota + 1 // Spec.VolumeMounts, caller containers, projections
	originFile                          // Spec.Files: may use InternalDir and the workspace's task files
	originSystem                        // podspec's own tools, home, tmp and workspace mounts
)

type mount struct {
	path    string
	volume  string
	scratch bool // a writable emptyDir: starts empty, so a mount nested in it shadows nothing
	origin  mountOrigin
}

type reservedPath struct {
	path  string
	allow mountOrigin // mounts of this origin may use the path; 0 = none may
	above bool        // also refuse mounts that would contain the path
}

// checkMounts enforces path hygiene for one container: every path is clean, no mount touches a
// reserved path, no two mounts share a path, and a mount may be nested only inside a writable
// emptyDir (a scratch directory that starts empty) — nesting inside anything else would shadow
// part of it (the tools, a credential directory, a context file, a caller's volume).
func checkMounts(container string, mounts []mount, reservedPaths []reservedPath) error {
	for i, m := range mounts {
		if why := CheckPath(m.path); why != "" {
			return invalid(fmt.Sprintf("container %q: mount of volume %q", container, m.volume),
				"mount path %q %s", m.path, why)
		}
		for _, r := range reservedPaths {
			if r.allow != 0 && m.origin == r.allow {
				continue
			}
			if Within(m.path, r.path) {
				return &PathConflictError{Container: container, Path: m.path, Other: r.path,
					Reason: "is inside the reserved path", Err: ErrReserved}
			}
			if r.above && Within(r.path, m.path) {
				return &PathConflictError{Container: container, Path: m.path, Other: r.path,
					Reason: "would contain the reserved path", Err: ErrReserved}
			}
		}
		for _, o := range mounts[:i] {
			switch {
			case o.path == m.path:
				return &PathConflictError{Container: container, Path: m.path, Other: o.path,
					Reason: "(volume " + quote(m.volume) + ") is already used by volume " + quote(o.volume) + " at",
					Err:    ErrConflict}
			case Within(m.path, o.path) && !o.scratch:
				return &PathConflictError{Container: container, Path: m.path, Other: o.path,
					Reason: "would shadow part of the mount (volume " + quote(o.volume) + ") at",
					Err:    ErrConflict}
			case Within(o.path, m.path) && !m.scratch:
				return &PathConflictError{Container: container, Path: o.path, Other: m.path,
					Reason: "would shadow part of the mount (volume " + quote(m.volume) + ") at",
					Err:    ErrConflict}
			}
		}
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }
