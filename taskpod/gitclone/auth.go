package gitclone

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// httpAuth is go-git's HTTP AuthMethod, bound to one origin: SetAuth adds the Authorization
// header only to requests whose URL is https on the repository's exact host and port. go-git
// calls SetAuth for every request it builds; this check holds even if go-git kept the method
// after a redirect moved the session elsewhere (go-git itself also drops it, and strips the
// header from redirect hops that leave the origin).
type httpAuth struct {
	host     string
	port     int
	username string
	token    string
	bearer   bool
}

var _ githttp.AuthMethod = (*httpAuth)(nil)

func (a *httpAuth) Name() string { return "kubeopencode-http-token" }

// String never shows the token.
func (a *httpAuth) String() string {
	return fmt.Sprintf("%s (host %s, token redacted)", a.Name(), net.JoinHostPort(a.host, strconv.Itoa(a.port)))
}

func (a *httpAuth) SetAuth(r *http.Request) {
	if !a.sameOrigin(r) {
		return
	}
	if a.bearer {
		r.Header.Set("Authorization", "Bearer "+a.token)
		return
	}
	r.SetBasicAuth(a.username, a.token)
}

func (a *httpAuth) sameOrigin(r *http.Request) bool {
	if r == nil || r.URL == nil || !strings.EqualFold(r.URL.Scheme, SchemeHTTPS) {
		return false
	}
	host := r.URL.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		host = addr.String()
	}
	port := DefaultHTTPSPort
	if p := r.URL.Port(); p != "" {
		var err error
		if port, err = strconv.Atoi(p); err != nil {
			return false
		}
	}
	// Exact comparison with the canonical (lower-case) host: a name in another case is refused,
	// which can only cost a credential, never send one elsewhere.
	return host == a.host && port == a.port
}

// sshAuth is go-git's SSH AuthMethod: public-key authentication with a host key callback that
// accepts only keys listed for the repository's host in known_hosts. There is no other mode.
type sshAuth struct {
	user     string
	signer   ssh.Signer
	hostPort string // the address the callback accepts, host:port
	known    ssh.HostKeyCallback
	algos    []string
	timeout  time.Duration
}

var _ gitssh.AuthMethod = (*sshAuth)(nil)

func (a *sshAuth) Name() string { return "kubeopencode-ssh-key" }

// String never shows the key.
func (a *sshAuth) String() string {
	return fmt.Sprintf("%s (user %s, host %s, key redacted)", a.Name(), a.user, a.hostPort)
}

func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback:   a.checkHostKey,
		HostKeyAlgorithms: a.algos,
		Timeout:           a.timeout,
	}, nil
}

// errHostKey marks every host-key refusal.
var errHostKey = errors.New("ssh host key refused")

// checkHostKey accepts the server only if it is the repository's host (go-git may rewrite the
// address from an ssh_config file; a rewrite is refused rather than trusted) and its key is
// listed for that host in known_hosts.
func (a *sshAuth) checkHostKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if !sameHostPort(hostname, a.hostPort) {
		return fmt.Errorf("%w: connected to %q, but the repository host is %q", errHostKey, hostname, a.hostPort)
	}
	if err := a.known(a.hostPort, remote, key); err != nil {
		return describeKnownHostsError(a.hostPort, err)
	}
	return nil
}

func sameHostPort(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || ap != bp {
		return false
	}
	canon := func(h string) string {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if addr, err := netip.ParseAddr(h); err == nil {
			return addr.String()
		}
		return strings.ToLower(h)
	}
	return canon(ah) == canon(bh)
}

func describeKnownHostsError(hostPort string, err error) error {
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		return fmt.Errorf("%w: the key of %s is marked @revoked in known_hosts", errHostKey, hostPort)
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		return fmt.Errorf("%w: %s is not in known_hosts (knownHostsFile)", errHostKey, hostPort)
	case errors.As(err, &keyErr):
		return fmt.Errorf("%w: the key of %s does not match known_hosts (knownHostsFile): refusing a possible man-in-the-middle", errHostKey, hostPort)
	default:
		return fmt.Errorf("%w: %s: %v", errHostKey, hostPort, err)
	}
}

// knownHostAlgorithms returns the host key algorithms that known_hosts lists for hostPort, so the
// server is asked for a key that can be verified (otherwise a server preferring another key type
// would fail with a mismatch although a good key is known). It fails when the host has no plain
// key line, before any connection is made. @cert-authority lines are not supported.
func knownHostAlgorithms(cb ssh.HostKeyCallback, hostPort string) ([]string, error) {
	// Ask the callback about a throwaway key: the KeyError it returns lists the known keys.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	remote, err := net.ResolveTCPAddr("tcp", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	err = cb(hostPort, remote, probe)
	var keyErr *knownhosts.KeyError
	if err == nil || !errors.As(err, &keyErr) || len(keyErr.Want) == 0 {
		return nil, fmt.Errorf("knownHostsFile: has no key for %s (hashed and plain host lines are read; @cert-authority lines are not supported)", hostPort)
	}
	var algos []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(algos, n) {
				algos = append(algos, n)
			}
		}
	}
	for _, k := range keyErr.Want {
		if bytes.Equal(k.Key.Marshal(), probe.Marshal()) {
			continue
		}
		if k.Key.Type() == ssh.KeyAlgoRSA {
			// An RSA host key signs with SHA-2 (RFC 8332); plain ssh-rsa (SHA-1) is last.
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
			continue
		}
		add(k.Key.Type())
	}
	return algos, nil
}
