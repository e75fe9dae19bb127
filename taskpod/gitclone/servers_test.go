package gitclone

// Test fixtures: Git repositories built on the fly with the git CLI, an HTTPS smart-HTTP server
// (git http-backend through net/http/cgi, behind a TLS listener on 127.0.0.1 with a CA made
// here), and an SSH server (golang.org/x/crypto/ssh, public-key auth, running git upload-pack).
// Only the servers use the git CLI; the clone under test is go-git.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// gitEnv isolates every git CLI call from the machine's and user's configuration.
func gitEnv(home string) []string {
	return []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
	}
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture is a bare repository under root (served as /repo.git) and the commits in it.
type fixture struct {
	root string // GIT_PROJECT_ROOT / SSH root
	bare string // root/repo.git
	// c1 <- c2 <- c3 on main; feature branches off c1; tags: v1-light (lightweight, c1), v2
	// (annotated, c2).
	c1, c2, c3, feature string
	tagV2Object         string // the annotated tag object's own SHA
}

// newFixture builds the test repository. main's tip holds README, docs/, a symlink to /etc, a
// relative symlink climbing out of the checkout, and a symlink to docs that stays inside.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	work := t.TempDir()
	runGit(t, work, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(work, "README"), "one\n")
	writeFile(t, filepath.Join(work, "docs/a.md"), "a\n")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-q", "-m", "one")
	f := &fixture{c1: runGit(t, work, "rev-parse", "HEAD")}
	runGit(t, work, "tag", "v1-light")
	runGit(t, work, "checkout", "-q", "-b", "feature")
	writeFile(t, filepath.Join(work, "feature.txt"), "feature\n")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-q", "-m", "feature")
	f.feature = runGit(t, work, "rev-parse", "HEAD")
	runGit(t, work, "checkout", "-q", "main")
	writeFile(t, filepath.Join(work, "README"), "two\n")
	runGit(t, work, "commit", "-q", "-am", "two")
	f.c2 = runGit(t, work, "rev-parse", "HEAD")
	runGit(t, work, "tag", "-a", "-m", "version 2", "v2")
	f.tagV2Object = runGit(t, work, "rev-parse", "v2")
	writeFile(t, filepath.Join(work, "README"), "three\n")
	writeFile(t, filepath.Join(work, "docs/b.md"), "b\n")
	for name, target := range map[string]string{
		"evil":     "/etc",
		"climb":    "../../../../../../../../etc",
		"docs-dir": "docs",
	} {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-q", "-m", "three")
	f.c3 = runGit(t, work, "rev-parse", "HEAD")

	f.root = t.TempDir()
	f.bare = filepath.Join(f.root, "repo.git")
	runGit(t, f.root, "clone", "-q", "--bare", work, f.bare)
	return f
}

// allowSHAFetch makes the server advertise allow-reachable-sha1-in-want, so a commit that no
// ref points at can be fetched by SHA (and shallowly).
func (f *fixture) allowSHAFetch(t testing.TB) {
	runGit(t, f.bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
}

// testCA is a certificate authority for the HTTPS servers; its PEM is what CABundleFile gets.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gitclone test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// file writes the CA bundle to a file and returns its path.
func (ca *testCA) file(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serverConfig issues a certificate for 127.0.0.1 and localhost.
func (ca *testCA) serverConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// httpsServer is a smart-HTTP Git server. It records the Authorization header of every request
// ("" when none was sent), optionally requires one, and optionally redirects every request to
// another base URL.
type httpsServer struct {
	srv *httptest.Server
	// wantAuth, when set, is the only Authorization value accepted.
	wantAuth string
	// redirectTo, when set, is a base URL every request is redirected to (same path and query).
	redirectTo string

	mu    sync.Mutex
	auths []string
	paths []string
}

// newHTTPSServer starts the server with a certificate from ca (plain HTTP when ca is nil).
func newHTTPSServer(t testing.TB, ca *testCA, projectRoot string) *httpsServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	s := &httpsServer{}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: append(gitEnv(t.TempDir()),
			"GIT_PROJECT_ROOT="+projectRoot,
			"GIT_HTTP_EXPORT_ALL=1"),
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.paths = append(s.paths, r.URL.Path)
		wantAuth, redirectTo := s.wantAuth, s.redirectTo
		s.mu.Unlock()
		if redirectTo != "" {
			http.Redirect(w, r, redirectTo+r.URL.RequestURI(), http.StatusFound)
			return
		}
		if wantAuth != "" && r.Header.Get("Authorization") != wantAuth {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if ca == nil {
		s.srv.Start() // plain HTTP: only ever a redirect target that must not be reached
	} else {
		s.srv.TLS = ca.serverConfig(t)
		s.srv.StartTLS()
	}
	t.Cleanup(s.srv.Close)
	return s
}

// url is the repository URL on this server; host may be "127.0.0.1" or "localhost".
func (s *httpsServer) url(host string) string {
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	scheme, _, _ := strings.Cut(s.srv.URL, ":")
	return scheme + "://" + net.JoinHostPort(host, port) + "/repo.git"
}

func (s *httpsServer) base(host string) string {
	return strings.TrimSuffix(s.url(host), "/repo.git")
}

// authority is the allowed-host entry for this server.
func (s *httpsServer) authority() string { return s.srv.Listener.Addr().String() }

func (s *httpsServer) seen() (auths, paths []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...), append([]string(nil), s.paths...)
}

// sshServer is an SSH server that accepts one public key and runs git upload-pack for
// repositories under root. It records every login attempt and every command.
type sshServer struct {
	addr    string
	hostKey ssh.Signer
	root    string
	ln      net.Listener
	wg      sync.WaitGroup
	once    sync.Once

	mu       sync.Mutex
	conns    int      // TCP connections accepted
	logins   []string // user names that offered a public key
	commands []string
}

func newSSHServer(t testing.TB, root string, authorized ssh.PublicKey) *sshServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{addr: ln.Addr().String(), hostKey: hostKey, root: root}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			s.logins = append(s.logins, meta.User())
			s.mu.Unlock()
			if bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostKey)
	s.ln = ln
	t.Cleanup(s.stop)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serveConn(t, conn, cfg)
			}()
		}
	}()
	return s
}

func (s *sshServer) serveConn(t testing.TB, conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return // handshake refused (by either side)
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.serveSession(t, ch, chReqs)
	}
}

func (s *sshServer) serveSession(t testing.TB, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		s.mu.Lock()
		s.commands = append(s.commands, payload.Command)
		s.mu.Unlock()
		// go-git sends: git-upload-pack '<path>'
		quoted, ok := strings.CutPrefix(payload.Command, "git-upload-pack ")
		repo := strings.Trim(quoted, "'")
		dir := filepath.Join(s.root, filepath.FromSlash(strings.TrimPrefix(repo, "/")))
		if !ok || !filepath.IsLocal(strings.TrimPrefix(repo, "/")) {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command("git", "upload-pack", dir)
		cmd.Env = gitEnv(t.TempDir())
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		cmd.Stdout = ch
		cmd.Stderr = ch.Stderr()
		if err := cmd.Start(); err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(stdin, ch)
			_ = stdin.Close()
		}()
		status := uint32(0)
		if err := cmd.Wait(); err != nil {
			status = 1
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// stop closes the listener and waits for every connection to be served, so what seen reports
// afterwards is final.
func (s *sshServer) stop() {
	s.once.Do(func() {
		_ = s.ln.Close()
		s.wg.Wait()
	})
}

func (s *sshServer) url(path string) string { return "ssh://git@" + s.addr + "/" + path }

func (s *sshServer) seen() (conns int, logins, commands []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, append([]string(nil), s.logins...), append([]string(nil), s.commands...)
}

// knownHostsLine is the known_hosts line for addr with key.
func knownHostsLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)
}

// clientKey is an SSH client key pair, with the private key written to a 0600 file.
type clientKey struct {
	pub  ssh.PublicKey
	file string
}

func newClientKey(t testing.TB) clientKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return clientKey{pub: signer.PublicKey(), file: file}
}

// writeTemp writes content to a new file with the given mode and returns its path.
func writeTemp(t testing.TB, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // exact, whatever the umask
		t.Fatal(err)
	}
	return p
}

// basicAuth is the Authorization header value for basic auth.
func basicAuth(user, token string) string {
	r, _ := http.NewRequest(http.MethodGet, "https://x/", nil)
	r.SetBasicAuth(user, token)
	return r.Header.Get("Authorization")
}
