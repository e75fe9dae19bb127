package tools

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// imageArches are the architectures hack/images/build.sh accepts (ARCH).
var imageArches = []string{"amd64", "arm64"}

var (
	lockLine   = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+) ([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*(-[A-Za-z0-9.+~]+)? ([0-9a-f]{64})$`)
	excludedRe = regexp.MustCompile(`(?m)^EXCLUDED=" (.*) "$`)
)

// TestExecutorLocks: every architecture build.sh accepts has a well-formed lock holding every
// package asked for, none of the excluded ones, and the same packages as the other
// architectures' locks (lock-executor.sh regenerates them together; a lock regenerated alone
// would make the images differ by more than the architecture).
func TestExecutorLocks(t *testing.T) {
	dir := filepath.Join("..", "images")
	var wanted []string
	for _, l := range strings.Split(readFile(t, filepath.Join(dir, "executor-packages.txt")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			wanted = append(wanted, l)
		}
	}
	m := excludedRe.FindStringSubmatch(readFile(t, filepath.Join(dir, "lock-executor.sh")))
	if m == nil {
		t.Fatal("lock-executor.sh: no EXCLUDED=\" ... \" line")
	}
	excluded := strings.Fields(m[1])

	names := map[string][]string{}
	for _, arch := range imageArches {
		lock := "executor." + arch + ".lock"
		lines := strings.Split(strings.TrimSuffix(readFile(t, filepath.Join(dir, lock)), "\n"), "\n")
		if !slices.IsSorted(lines) {
			t.Errorf("%s: lines not sorted bytewise", lock)
		}
		for i, l := range lines {
			f := lockLine.FindStringSubmatch(l)
			if f == nil {
				t.Errorf("%s:%d: %q is not \"name version sha256\"", lock, i+1, l)
				continue
			}
			if slices.Contains(names[arch], f[1]) {
				t.Errorf("%s:%d: %s twice", lock, i+1, f[1])
			}
			if slices.Contains(excluded, f[1]) {
				t.Errorf("%s:%d: %s is EXCLUDED in lock-executor.sh", lock, i+1, f[1])
			}
			names[arch] = append(names[arch], f[1])
		}
		for _, w := range wanted {
			if !slices.Contains(names[arch], w) {
				t.Errorf("%s: no %s, which executor-packages.txt asks for", lock, w)
			}
		}
	}
	for _, arch := range imageArches[1:] {
		if d := cmp.Diff(names[imageArches[0]], names[arch]); d != "" {
			t.Errorf("executor.%s.lock and executor.%s.lock name different packages (run hack/images/lock-executor.sh %s); (-%s +%s):\n%s",
				imageArches[0], arch, strings.Join(imageArches, " "), imageArches[0], arch, d)
		}
	}
}

// TestOpenCodePins: build.sh takes OpenCode for each architecture from a pin in images.env.
func TestOpenCodePins(t *testing.T) {
	env := readFile(t, filepath.Join("..", "images", "images.env"))
	build := readFile(t, filepath.Join("..", "images", "build.sh"))
	for _, v := range []string{"OPENCODE_VERSION", "OPENCODE_VERSION_ARM64"} {
		if !regexp.MustCompile(`(?m)^` + v + `=[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(env) {
			t.Errorf("images.env: no %s=X.Y.Z", v)
		}
	}
	for _, want := range []string{"amd64) oc_pkg=opencode-linux-x64 oc_version=$OPENCODE_VERSION ", "arm64) oc_pkg=opencode-linux-arm64 oc_version=$OPENCODE_VERSION_ARM64 "} {
		if !strings.Contains(build, want) {
			t.Errorf("build.sh: no %q", want)
		}
	}
}
