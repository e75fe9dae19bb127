package gitclone

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

func TestParseRepository(t *testing.T) {
	tests := []struct {
		in        string
		want      Endpoint
		authority string
		wantErr   string
	}{
		{in: "https://github.com/org/repo.git", want: Endpoint{Scheme: "https", Host: "github.com", Port: 443, Path: "/org/repo.git"}, authority: "github.com"},
		{in: "https://GitHub.COM/org/repo", want: Endpoint{Scheme: "https", Host: "github.com", Port: 443, Path: "/org/repo"}, authority: "github.com"},
		{in: "https://git.example.com:8443/r", want: Endpoint{Scheme: "https", Host: "git.example.com", Port: 8443, Path: "/r"}, authority: "git.example.com:8443"},
		{in: "https://git.example.com:443/r", want: Endpoint{Scheme: "https", Host: "git.example.com", Port: 443, Path: "/r"}, authority: "git.example.com"},
		{in: "https://127.0.0.1:3000/r.git", want: Endpoint{Scheme: "https", Host: "127.0.0.1", Port: 3000, Path: "/r.git"}, authority: "127.0.0.1:3000"},
		{in: "https://[::1]:3000/r.git", want: Endpoint{Scheme: "https", Host: "::1", Port: 3000, Path: "/r.git"}, authority: "[::1]:3000"},
		{in: "https://[2001:DB8::1]/r.git", want: Endpoint{Scheme: "https", Host: "2001:db8::1", Port: 443, Path: "/r.git"}, authority: "[2001:db8::1]"},
		{in: "ssh://git@github.com/org/repo.git", want: Endpoint{Scheme: "ssh", User: "git", Host: "github.com", Port: 22, Path: "/org/repo.git"}, authority: "github.com"},
		{in: "ssh://github.com/org/repo.git", want: Endpoint{Scheme: "ssh", User: "git", Host: "github.com", Port: 22, Path: "/org/repo.git"}, authority: "github.com"},
		{in: "ssh://deploy@git.example.com:2222/srv/repo", want: Endpoint{Scheme: "ssh", User: "deploy", Host: "git.example.com", Port: 2222, Path: "/srv/repo"}, authority: "git.example.com:2222"},
		{in: "git@github.com:org/repo.git", want: Endpoint{Scheme: "ssh", User: "git", Host: "github.com", Port: 22, Path: "org/repo.git"}, authority: "github.com"},
		{in: "git@10.0.0.1:/srv/repo", want: Endpoint{Scheme: "ssh", User: "git", Host: "10.0.0.1", Port: 22, Path: "/srv/repo"}, authority: "10.0.0.1"},

		{in: "", wantErr: "repository: is required"},
		{in: "http://github.com/org/repo", wantErr: "only https:// and ssh:// URLs"},
		{in: "git://github.com/org/repo", wantErr: "only https:// and ssh:// URLs"},
		{in: "file:///etc/repo", wantErr: "only https:// and ssh:// URLs"},
		{in: "HTTPS://github.com/org/repo", wantErr: "only https:// and ssh:// URLs"},
		{in: "ext::sh -c touch% /tmp/pwned", wantErr: "must not contain whitespace"},
		{in: "ext::sh", wantErr: "only https:// and ssh:// URLs"},
		{in: "/srv/repo.git", wantErr: "must be an https:// or ssh:// URL or user@host:path"},
		{in: "./repo", wantErr: "must be an https:// or ssh:// URL or user@host:path"},
		{in: "repo:path", wantErr: "must be an https:// or ssh:// URL or user@host:path"},
		{in: "C:/repo", wantErr: "must be an https:// or ssh:// URL or user@host:path"},
		{in: "a/b@host:path", wantErr: "must be an https:// or ssh:// URL or user@host:path"},
		{in: "https://user:pw@github.com/org/repo", wantErr: `"https://user:xxxxx@github.com/org/repo" must not contain user information`},
		{in: "https://token@github.com/org/repo", wantErr: "must not contain user information"},
		{in: "ssh://git:pw@github.com/r", wantErr: `"ssh://git:xxxxx@github.com/r" must not contain a password`},
		{in: "https://github.com/org/repo?x=1", wantErr: "must not have a query or fragment"},
		{in: "https://github.com/org/repo#frag", wantErr: "must not have a query or fragment"},
		{in: "https://github.com/org/repo?", wantErr: "must not have a query or fragment"},
		{in: "https://github.com", wantErr: "path must not be empty"},
		{in: "https://github.com/", wantErr: "path must not be empty"},
		{in: "https:///org/repo", wantErr: "has no host"},
		{in: "https://github.com:/org/repo", wantErr: "has an empty port"},
		{in: "https://github.com:0/r", wantErr: "must be a number in 1-65535"},
		{in: "https://github.com:99999/r", wantErr: "must be a number in 1-65535"},
		{in: "https://github.com:0443/r", wantErr: "without leading zeros"},
		{in: "https://git hub.com/r", wantErr: "must not contain whitespace"},
		{in: "https://github.com/r\n", wantErr: "must not contain whitespace"},
		{in: "https://gïthub.com/r", wantErr: "non-ASCII"},
		{in: "https://github.com./r", wantErr: "not a valid DNS name"},
		{in: "https://-evil.com/r", wantErr: "label starts or ends with -"},
		{in: "https://git_hub.com/r", wantErr: "may contain only letters, digits, . and -"},
		{in: "https://git%68ub.com/r", wantErr: "repository:"},
		{in: "https://[fe80::1%25eth0]/r", wantErr: "must not have an IPv6 zone"},
		{in: "https://[github.com]/r", wantErr: "repository:"},
		{in: "https://::1/r", wantErr: "repository:"},
		{in: "ssh://-oProxyCommand=x/r", wantErr: "label starts or ends with -"},
		{in: "ssh://git@host/-r", want: Endpoint{Scheme: "ssh", User: "git", Host: "host", Port: 22, Path: "/-r"}, authority: "host"},
		{in: "-oProxyCommand=x@host:r", wantErr: `user name "-oProxyCommand=x" must not start with -`},
		{in: "git@host:-r", wantErr: "must not start with -"},
		{in: "git@host:2222:repo", wantErr: "ambiguous (port or path)"},
		{in: "git@host:", wantErr: "path must not be empty"},
		{in: "git@[::1]:repo", wantErr: "may contain only letters, digits, . and - in the user@host:path form"},
		{in: "git@host:path\\x", wantErr: "backslash"},
		{in: "https://github.com/" + strings.Repeat("a", MaxRepositoryLength), wantErr: "is longer than 2048 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRepository(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "repository: ") {
					t.Fatalf("ParseRepository(%q) = %+v, %v; want an error naming repository, containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRepository(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRepository(%q) (-want +got):\n%s", tc.in, diff)
			}
			if a := got.Authority(); a != tc.authority {
				t.Errorf("Authority() = %q, want %q", a, tc.authority)
			}
		})
	}
}

func TestParseAllowedHost(t *testing.T) {
	type hp struct {
		Host string
		Port int
	}
	tests := []struct {
		entry, scheme string
		want          hp
		wantErr       string
	}{
		{"github.com", "https", hp{"github.com", 443}, ""},
		{"github.com", "ssh", hp{"github.com", 22}, ""},
		{"GitHub.com:8443", "https", hp{"github.com", 8443}, ""},
		{"[::1]", "ssh", hp{"::1", 22}, ""},
		{"[::1]:2222", "ssh", hp{"::1", 2222}, ""},
		{"10.0.0.1:22", "https", hp{"10.0.0.1", 22}, ""},
		{"*.github.com", "https", hp{}, "may contain only letters"},
		{"github.com:", "https", hp{}, "empty port"},
		{"github.com:x", "https", hp{}, "must be a number"},
		{"[::1", "https", hp{}, "missing ]"},
		{"[::1]x", "https", hp{}, "expected :port"},
		{"[::1]:", "https", hp{}, "empty port"},
		{"::1", "https", hp{}, "must be in brackets"},
		{"", "https", hp{}, "host must not be empty"},
		{"https://github.com", "https", hp{}, "must be a number"},
	}
	for _, tc := range tests {
		t.Run(tc.entry+","+tc.scheme, func(t *testing.T) {
			host, port, err := ParseAllowedHost(tc.entry, tc.scheme)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseAllowedHost(%q) = %q, %d, %v; want an error containing %q", tc.entry, host, port, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, hp{host, port}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestHTTPAuthOrigin: the token is attached only to https requests for the exact host and port.
func TestHTTPAuthOrigin(t *testing.T) {
	a := &httpAuth{host: "git.example.com", port: 443, username: "git", token: testToken}
	tests := []struct {
		url  string
		want bool
	}{
		{"https://git.example.com/r.git/info/refs", true},
		{"https://git.example.com:443/r.git/git-upload-pack", true},
		{"https://GIT.example.com/r.git", false}, // canonical hosts only: never more permissive
		{"http://git.example.com/r.git", false},
		{"https://git.example.com:8443/r.git", false},
		{"https://evil.example.com/r.git", false},
		{"https://git.example.com.evil.com/r.git", false},
		{"https://sub.git.example.com/r.git", false},
		{"https://example.com/r.git", false},
	}
	for _, tc := range tests {
		r, err := http.NewRequest(http.MethodGet, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.SetAuth(r)
		if got := r.Header.Get("Authorization") != ""; got != tc.want {
			t.Errorf("SetAuth(%s) set Authorization: %v, want %v", tc.url, got, tc.want)
		}
	}
	if s := a.String(); strings.Contains(s, testToken) {
		t.Errorf("String() shows the token: %s", s)
	}
}

// FuzzRepositoryURL: ParseRepository never panics, and whatever it accepts is https or ssh, has
// a host in canonical form, and is where go-git's parser says the connection goes, so the host
// the credentials are bound to is the host that is dialled. The endpoint allows its own
// authority and no other port.
func FuzzRepositoryURL(f *testing.F) {
	for _, s := range []string{
		"https://github.com/org/repo.git", "ssh://git@github.com:2222/org/repo", "git@github.com:org/repo.git",
		"https://[::1]:8443/r", "http://x/y", "file:///x", "git@host:22:x", "https://a@b/c", "ext::sh",
		"https://host:0443/r", "git@host:/abs", "ssh://h/~user/r", "https://h/%2e%2e/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ep, err := ParseRepository(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "repository: ") {
				t.Fatalf("error does not name the field: %v", err)
			}
			return
		}
		if ep.Scheme != SchemeHTTPS && ep.Scheme != SchemeSSH {
			t.Fatalf("accepted scheme %q for %q", ep.Scheme, raw)
		}
		if ep.Scheme == SchemeHTTPS && ep.User != "" || ep.Scheme == SchemeSSH && ep.User == "" {
			t.Fatalf("user %q for %q", ep.User, raw)
		}
		if ep.Port < 1 || ep.Port > 65535 || ep.Host == "" || ep.Path == "" {
			t.Fatalf("incomplete endpoint %+v for %q", ep, raw)
		}
		if addr, err := netip.ParseAddr(ep.Host); err == nil {
			if addr.String() != ep.Host {
				t.Fatalf("IP host %q not canonical", ep.Host)
			}
		} else if ep.Host != strings.ToLower(ep.Host) || strings.HasPrefix(ep.Host, "-") {
			t.Fatalf("host %q not canonical", ep.Host)
		}
		gep, err := transport.NewEndpoint(raw)
		if err != nil {
			t.Fatalf("go-git refuses %q, which was accepted: %v", raw, err)
		}
		port := gep.Port
		if port == 0 {
			port = defaultPort(gep.Protocol)
		}
		if gep.Protocol != ep.Scheme || port != ep.Port || gep.Password != "" {
			t.Fatalf("go-git: %s port %d for %q; here %+v", gep.Protocol, port, raw, ep)
		}
		host, port2, err := ParseAllowedHost(ep.Authority(), ep.Scheme)
		if err != nil || host != ep.Host || port2 != ep.Port {
			t.Fatalf("Authority %q parses to %q, %d, %v; want %q, %d", ep.Authority(), host, port2, err, ep.Host, ep.Port)
		}
		if ok, err := hostAllowed(ep, []string{ep.Authority()}); !ok || err != nil {
			t.Fatalf("the endpoint's own authority %q is not allowed: %v", ep.Authority(), err)
		}
		other := ep
		other.Port = ep.Port%65535 + 1
		if ok, _ := hostAllowed(other, []string{ep.Authority()}); ok {
			t.Fatalf("authority %q allows port %d", ep.Authority(), other.Port)
		}
	})
}

// TestSSHHostKeyBoundToHost: the host key callback refuses any address other than the
// repository's (e.g. one rewritten by an ssh_config Hostname), even when known_hosts would
// accept the key there.
func TestSSHHostKeyBoundToHost(t *testing.T) {
	var asked []string
	a := &sshAuth{hostPort: "git.example.com:22", known: func(host string, _ net.Addr, _ ssh.PublicKey) error {
		asked = append(asked, host)
		return nil
	}}
	key := newClientKey(t).pub
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
	for host, wantOK := range map[string]bool{
		"git.example.com:22":   true,
		"GIT.example.com:22":   true,
		"git.example.com:2222": false,
		"evil.example.com:22":  false,
		"192.0.2.1:22":         false,
		"git.example.com":      false,
	} {
		err := a.checkHostKey(host, remote, key)
		if (err == nil) != wantOK {
			t.Errorf("checkHostKey(%q) = %v, want accepted: %v", host, err, wantOK)
		}
		if err != nil && !errors.Is(err, errHostKey) {
			t.Errorf("checkHostKey(%q) error %v is not errHostKey", host, err)
		}
	}
	if diff := cmp.Diff([]string{"git.example.com:22", "git.example.com:22"}, asked); diff != "" {
		t.Errorf("known_hosts was asked about (-want +got):\n%s", diff)
	}
}
