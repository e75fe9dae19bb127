package testbed

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadVersions(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    Versions
		wantErr string
	}{{
		name:    "all keys, comments and blanks",
		content: "# c\n\nKUBERNETES_VERSION=v1\nETCD_VERSION=v2\nKWOK_VERSION=v3\nCONTAINERD_VERSION = v4\nHELM_VERSION=v5\n",
		want:    Versions{Kubernetes: "v1", Etcd: "v2", Kwok: "v3", Containerd: "v4", Helm: "v5"},
	}, {
		name:    "missing key is named",
		content: "KUBERNETES_VERSION=v1\nETCD_VERSION=v2\nKWOK_VERSION=v3\n",
		wantErr: "CONTAINERD_VERSION is missing",
	}, {
		name:    "missing helm is named",
		content: "KUBERNETES_VERSION=v1\nETCD_VERSION=v2\nKWOK_VERSION=v3\nCONTAINERD_VERSION=v4\n",
		wantErr: "HELM_VERSION is missing",
	}, {
		name:    "malformed line is located",
		content: "KUBERNETES_VERSION=v1\nnonsense\n",
		wantErr: ":2: want KEY=value",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "versions.env")
			writeFile(t, p, tt.content)
			got, err := ReadVersions(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadVersions() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ReadVersions() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestKeyMatchesShell proves that Go and the shell scripts agree on the cache directory, so a
// `go test` run finds what `make testbin` built.
func TestKeyMatchesShell(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is required by the test bed: %v", err)
	}
	cache := t.TempDir()
	cmd := exec.Command("bash", "-c", `. ./env.sh && echo "$TESTBED_BIN"`)
	cmd.Env = append(os.Environ(), EnvCache+"="+cache, EnvBin+"=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing env.sh: %v", err)
	}
	t.Setenv(EnvCache, cache)
	t.Setenv(EnvBin, "")
	got, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); got != want {
		t.Errorf("BinDir() = %q, env.sh says %q", got, want)
	}
}

func TestEnvtestAssets(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvAssets, dir)
	if _, err := EnvtestAssets(); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "make testbin") {
		t.Fatalf("EnvtestAssets() with no binaries: error = %v, want ErrNotBuilt naming `make testbin`", err)
	}
	writeFile(t, filepath.Join(dir, "etcd"), "")
	writeFile(t, filepath.Join(dir, "kube-apiserver"), "")
	got, err := EnvtestAssets()
	if err != nil || got != dir {
		t.Fatalf("EnvtestAssets() = %q, %v; want %q, nil", got, err, dir)
	}
}

func TestKubeconfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvDir, dir)
	if _, err := Kubeconfig(); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "make testbed-up") {
		t.Fatalf("Kubeconfig() with no cluster: error = %v, want ErrNotRunning naming `make testbed-up`", err)
	}
	writeFile(t, filepath.Join(dir, "kubeconfig"), "apiVersion: v1\n")
	if got, err := Kubeconfig(); err != nil || got != filepath.Join(dir, "kubeconfig") {
		t.Fatalf("Kubeconfig() = %q, %v", got, err)
	}
}

func TestRepoRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, versionsFile), "")
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := RepoRoot(deep); err != nil || got != root {
		t.Fatalf("RepoRoot(%q) = %q, %v; want %q", deep, got, err, root)
	}
	if _, err := RepoRoot(t.TempDir()); err == nil {
		t.Fatal("RepoRoot outside a repository: want an error")
	}
}

func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvDir, dir)
	writeFile(t, filepath.Join(dir, "kubeconfig"), "apiVersion: v1\n")
	if _, err := AuditLog(); err == nil || !strings.Contains(err.Error(), "TESTBED_AUDIT_POLICY") {
		t.Fatalf("AuditLog() without a log: error = %v, want one naming TESTBED_AUDIT_POLICY", err)
	}
	want := filepath.Join(dir, "kwok", "clusters", ClusterName, "logs", "audit.log")
	writeFile(t, want, "")
	if got, err := AuditLog(); err != nil || got != want {
		t.Fatalf("AuditLog() = %q, %v; want %q", got, err, want)
	}
}

// TestClusterNameMatchesShell pins ClusterName to env.sh's default.
func TestClusterNameMatchesShell(t *testing.T) {
	cmd := exec.Command("bash", "-c", `. ./env.sh && echo "$TESTBED_CLUSTER"`)
	cmd.Env = append(os.Environ(), "TESTBED_CLUSTER=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != ClusterName {
		t.Errorf("env.sh cluster name %q, Go says %q", got, ClusterName)
	}
}
