package podspec

import (
	"path"
	"strings"

	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxPathLength bounds mount paths; longer paths are refused.
const MaxPathLength = contract.MaxPathLength

// CheckPath returns "" when p is acceptable as a mount path, otherwise the reason it is not: p must
// be absolute, clean (path.Clean(p) == p: no ".", "..", "//" or trailing "/"), not "/", free of
// control characters, and at most MaxPathLength bytes ([contract.CheckPath]).
func CheckPath(p string) string { return contract.CheckPath(p) }

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
// everything, so a mount at "/" would contain every reserved path ([contract.Within]).
func Within(p, dir string) bool { return contract.Within(p, dir) }

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
// part of it (the tools, a credential directory, a context file, a caller's volume). It reports
// every problem, and for each mount the first reserved path it touches.
func checkMounts(container string, mounts []mount, reservedPaths []reservedPath) field.ErrorList {
	var errs field.ErrorList
	for i, m := range mounts {
		if why := CheckPath(m.path); why != "" {
			errs = append(errs, invalid(mountPath(container, m.volume), "%q %s", m.path, why))
			continue
		}
		if err := touchesReserved(container, m, reservedPaths); err != nil {
			// One report per mount: that it also shadows the platform's own mount there is noise.
			errs = append(errs, err)
			continue
		}
		for _, o := range mounts[:i] {
			switch {
			case o.path == m.path:
				errs = append(errs, pathConflict(mountPath(container, m.volume), false,
					"%q is already used by volume %q", m.path, o.volume))
			case Within(m.path, o.path) && !o.scratch:
				errs = append(errs, pathConflict(mountPath(container, m.volume), false,
					"%q would shadow part of the mount of volume %q at %q", m.path, o.volume, o.path))
			case Within(o.path, m.path) && !m.scratch:
				errs = append(errs, pathConflict(mountPath(container, o.volume), false,
					"%q would shadow part of the mount of volume %q at %q", o.path, m.volume, m.path))
			}
		}
	}
	return errs
}

// touchesReserved reports the first reserved path m is inside or would contain, or nil.
func touchesReserved(container string, m mount, reservedPaths []reservedPath) *field.Error {
	for _, r := range reservedPaths {
		if r.allow != 0 && m.origin == r.allow {
			continue
		}
		if Within(m.path, r.path) {
			return pathConflict(mountPath(container, m.volume), true, "%q is inside the reserved path %q", m.path, r.path)
		}
		if r.above && Within(r.path, m.path) {
			return pathConflict(mountPath(container, m.volume), true, "%q would contain the reserved path %q", m.path, r.path)
		}
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }
