package testbed

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables that override the defaults; the Makefile sets none of them, so the
// defaults below are what `make` and a plain `go test` agree on.
const (
	// EnvCache overrides the cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode).
	EnvCache = "KUBEOPENCODE_CACHE"
	// EnvBin overrides the binary directory entirely.
	EnvBin = "TESTBED_BIN"
	// EnvDir overrides the state directory of the running cluster (default <repo>/.testbed).
	EnvDir = "TESTBED_DIR"
	// EnvAssets is envtest's own variable; when set it wins for envtest binaries.
	EnvAssets = "KUBEBUILDER_ASSETS"
)

// ClusterName is the kwokctl cluster name the scripts use (TESTBED_CLUSTER in env.sh).
const ClusterName = "kubeopencode"

// versionsFile is the repository-relative path of the pinned versions.
const versionsFile = "hack/testbed/versions.env"

// ErrNotBuilt reports that the test-bed binaries are missing.
var ErrNotBuilt = errors.New("test-bed binaries not built")

// ErrNotRunning reports that the local cluster is not up.
var ErrNotRunning = errors.New("local test cluster not running")

// Versions are the component versions read from hack/testbed/versions.env.
type Versions struct {
	Kubernetes, Etcd, Kwok, Containerd string
	// Helm is not part of Key: build.sh rebuilds the cached helm when its version differs.
	Helm string
}

// Key is the cache sub-directory for these versions; build.sh computes the same string.
func (v Versions) Key() string {
	return fmt.Sprintf("k8s-%s_etcd-%s_kwok-%s_containerd-%s", v.Kubernetes, v.Etcd, v.Kwok, v.Containerd)
}

// RepoRoot walks up from dir to the repository root, recognised by hack/testbed/versions.env.
func RepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, versionsFile)); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s above %s: run tests from inside the kubeopencode repository", versionsFile, abs)
		}
	}
}

// ReadVersions parses a versions.env file (KEY=value lines, # comments).
func ReadVersions(path string) (Versions, error) {
	f, err := os.Open(path)
	if err != nil {
		return Versions{}, fmt.Errorf("reading test-bed versions: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Versions{}, fmt.Errorf("%s:%d: want KEY=value, got %q", path, n, line)
		}
		vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := s.Err(); err != nil {
		return Versions{}, fmt.Errorf("reading %s: %w", path, err)
	}
	v := Versions{
		Kubernetes: vals["KUBERNETES_VERSION"],
		Etcd:       vals["ETCD_VERSION"],
		Kwok:       vals["KWOK_VERSION"],
		Containerd: vals["CONTAINERD_VERSION"],
		Helm:       vals["HELM_VERSION"],
	}
	for _, k := range []struct{ name, got string }{
		{"KUBERNETES_VERSION", v.Kubernetes}, {"ETCD_VERSION", v.Etcd},
		{"KWOK_VERSION", v.Kwok}, {"CONTAINERD_VERSION", v.Containerd}, {"HELM_VERSION", v.Helm},
	} {
		if name, got := k.name, k.got; got == "" {
			return Versions{}, fmt.Errorf("%s: %s is missing", path, name)
		}
	}
	return v, nil
}

// BinDir is the directory holding the test-bed binaries for the repository that contains the
// current working directory. It does not check that the binaries exist.
func BinDir() (string, error) {
	if d := os.Getenv(EnvBin); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getting working directory: %w", err)
	}
	root, err := RepoRoot(wd)
	if err != nil {
		return "", err
	}
	v, err := ReadVersions(filepath.Join(root, versionsFile))
	if err != nil {
		return "", err
	}
	cache := os.Getenv(EnvCache)
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("locating the cache: set %s or HOME: %w", EnvCache, err)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "kubeopencode")
	}
	return filepath.Join(cache, v.Key(), "bin"), nil
}

// EnvtestAssets returns the directory with etcd and kube-apiserver for
// envtest.Environment.BinaryAssetsDirectory, or an error telling the user to run `make testbin`.
func EnvtestAssets() (string, error) {
	dir := os.Getenv(EnvAssets)
	if dir == "" {
		var err error
		if dir, err = BinDir(); err != nil {
			return "", err
		}
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("%w: %s is missing in %s; run `make testbin` (a cold build takes about 11 minutes)",
				ErrNotBuilt, b, dir)
		}
	}
	return dir, nil
}

// Helm returns the helm binary the test bed built (charts/kubeopencode's rendering and install
// tests run it), or an error telling the user to run `make testbin`.
func Helm() (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "helm")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: helm is missing in %s; run `make testbin` (or `make testbin-envtest`; helm alone builds in a few minutes)",
			ErrNotBuilt, dir)
	}
	return p, nil
}

// AuditLog returns the API server's audit log of the running local cluster (written when the
// cluster was started with an audit policy, as `make test-e2e` does).
func AuditLog() (string, error) {
	kc, err := Kubeconfig()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(kc), "kwok", "clusters", ClusterName, "logs", "audit.log")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no audit log at %s: start the cluster with TESTBED_AUDIT_POLICY (make test-e2e does): %w", p, err)
	}
	return p, nil
}

// Kubeconfig returns the kubeconfig of the running local cluster, or an error telling the user to
// run `make testbed-up` (or `make test-e2e`, which brings it up and down).
func Kubeconfig() (string, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("getting working directory: %w", err)
		}
		root, err := RepoRoot(wd)
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".testbed")
	}
	kc := filepath.Join(dir, "kubeconfig")
	if _, err := os.Stat(kc); err != nil {
		return "", fmt.Errorf("%w: no %s; run `make testbed-up` first, or `make test-e2e`", ErrNotRunning, kc)
	}
	return kc, nil
}
