package gitclone

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
)

const testToken = "s3cr3t-T0KEN-never-shown"

// logSink captures every log line at every verbosity, to check that no secret is logged.
type logSink struct{ b strings.Builder }

func (s *logSink) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		s.b.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})
}

// assertNoSecret fails when the secret appears in the error, the logs, or any file under dir.
func assertNoSecret(t *testing.T, secret string, err error, logs string, dir string) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("the error contains the secret: %v", err)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the logs contain the secret:\n%s", logs)
	}
	if dir == "" {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, werr error) error {
		if werr != nil || !d.Type().IsRegular() {
			return nil
		}
		data, rerr := os.ReadFile(p)
		if rerr == nil && strings.Contains(string(data), secret) {
			t.Errorf("%s contains the secret", p)
		}
		return nil
	})
}

// readme returns the README of a clone.
func readme(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "README"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// head describes HEAD: "ref: <target>" when symbolic, the SHA when detached.
func head(t *testing.T, dir string) string {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		t.Fatal(err)
	}
	if h.Type() == plumbing.SymbolicReference {
		return "ref: " + h.Target().String()
	}
	return h.Hash().String()
}

// present reports, for each SHA, whether the clone has that commit.
func present(t *testing.T, dir string, shas ...string) []bool {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []bool
	for _, s := range shas {
		_, err := repo.CommitObject(plumbing.NewHash(s))
		if err != nil && !errors.Is(err, plumbing.ErrObjectNotFound) {
			t.Fatal(err)
		}
		out = append(out, err == nil)
	}
	return out
}

func isEmptyDir(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) == 0
}

// TestCloneHTTPSToken proves the token reaches the repository's host in the configured form and
// is written nowhere: not in errors, logs, or any file of the clone (.git/config included).
func TestCloneHTTPSToken(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	tokenFile := writeTemp(t, "token", testToken+"\n", 0o400)
	userFile := writeTemp(t, "username", "robot\n", 0o400)
	tests := []struct {
		name     string
		auth     Auth
		wantAuth string
	}{
		{"basic, default user", Auth{TokenFile: tokenFile}, basicAuth(DefaultHTTPUsername, testToken)},
		{"basic, user from a file", Auth{TokenFile: tokenFile, UsernameFile: userFile}, basicAuth("robot", testToken)},
		{"basic, user given", Auth{TokenFile: tokenFile, Username: "x-access-token"}, basicAuth("x-access-token", testToken)},
		{"bearer", Auth{TokenFile: tokenFile, Bearer: true}, "Bearer " + testToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHTTPSServer(t, ca, f.root)
			srv.wantAuth = tc.wantAuth
			tc.auth.AllowedHosts = []string{"example.com", srv.authority()}
			dest := filepath.Join(t.TempDir(), "repo")
			var logs logSink
			res, err := Clone(context.Background(), Options{
				Repository: srv.url("127.0.0.1"), Depth: 1, Dest: dest, Auth: tc.auth,
				CABundleFile: ca.file(t), Log: logs.logger(),
			})
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			if diff := cmp.Diff(Result{Commit: f.c3, Ref: "refs/heads/main", Dir: dest, Shallow: true}, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			auths, _ := srv.seen()
			if len(auths) == 0 {
				t.Fatal("the server saw no request")
			}
			for i, a := range auths {
				if a != tc.wantAuth {
					t.Errorf("request %d carried Authorization %q, want the configured credential", i, a)
				}
			}
			assertNoSecret(t, testToken, err, logs.b.String(), dest)
		})
	}
}

func TestCloneHTTPSAnonymous(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	dest := t.TempDir() // exists and is empty
	res, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Dest: dest, CABundleFile: ca.file(t)})
	if err != nil {
		t.Fatalf("Clone: %v", err)
	}
	if res.Commit != f.c3 || readme(t, dest) != "three\n" {
		t.Errorf("cloned %s with README %q, want %s with three", res.Commit, readme(t, dest), f.c3)
	}
	auths, _ := srv.seen()
	for _, a := range auths {
		if a != "" {
			t.Errorf("an anonymous clone sent Authorization %q", a)
		}
	}
}

// TestCloneHTTPSRedirectDropsToken: the repository's host redirects to another origin (another
// port, or another name for the same address). The token goes to the repository's host only;
// the redirect target never sees it, whether it then serves the repository anonymously or
// demands credentials (and the clone fails).
func TestCloneHTTPSRedirectDropsToken(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	tokenFile := writeTemp(t, "token", testToken, 0o600)
	want := basicAuth(DefaultHTTPUsername, testToken)
	tests := []struct {
		name           string
		targetHost     string
		targetWantAuth string // the redirect target demands these credentials
		wantErr        bool
	}{
		{"to another port, anonymous", "127.0.0.1", "", false},
		{"to another host name, anonymous", "localhost", "", false},
		{"to another port that asks for the token", "127.0.0.1", want, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := newHTTPSServer(t, ca, f.root)
			other.wantAuth = tc.targetWantAuth
			origin := newHTTPSServer(t, ca, f.root)
			origin.redirectTo = other.base(tc.targetHost)
			dest := filepath.Join(t.TempDir(), "repo")
			var logs logSink
			res, err := Clone(context.Background(), Options{
				Repository: origin.url("127.0.0.1"), Dest: dest, CABundleFile: ca.file(t), Log: logs.logger(),
				Auth: Auth{TokenFile: tokenFile, AllowedHosts: []string{origin.authority()}},
			})
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("Clone error = %v, want error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && res.Commit != f.c3 {
				t.Errorf("cloned %s, want %s", res.Commit, f.c3)
			}
			originAuths, _ := origin.seen()
			if len(originAuths) == 0 || originAuths[0] != want {
				t.Errorf("the repository's host saw Authorization %q, want the token on the first request", originAuths)
			}
			otherAuths, otherPaths := other.seen()
			if len(otherAuths) == 0 {
				t.Fatal("the redirect was not followed: the test proves nothing")
			}
			for i, a := range otherAuths {
				if a != "" {
					t.Errorf("the redirect target received Authorization %q on %s", a, otherPaths[i])
				}
			}
			assertNoSecret(t, testToken, err, logs.b.String(), "")
		})
	}
}

// TestCloneHTTPSRedirectToHTTPRefused: a redirect from https to plain http is not followed;
// nothing reaches the http server.
func TestCloneHTTPSRedirectToHTTPRefused(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	plain := newHTTPSServer(t, nil, f.root)
	origin := newHTTPSServer(t, ca, f.root)
	origin.redirectTo = plain.base("127.0.0.1")
	tokenFile := writeTemp(t, "token", testToken, 0o600)
	_, err := Clone(context.Background(), Options{
		Repository: origin.url("127.0.0.1"), Dest: t.TempDir(), CABundleFile: ca.file(t),
		Auth: Auth{TokenFile: tokenFile, AllowedHosts: []string{origin.authority(), plain.authority()}},
	})
	if err == nil {
		t.Fatal("Clone followed a redirect to http")
	}
	if auths, _ := origin.seen(); len(auths) == 0 {
		t.Fatal("the repository's host saw no request: the test proves nothing")
	}
	if auths, paths := plain.seen(); len(auths) != 0 {
		t.Errorf("the http server was reached: %q", paths)
	}
}

// TestCloneCredentialsBoundToHosts: a credential configured for hosts other than the
// repository's fails the clone before any connection; nothing is sent, Dest is not created.
func TestCloneCredentialsBoundToHosts(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	key := newClientKey(t)
	sshSrv := newSSHServer(t, f.root, key.pub)
	known := writeTemp(t, "known_hosts", knownHostsLine(sshSrv.addr, sshSrv.hostKey.PublicKey())+"\n", 0o644)
	tokenFile := writeTemp(t, "token", testToken, 0o600)
	_, httpsPort, _ := strings.Cut(srv.authority(), ":")
	_, sshPort, _ := strings.Cut(sshSrv.addr, ":")
	tests := []struct {
		name    string
		repo    string
		auth    Auth
		wantErr string
	}{
		{"https, no allowed hosts", srv.url("127.0.0.1"), Auth{TokenFile: tokenFile},
			"auth.allowedHosts: is required when credentials are configured"},
		{"https, another host", srv.url("127.0.0.1"), Auth{TokenFile: tokenFile, AllowedHosts: []string{"github.com"}},
			`auth.allowedHosts: the repository host 127.0.0.1:` + httpsPort + ` is not one the credentials are bound to ["github.com"]: refusing to send them there`},
		{"https, same host, default port", srv.url("127.0.0.1"), Auth{TokenFile: tokenFile, AllowedHosts: []string{"127.0.0.1"}},
			`auth.allowedHosts: the repository host 127.0.0.1:` + httpsPort + ` is not one`},
		{"https, same port, another name", srv.url("localhost"), Auth{TokenFile: tokenFile, AllowedHosts: []string{srv.authority()}},
			`auth.allowedHosts: the repository host localhost:` + httpsPort + ` is not one`},
		{"https, the ssh server's port", srv.url("127.0.0.1"), Auth{TokenFile: tokenFile, AllowedHosts: []string{sshSrv.addr}},
			`is not one the credentials are bound to`},
		{"ssh, another host", sshSrv.url("repo.git"), Auth{SSHKeyFile: key.file, AllowedHosts: []string{"github.com"}},
			`auth.allowedHosts: the repository host 127.0.0.1:` + sshPort + ` is not one`},
		{"ssh, default port only", sshSrv.url("repo.git"), Auth{SSHKeyFile: key.file, AllowedHosts: []string{"127.0.0.1"}},
			`is not one the credentials are bound to`},
		{"bad allowed host", srv.url("127.0.0.1"), Auth{TokenFile: tokenFile, AllowedHosts: []string{"*.example.com"}},
			`auth.allowedHosts[0]: "*.example.com"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "repo")
			_, err := Clone(context.Background(), Options{Repository: tc.repo, Dest: dest, Auth: tc.auth,
				CABundleFile: ca.file(t), KnownHostsFile: known})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Clone error = %v, want it to contain %q", err, tc.wantErr)
			}
			if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("dest was created (%v) although the clone was refused up front", serr)
			}
		})
	}
	sshSrv.stop()
	if auths, _ := srv.seen(); len(auths) != 0 {
		t.Errorf("the HTTPS server saw %d requests, want none", len(auths))
	}
	if conns, _, _ := sshSrv.seen(); conns != 0 {
		t.Errorf("the SSH server saw %d connections, want none", conns)
	}
}

// TestCloneHTTPSVerifiesTLS: without the CA bundle the server's certificate is not trusted, and
// nothing (in particular no token) is sent.
func TestCloneHTTPSVerifiesTLS(t *testing.T) {
	f := newFixture(t)
	srv := newHTTPSServer(t, newTestCA(t), f.root)
	tokenFile := writeTemp(t, "token", testToken, 0o600)
	dest := t.TempDir()
	_, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Dest: dest,
		Auth: Auth{TokenFile: tokenFile, AllowedHosts: []string{srv.authority()}}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Clone error = %v, want a certificate error", err)
	}
	if auths, _ := srv.seen(); len(auths) != 0 {
		t.Errorf("the server saw %d requests over an unverified connection", len(auths))
	}
	if !isEmptyDir(t, dest) {
		t.Error("a failed clone left files in dest")
	}
}

func TestCloneSSH(t *testing.T) {
	f := newFixture(t)
	key := newClientKey(t)
	srv := newSSHServer(t, f.root, key.pub)
	// Another host's key first: only the line for this host and port may match.
	other := newClientKey(t)
	known := writeTemp(t, "known_hosts",
		knownHostsLine("127.0.0.1:1", other.pub)+"\n"+knownHostsLine(srv.addr, srv.hostKey.PublicKey())+"\n", 0o644)
	dest := filepath.Join(t.TempDir(), "repo")
	var logs logSink
	res, err := Clone(context.Background(), Options{
		Repository: srv.url("repo.git"), Ref: "v2", Depth: 1, Dest: dest, KnownHostsFile: known,
		Auth: Auth{SSHKeyFile: key.file, AllowedHosts: []string{srv.addr}}, Log: logs.logger(),
	})
	if err != nil {
		t.Fatalf("Clone: %v\nlogs:\n%s", err, logs.b.String())
	}
	if diff := cmp.Diff(Result{Commit: f.c2, Ref: "refs/tags/v2", Dir: dest, Shallow: true}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	srv.stop()
	_, logins, commands := srv.seen()
	if diff := cmp.Diff([]string{"git-upload-pack '/repo.git'", "git-upload-pack '/repo.git'"}, commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	for _, l := range logins {
		if l != "git" {
			t.Errorf("logged in as %q, want git", l)
		}
	}
	keyData, err := os.ReadFile(key.file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(keyData), "\n")[1:3] {
		assertNoSecret(t, line, nil, logs.b.String(), dest)
	}
}

// TestCloneSSHHostKeyChecked: the server's host key must be listed for its host and port in
// known_hosts; otherwise the clone fails before the client key is offered.
func TestCloneSSHHostKeyChecked(t *testing.T) {
	f := newFixture(t)
	key := newClientKey(t)
	srv := newSSHServer(t, f.root, key.pub)
	impostor := newClientKey(t) // any key that is not the server's
	_, port, _ := strings.Cut(srv.addr, ":")
	tests := []struct {
		name      string
		known     string
		wantErr   string
		wantConns bool // the refusal happens at the handshake, not before dialling
	}{
		{"another key for the host", knownHostsLine(srv.addr, impostor.pub),
			"ssh host key refused: the key of 127.0.0.1:" + port + " does not match known_hosts", true},
		{"@revoked server key", knownHostsLine(srv.addr, impostor.pub) + "\n@revoked " + knownHostsLine(srv.addr, srv.hostKey.PublicKey()),
			"ssh host key refused: the key of 127.0.0.1:" + port + " is marked @revoked", true},
		{"key listed for the default port only", knownHostsLine("127.0.0.1:22", srv.hostKey.PublicKey()),
			"knownHostsFile: has no key for 127.0.0.1:" + port, false},
		{"key listed for another name", knownHostsLine("localhost:"+port, srv.hostKey.PublicKey()),
			"knownHostsFile: has no key for 127.0.0.1:" + port, false},
		{"empty known_hosts", "", "knownHostsFile: has no key for 127.0.0.1:" + port, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known := writeTemp(t, "known_hosts", tc.known+"\n", 0o644)
			dest := t.TempDir()
			_, err := Clone(context.Background(), Options{
				Repository: srv.url("repo.git"), Dest: dest, KnownHostsFile: known,
				Auth: Auth{SSHKeyFile: key.file, AllowedHosts: []string{srv.addr}},
			})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Clone error = %v, want it to contain %q", err, tc.wantErr)
			}
			if !isEmptyDir(t, dest) {
				t.Error("a failed clone left files in dest")
			}
		})
	}
	srv.stop()
	conns, logins, commands := srv.seen()
	if len(logins) != 0 || len(commands) != 0 {
		t.Errorf("the client authenticated (%q) or ran commands (%q) on a server whose key was refused", logins, commands)
	}
	if conns != 2 {
		t.Errorf("the server saw %d connections, want 2 (the two cases refused at the handshake)", conns)
	}
}

// TestCloneRefs: branches, tags (lightweight and annotated), full ref names and commit SHAs,
// with HEAD on a local branch for a branch and detached otherwise.
func TestCloneRefs(t *testing.T) {
	f := newFixture(t)
	f.allowSHAFetch(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	caFile := ca.file(t)
	tests := []struct {
		ref      string
		want     Result // Dir is filled in
		wantHead string
		readme   string
	}{
		{"", Result{Commit: f.c3, Ref: "refs/heads/main", Shallow: true}, "ref: refs/heads/main", "three\n"},
		{"main", Result{Commit: f.c3, Ref: "refs/heads/main", Shallow: true}, "ref: refs/heads/main", "three\n"},
		{"feature", Result{Commit: f.feature, Ref: "refs/heads/feature", Shallow: true}, "ref: refs/heads/feature", "one\n"},
		{"refs/heads/feature", Result{Commit: f.feature, Ref: "refs/heads/feature", Shallow: true}, "ref: refs/heads/feature", "one\n"},
		{"v1-light", Result{Commit: f.c1, Ref: "refs/tags/v1-light"}, f.c1, "one\n"},
		{"v2", Result{Commit: f.c2, Ref: "refs/tags/v2", Shallow: true}, f.c2, "two\n"},
		{"refs/tags/v2", Result{Commit: f.c2, Ref: "refs/tags/v2", Shallow: true}, f.c2, "two\n"},
		// c2 is no ref's tip (v2 names the tag object): fetched by SHA, as the server allows.
		{f.c2, Result{Commit: f.c2, Shallow: true}, f.c2, "two\n"},
		// c1 is v1-light's tip, c3 main's: fetched through the ref, HEAD detached as asked.
		{f.c1, Result{Commit: f.c1}, f.c1, "one\n"},
		{f.c3, Result{Commit: f.c3, Shallow: true}, f.c3, "three\n"},
		{strings.ToUpper(f.c2), Result{Commit: f.c2, Shallow: true}, f.c2, "two\n"},
	}
	for _, tc := range tests {
		t.Run("ref="+tc.ref, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "repo")
			res, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Ref: tc.ref, Depth: 1, Dest: dest, CABundleFile: caFile})
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			tc.want.Dir = dest
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if got := head(t, dest); got != tc.wantHead {
				t.Errorf("HEAD = %s, want %s", got, tc.wantHead)
			}
			if got := readme(t, dest); got != tc.readme {
				t.Errorf("README = %q, want %q", got, tc.readme)
			}
		})
	}
}

func TestCloneRefErrors(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	tests := []struct{ ref, wantErr string }{
		{"nope", `ref: "nope" is not a branch, tag or ref of the remote`},
		{"refs/heads/nope", `ref: "refs/heads/nope" is not a branch, tag or ref of the remote`},
		{f.c1[:7], `ref: "` + f.c1[:7] + `" is not a branch or tag of the remote; abbreviated commit SHAs are not supported`},
		// Without allowReachableSHA1InWant the whole history is searched; a SHA that is no
		// commit of the repository is reported as such.
		{strings.Repeat("ab", 20), "ref: commit " + strings.Repeat("ab", 20) + " is not reachable from any branch or tag of the remote"},
		{"-upload-pack=x", `ref: "-upload-pack=x" must start with a letter or digit`},
		{"main:refs/heads/x", `ref: "main:refs/heads/x" must start with a letter or digit and contain only`},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			dest := t.TempDir()
			_, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Ref: tc.ref, Depth: 1, Dest: dest, CABundleFile: ca.file(t)})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Clone error = %v, want it to contain %q", err, tc.wantErr)
			}
			if !isEmptyDir(t, dest) {
				t.Error("a failed clone left files in dest")
			}
		})
	}
}

// TestCloneCommitWithoutServerSupport: a server that refuses fetching arbitrary SHAs still lets
// a commit be cloned: all branches and tags are fetched with full history (depth is ignored).
func TestCloneCommitWithoutServerSupport(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	dest := t.TempDir()
	var logs logSink
	res, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Ref: f.c2, Depth: 1, Dest: dest, CABundleFile: ca.file(t), Log: logs.logger()})
	if err != nil {
		t.Fatalf("Clone: %v", err)
	}
	if diff := cmp.Diff(Result{Commit: f.c2, Dir: dest}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.b.String(), "depth is not honoured") {
		t.Errorf("the fallback was not logged:\n%s", logs.b.String())
	}
	if diff := cmp.Diff([]bool{true, true, true, true}, present(t, dest, f.c1, f.c2, f.c3, f.feature)); diff != "" {
		t.Errorf("commits present (c1, c2, c3, feature) (-want +got):\n%s", diff)
	}
}

// TestCloneDepth: depth N keeps exactly the N newest commits of the branch; 0 keeps all.
func TestCloneDepth(t *testing.T) {
	f := newFixture(t)
	key := newClientKey(t)
	srv := newSSHServer(t, f.root, key.pub)
	known := writeTemp(t, "known_hosts", knownHostsLine(srv.addr, srv.hostKey.PublicKey())+"\n", 0o600)
	tests := []struct {
		depth       int
		wantShallow bool
		want        []bool // c3, c2, c1
	}{
		{1, true, []bool{true, false, false}},
		{2, true, []bool{true, true, false}},
		{3, false, []bool{true, true, true}}, // as deep as the history: nothing is cut
		{0, false, []bool{true, true, true}},
	}
	for _, tc := range tests {
		t.Run(strings.Repeat("d", tc.depth+1), func(t *testing.T) {
			dest := t.TempDir()
			res, err := Clone(context.Background(), Options{
				Repository: srv.url("repo.git"), Depth: tc.depth, Dest: dest, KnownHostsFile: known,
				Auth: Auth{SSHKeyFile: key.file, AllowedHosts: []string{srv.addr}},
			})
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			if res.Shallow != tc.wantShallow {
				t.Errorf("Shallow = %v, want %v", res.Shallow, tc.wantShallow)
			}
			if diff := cmp.Diff(tc.want, present(t, dest, f.c3, f.c2, f.c1)); diff != "" {
				t.Errorf("commits present (c3, c2, c1) (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClonePath: path must exist and resolve inside the checkout; symlinks leading out of it
// (absolute, or climbing with ..) are refused, a symlink to a directory of the checkout is
// followed. Symlinks are checked out as symlinks.
func TestClonePath(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	caFile := ca.file(t)
	tests := []struct {
		path    string
		wantDir string // relative to dest
		wantErr string
	}{
		{"", ".", ""},
		{"docs", "docs", ""},
		{"docs/a.md", "docs/a.md", ""},
		{"docs-dir", "docs", ""},
		{"docs-dir/b.md", "docs/b.md", ""},
		{"evil", "", `path: "evil" does not resolve inside the repository`},
		{"evil/passwd", "", `path: "evil/passwd" does not resolve inside the repository`},
		{"climb", "", `path: "climb" does not resolve inside the repository`},
		{"missing", "", `path: "missing" does not exist in the repository`},
		{"docs/a.md/x", "", `path: "docs/a.md/x"`},
		{".git", "", `path: ".git" must not be inside .git`},
		{"../x", "", `path: "../x" must be normalized`},
	}
	for _, tc := range tests {
		t.Run("path="+tc.path, func(t *testing.T) {
			dest := t.TempDir()
			res, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Path: tc.path, Depth: 1, Dest: dest, CABundleFile: caFile})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Clone error = %v, want it to contain %q", err, tc.wantErr)
				}
				if !isEmptyDir(t, dest) {
					t.Error("a refused clone left files in dest")
				}
				return
			}
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			if want := filepath.Join(dest, tc.wantDir); res.Dir != want {
				t.Errorf("Dir = %s, want %s", res.Dir, want)
			}
			for link, target := range map[string]string{"evil": "/etc", "climb": "../../../../../../../../etc", "docs-dir": "docs"} {
				fi, err := os.Lstat(filepath.Join(dest, link))
				if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
					t.Errorf("%s is not a symlink: %v %v", link, fi, err)
					continue
				}
				if got, _ := os.Readlink(filepath.Join(dest, link)); got != target {
					t.Errorf("%s -> %s, want -> %s", link, got, target)
				}
			}
		})
	}
}
