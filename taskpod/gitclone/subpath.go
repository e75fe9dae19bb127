package gitclone

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxPathLength is the longest Options.Path accepted (the API's limit).
const MaxPathLength = 1024

// CheckSubPath validates Options.Path syntactically (the API's rules, repeated here because the
// clone must not depend on admission having run): relative, at most MaxPathLength characters from
// [A-Za-z0-9/._+@-], no leading or trailing "/", no empty, "." or ".." segment, and not inside
// .git (the context is the repository's content, not Git's metadata). The empty path (the whole
// checkout) is valid.
func CheckSubPath(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > MaxPathLength {
		return fmt.Errorf("path: is longer than %d characters", MaxPathLength)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !isAlnum(c) && !strings.ContainsRune("/._+@-", rune(c)) {
			return fmt.Errorf("path: %q may contain only letters, digits and / . _ + @ -", p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return fmt.Errorf("path: %q must be relative, without empty segments or a trailing /", p)
		case ".", "..":
			return fmt.Errorf("path: %q must be normalized: no . or .. segments", p)
		}
	}
	if isGitDir(p) {
		return fmt.Errorf("path: %q must not be inside .git", p)
	}
	return nil
}

// isGitDir reports whether the first segment of a slash-separated relative path is .git, in any
// case (case-insensitive file systems treat .GIT as .git).
func isGitDir(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.EqualFold(first, ".git")
}

// resolveSubPath returns the absolute path that p (already checked by CheckSubPath) names inside
// the checkout at dir, with symlinks resolved. It fails when p does not exist, when any symlink
// on the way leads outside dir (checked twice: by os.Root, which refuses to leave its directory,
// and on the resolved path), or when the resolved path is inside .git.
func resolveSubPath(dir, p string) (string, error) {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("dest: %w", err)
	}
	if p == "" {
		return realDir, nil
	}
	root, err := os.OpenRoot(realDir)
	if err != nil {
		return "", fmt.Errorf("dest: %w", err)
	}
	defer root.Close()
	if _, err := root.Stat(filepath.FromSlash(p)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("path: %q does not exist in the repository", p)
		}
		return "", fmt.Errorf("path: %q does not resolve inside the repository (a symlink leaves it, or it cannot be read): %w", p, err)
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(realDir, filepath.FromSlash(p)))
	if err != nil {
		return "", fmt.Errorf("path: %q: %w", p, err)
	}
	rel, err := filepath.Rel(realDir, resolved)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", fmt.Errorf("path: %q resolves outside the repository", p)
	}
	if isGitDir(filepath.ToSlash(rel)) {
		return "", fmt.Errorf("path: %q resolves inside .git", p)
	}
	return resolved, nil
}
