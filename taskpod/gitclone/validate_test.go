package gitclone

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestCloneRefusesBadOptions: every bad option is refused before any connection, with an error
// that names the option and never holds secret data; dest is not created or touched.
func TestCloneRefusesBadOptions(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	repo := srv.url("127.0.0.1")
	sshRepo := "ssh://git@" + srv.authority() + "/repo.git" // never dialled: refused first
	allowed := []string{srv.authority()}
	token := writeTemp(t, "token", testToken, 0o600)
	key := newClientKey(t)
	known := writeTemp(t, "known_hosts", "", 0o600)

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encBlock, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	encrypted := writeTemp(t, "id_enc", string(pem.EncodeToMemory(encBlock)), 0o600)
	notAKey := writeTemp(t, "id_bad", testToken, 0o600)

	notEmpty := t.TempDir()
	writeFile(t, filepath.Join(notEmpty, "x"), "x")
	aFile := writeTemp(t, "file", "x", 0o644)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}

	ok := func(mut func(*Options)) Options {
		o := Options{Repository: repo, Depth: 1, Dest: filepath.Join(t.TempDir(), "dest"), CABundleFile: ca.file(t),
			Auth: Auth{TokenFile: token, AllowedHosts: allowed}}
		mut(&o)
		return o
	}
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"http", ok(func(o *Options) { o.Repository = "http://" + srv.authority() + "/repo.git" }), "repository: "},
		{"file", ok(func(o *Options) { o.Repository = "file://" + f.bare }), "repository: "},
		{"local path", ok(func(o *Options) { o.Repository = f.bare }), "repository: "},
		{"token in the URL", ok(func(o *Options) { o.Repository = "https://x:" + testToken + "@" + srv.authority() + "/repo.git" }), "repository: "},
		{"negative depth", ok(func(o *Options) { o.Depth = -1 }), "depth: -1 must be within 0-1000000"},
		{"huge depth", ok(func(o *Options) { o.Depth = MaxDepth + 1 }), "depth: 1000001 must be within"},
		{"absolute path", ok(func(o *Options) { o.Path = "/etc" }), "path: "},
		{"traversal", ok(func(o *Options) { o.Path = "docs/../../x" }), "path: "},
		{"ref option", ok(func(o *Options) { o.Ref = "--upload-pack=touch" }), "ref: "},
		{"long ref", ok(func(o *Options) { o.Ref = strings.Repeat("a", MaxRefLength+1) }), "ref: is longer than 255"},
		{"no dest", ok(func(o *Options) { o.Dest = "" }), "dest: is required"},
		{"dest not empty", ok(func(o *Options) { o.Dest = notEmpty }), "is not empty"},
		{"dest is a file", ok(func(o *Options) { o.Dest = aFile }), "is not a directory"},
		{"dest is a symlink", ok(func(o *Options) { o.Dest = link }), "must not be a symlink"},
		{"dest parent missing", ok(func(o *Options) { o.Dest = filepath.Join(t.TempDir(), "a", "b") }), "dest: "},
		{"negative timeout", ok(func(o *Options) { o.DialTimeout = -1 }), "dialTimeout: must not be negative"},
		{"username twice", ok(func(o *Options) { o.Auth.Username, o.Auth.UsernameFile = "a", token }), "auth: username and usernameFile are exclusive"},
		{"bearer without token", ok(func(o *Options) { o.Auth = Auth{Bearer: true, AllowedHosts: allowed} }), "auth: username, usernameFile and bearer need tokenFile"},
		{"bad username", ok(func(o *Options) { o.Auth.Username = "a:b" }), "auth.username: "},
		{"missing token file", ok(func(o *Options) { o.Auth.TokenFile = filepath.Join(t.TempDir(), "none") }), "auth.tokenFile: "},
		{"token writable by others", ok(func(o *Options) { o.Auth.TokenFile = writeTemp(t, "token", testToken, 0o666) }), "must not be writable by group or others"},
		{"token writable by group", ok(func(o *Options) { o.Auth.TokenFile = writeTemp(t, "token", testToken, 0o620) }), "must not be writable by group or others"},
		{"empty token", ok(func(o *Options) { o.Auth.TokenFile = writeTemp(t, "token", "\n", 0o600) }), "auth.tokenFile: "},
		{"token with a space", ok(func(o *Options) { o.Auth.TokenFile = writeTemp(t, "token", testToken+" x", 0o600) }), "has a forbidden character at byte 24"},
		{"token with two lines", ok(func(o *Options) { o.Auth.TokenFile = writeTemp(t, "token", testToken+"\n\n", 0o600) }), "has a forbidden character"},
		{"token is a directory", ok(func(o *Options) { o.Auth.TokenFile = t.TempDir() }), "is not a regular file"},
		{"token too big", ok(func(o *Options) { o.Auth.TokenFile = writeTemp(t, "token", strings.Repeat("a", maxFileSize+1), 0o600) }), "is larger than"},
		{"username file with ':'", ok(func(o *Options) { o.Auth.UsernameFile = writeTemp(t, "user", "a:b", 0o600) }), "auth.usernameFile: "},
		{"CA bundle not PEM", ok(func(o *Options) { o.CABundleFile = writeTemp(t, "ca", "junk", 0o644) }), "caBundleFile: "},
		{"CA bundle writable", ok(func(o *Options) { o.CABundleFile = writeTemp(t, "ca", string(ca.pem), 0o666) }), "caBundleFile: "},
		{"ssh without key", ok(func(o *Options) { o.Repository, o.KnownHostsFile = sshRepo, known }), "auth.sshKeyFile: is required"},
		{"ssh without known_hosts", ok(func(o *Options) { o.Repository, o.Auth.SSHKeyFile = sshRepo, key.file }), "knownHostsFile: is required"},
		{"ssh key encrypted", ok(func(o *Options) { o.Repository, o.Auth.SSHKeyFile, o.KnownHostsFile = sshRepo, encrypted, known }), "auth.sshKeyFile: " + `"` + encrypted + `" is encrypted`},
		{"ssh key garbage", ok(func(o *Options) { o.Repository, o.Auth.SSHKeyFile, o.KnownHostsFile = sshRepo, notAKey, known }), "is not a private key"},
		{"ssh key writable", ok(func(o *Options) {
			o.Repository, o.KnownHostsFile = sshRepo, known
			o.Auth.SSHKeyFile = writeTemp(t, "id", "x", 0o646)
		}), "auth.sshKeyFile: "},
		{"known_hosts writable", ok(func(o *Options) {
			o.Repository, o.Auth.SSHKeyFile = sshRepo, key.file
			o.KnownHostsFile = writeTemp(t, "known_hosts", "", 0o664)
		}), "knownHostsFile: "},
		{"known_hosts without the host", ok(func(o *Options) { o.Repository, o.Auth.SSHKeyFile, o.KnownHostsFile = sshRepo, key.file, known }), "knownHostsFile: has no key for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logSink
			tc.opts.Log = logs.logger()
			_, err := Clone(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Clone error = %v, want it to contain %q", err, tc.wantErr)
			}
			assertNoSecret(t, testToken, err, logs.b.String(), "")
			if strings.HasPrefix(filepath.Base(tc.opts.Dest), "dest") {
				if _, serr := os.Lstat(tc.opts.Dest); !errors.Is(serr, fs.ErrNotExist) {
					t.Errorf("dest was created although the options were refused")
				}
			}
		})
	}
	if auths, _ := srv.seen(); len(auths) != 0 {
		t.Errorf("the server saw %d requests for refused options", len(auths))
	}
	for _, d := range []string{notEmpty, link} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was touched: %v", d, err)
		}
	}
	if entries, _ := os.ReadDir(notEmpty); len(entries) != 1 {
		t.Errorf("the non-empty dest was changed: %v", entries)
	}
}
