package gitserver

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// start serves one repository with token and returns the server and its URL.
func start(t *testing.T, token string) (*Server, string, string) {
	t.Helper()
	s, err := New(Options{Dir: t.TempDir(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := s.AddRepository("demo", map[string]string{"README.md": "# demo\n", "src/main.go": "package main\n"})
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, "https://127.0.0.1:" + strconv.Itoa(port) + "/demo.git", commit
}

// clone runs the git CLI as a client; caFile "" means the system roots only.
func clone(t *testing.T, url, caFile string) (string, string, error) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "clone")
	args := []string{"-c", "credential.helper="}
	if caFile != "" {
		args = append(args, "-c", "http.sslCAInfo="+caFile)
	}
	cmd := exec.Command("git", append(args, "clone", "-q", url, dst)...)
	cmd.Env = append(gitEnv(t.TempDir()), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return dst, string(out), err
}

func writeCA(t *testing.T, s *Server) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, s.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCloneTrustingTheCA(t *testing.T) {
	s, url, commit := start(t, "")
	dst, out, err := clone(t, url, writeCA(t, s))
	if err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, p := range []string{"README.md", "src/main.go"} {
		b, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil {
			t.Fatal(err)
		}
		got[p] = string(b)
	}
	if d := cmp.Diff(map[string]string{"README.md": "# demo\n", "src/main.go": "package main\n"}, got); d != "" {
		t.Errorf("cloned files (-want +got):\n%s", d)
	}
	head, err := exec.Command("git", "-C", dst, "rev-parse", "HEAD").Output()
	if err != nil || strings.TrimSpace(string(head)) != commit {
		t.Errorf("HEAD %q (%v), want %s", head, err, commit)
	}
	if len(s.Requests()) == 0 {
		t.Error("no request recorded")
	}
}

// TestCloneWithoutTheCAFails: the certificate is not trusted by the system roots, so a client
// that was not given the CA cannot clone (TLS is really verified).
func TestCloneWithoutTheCAFails(t *testing.T) {
	_, url, _ := start(t, "")
	if _, out, err := clone(t, url, ""); err == nil || !strings.Contains(out, "certificate") {
		t.Errorf("clone without the CA: err %v, output %q; want a certificate error", err, out)
	}
}

func TestToken(t *testing.T) {
	s, url, _ := start(t, "t0ken")
	ca := writeCA(t, s)
	if _, out, err := clone(t, url, ca); err == nil {
		t.Errorf("clone without the token succeeded: %s", out)
	}
	withToken := strings.Replace(url, "https://", "https://x-access-token:t0ken@", 1)
	if _, out, err := clone(t, withToken, ca); err != nil {
		t.Errorf("clone with the token: %v\n%s", err, out)
	}
	wrong := strings.Replace(url, "https://", "https://x-access-token:other@", 1)
	if _, out, err := clone(t, wrong, ca); err == nil {
		t.Errorf("clone with another token succeeded: %s", out)
	}
	var refused, accepted int
	for _, r := range s.Requests() {
		if r.Authorized {
			accepted++
		} else {
			refused++
		}
	}
	if refused == 0 || accepted == 0 {
		t.Errorf("recorded %d refused and %d accepted requests, want both", refused, accepted)
	}
}

func TestPushRefused(t *testing.T) {
	s, url, _ := start(t, "")
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: s.ClientTLS()}}
	resp, err := c.Get(url + "/info/refs?service=git-receive-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("receive-pack advertisement: status %d, want 403", resp.StatusCode)
	}
}

func TestAddRepositoryRefusesBadNames(t *testing.T) {
	s, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../x", "a/b", "x.git"} {
		if _, err := s.AddRepository(name, nil); err == nil {
			t.Errorf("AddRepository(%q) succeeded", name)
		}
	}
	if _, err := s.AddRepository("ok", map[string]string{"../escape": "x"}); err == nil {
		t.Error("a file outside the repository was accepted")
	}
}
