package gitserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Dir holds the repositories; it must exist and should be a test's temporary directory.
	Dir string
	// Hosts are the DNS names and IP addresses the certificate is valid for; clients must dial
	// one of them. Default: 127.0.0.1 and localhost.
	Hosts []string
	// Token, when set, is required on every request (Basic password or Bearer).
	Token string
}

// Request is what the server recorded of one request.
type Request struct {
	Method, Path, Query string
	// User is the Basic user name, "" for none or a bearer token.
	User string
	// Authorized is false when the server answered 401.
	Authorized bool
}

// Server serves bare repositories under Options.Dir over HTTPS. Create it with New.
type Server struct {
	opts    Options
	caPEM   []byte
	tlsCert tls.Certificate
	gitPath string

	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	requests []Request
}

// New generates the CA and the server certificate. It starts nothing.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("gitserver: Options.Dir is required")
	}
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"127.0.0.1", "localhost"}
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("gitserver: the git CLI serves the repositories: %w", err)
	}
	s := &Server{opts: opts, gitPath: gitPath}
	if s.caPEM, s.tlsCert, err = certificates(opts.Hosts); err != nil {
		return nil, fmt.Errorf("gitserver: %w", err)
	}
	return s, nil
}

// CAPEM is the PEM certificate of the CA that signed the server's certificate: what a client
// must trust, e.g. through a caBundle ConfigMap.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// certificates makes a CA and a server certificate signed by it for hosts, valid one day.
func certificates(hosts []string) (caPEM []byte, cert tls.Certificate, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubeopencode e2e git CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, cert, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), cert, nil
}

// gitEnv isolates the git CLI from the machine's and user's configuration and fixes the dates,
// so the same files give the same commit.
func gitEnv(home string) []string {
	return []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
	}
}

func (s *Server) git(dir string, args ...string) (string, error) {
	cmd := exec.Command(s.gitPath, args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(s.opts.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// AddRepository creates the bare repository <name>.git holding one commit on branch main with
// files (path → content), and returns the commit's hash.
func (s *Server) AddRepository(name string, files map[string]string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return "", fmt.Errorf("gitserver: repository name %q: want a plain name", name)
	}
	work, err := os.MkdirTemp(s.opts.Dir, "work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := s.git(work, "init", "-q", "-b", "main"); err != nil {
		return "", err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(work, filepath.FromSlash(p))
		if !strings.HasPrefix(full, work+string(filepath.Separator)) {
			return "", fmt.Errorf("gitserver: file %q is outside the repository", p)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := s.git(work, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := s.git(work, "commit", "-q", "--allow-empty", "-m", "initial"); err != nil {
		return "", err
	}
	bare := filepath.Join(s.opts.Dir, name+".git")
	if _, err := s.git(s.opts.Dir, "clone", "-q", "--bare", work, bare); err != nil {
		return "", err
	}
	return s.git(bare, "rev-parse", "HEAD")
}

// Start listens on addr (e.g. ":0" for every interface, which a Pod can reach through the
// node's bridge before the bridge exists) and serves until Close. It returns the port.
func (s *Server) Start(addr string) (int, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	s.ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{s.tlsCert}, MinVersion: tls.VersionTLS12})
	backend := &cgi.Handler{
		Path: s.gitPath, Args: []string{"http-backend"}, Dir: s.opts.Dir,
		Env:    append(gitEnv(s.opts.Dir), "GIT_PROJECT_ROOT="+s.opts.Dir, "GIT_HTTP_EXPORT_ALL=1"),
		Logger: log.New(os.Stderr, "gitserver: ", 0),
	}
	s.srv = &http.Server{Handler: s.handler(backend), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(discard{}, "", 0)} // failed TLS handshakes of refused clients are expected
	go func() { _ = s.srv.Serve(s.ln) }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Close stops the server.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// handler records each request, checks the token, and refuses anything but fetches.
func (s *Server) handler(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorized: s.authorized(r)}
		rec.User, _, _ = r.BasicAuth()
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		if !rec.Authorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="e2e"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		// Read-only: receive-pack (push) is refused whatever git http-backend would say.
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
			http.Error(w, "read-only", http.StatusForbidden)
			return
		}
		backend.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	want := []byte(s.opts.Token)
	if _, pass, ok := r.BasicAuth(); ok {
		return subtle.ConstantTimeCompare([]byte(pass), want) == 1
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(tok), want) == 1
	}
	return false
}

// ClientTLS is a TLS config trusting only the server's CA, for tests dialling it from Go.
func (s *Server) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.caPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// ServerTLS is a TLS config presenting the server's certificate, for another test server (such
// as the model server) that clients should trust through the same CA.
func (s *Server) ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.tlsCert}, MinVersion: tls.VersionTLS12}
}
