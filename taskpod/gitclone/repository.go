package gitclone

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// MaxRepositoryLength is the longest repository URL accepted (the API's limit).
const MaxRepositoryLength = 2048

// Schemes of a parsed [Endpoint].
const (
	SchemeHTTPS = "https"
	SchemeSSH   = "ssh"
)

// Default ports, used when the URL names none. An allowed host written without a port means the
// scheme's default port.
const (
	DefaultHTTPSPort = 443
	DefaultSSHPort   = 22
)

// Endpoint is a parsed, validated repository location: the host and port the clone will connect
// to, which is what credentials are bound to.
type Endpoint struct {
	// Scheme is SchemeHTTPS or SchemeSSH (an scp-like user@host:path is SchemeSSH).
	Scheme string
	// User is the SSH login name ("git" when the URL names none). Always empty for https: an
	// https URL may not carry user information.
	User string
	// Host is the host name in lower case, or an IP address in its canonical form (IPv6 without
	// brackets).
	Host string
	// Port is the effective port: the URL's, or the scheme's default.
	Port int
	// Path is the repository path on the server, as written in the URL.
	Path string
}

// defaultSSHUser is the login name used when an ssh:// URL names none. Every large Git host uses
// "git", and the local user name of the init container means nothing to the server.
const defaultSSHUser = "git"

// Authority is the endpoint's host as an allowed-host entry: the host alone when the port is the
// scheme's default, host:port otherwise (IPv6 in brackets). taskpod.Build uses it to compute the
// hosts a Git Secret is bound to from the Agent's repositories.
func (e Endpoint) Authority() string {
	if e.Port == defaultPort(e.Scheme) {
		if strings.Contains(e.Host, ":") {
			return "[" + e.Host + "]"
		}
		return e.Host
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// HostPort is the address the clone dials: host:port with the effective port.
func (e Endpoint) HostPort() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

func defaultPort(scheme string) int {
	if scheme == SchemeSSH {
		return DefaultSSHPort
	}
	return DefaultHTTPSPort
}

// errRepository prefixes every repository validation error.
var errRepository = errors.New("repository")

func repoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errRepository, fmt.Sprintf(format, args...))
}

// ParseRepository validates a repository URL and returns where it points. Accepted forms:
//
//   - https://host[:port]/path: no user information (credentials come from the Secret, never
//     the URL), no query or fragment;
//   - ssh://[user@]host[:port]/path: a user name but no password;
//   - user@host:path (scp-like, port 22), where the path must not start with "<digits>:"
//     (go-git would read that as a port, Git as a path).
//
// Everything else is refused: http://, git://, file://, ext::, other schemes, local paths, URLs
// with whitespace, control or non-ASCII characters, and hosts or paths starting with "-". The
// result is cross-checked against go-git's own parser, so the host the credentials are bound to
// is the host go-git connects to.
func ParseRepository(raw string) (Endpoint, error) {
	if raw == "" {
		return Endpoint{}, repoErr("is required")
	}
	if len(raw) > MaxRepositoryLength {
		return Endpoint{}, repoErr("is longer than %d characters", MaxRepositoryLength)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return Endpoint{}, repoErr("%q must not contain whitespace, control or non-ASCII characters", raw)
		}
	}
	var (
		ep  Endpoint
		err error
	)
	switch {
	case strings.HasPrefix(raw, "https://"):
		ep, err = parseURL(raw, SchemeHTTPS)
	case strings.HasPrefix(raw, "ssh://"):
		ep, err = parseURL(raw, SchemeSSH)
	case strings.Contains(raw, "://") || strings.HasPrefix(raw, "ext::"):
		return Endpoint{}, repoErr("%q: only https:// and ssh:// URLs (or user@host:path) are allowed", raw)
	default:
		ep, err = parseSCPLike(raw)
	}
	if err != nil {
		return Endpoint{}, err
	}
	if err := agreesWithGoGit(raw, ep); err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

func parseURL(raw, scheme string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL; it holds no credential because https URLs with user
		// information are refused and ssh URLs carry no secret.
		return Endpoint{}, repoErr("%q is not a valid URL: %v", raw, errors.Unwrap(err))
	}
	if u.Opaque != "" || u.Host == "" {
		return Endpoint{}, repoErr("%q has no host", raw)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return Endpoint{}, repoErr("%q must not have a query or fragment", raw)
	}
	ep := Endpoint{Scheme: scheme, Path: u.Path}
	if u.User != nil {
		if scheme == SchemeHTTPS {
			// Redacted: a password here would be a credential.
			return Endpoint{}, repoErr("%q must not contain user information: credentials come from the Secret", u.Redacted())
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return Endpoint{}, repoErr("%q must not contain a password", u.Redacted())
		}
		ep.User = u.User.Username()
		if err := checkUser(ep.User); err != nil {
			return Endpoint{}, err
		}
	}
	if scheme == SchemeSSH && ep.User == "" {
		ep.User = defaultSSHUser
	}
	host, err := canonicalHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %w", errRepository, err)
	}
	ep.Host = host
	ep.Port = defaultPort(scheme)
	if p := u.Port(); p != "" {
		if ep.Port, err = parsePort(p); err != nil {
			return Endpoint{}, fmt.Errorf("%w: %w", errRepository, err)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return Endpoint{}, repoErr("%q has an empty port", raw)
	}
	if err := checkRepoPath(ep.Path); err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// parseSCPLike parses user@host:path, the form the API allows besides URLs. The user is required
// (as in the API's rule), which also keeps "C:path" and "host:path" out.
func parseSCPLike(raw string) (Endpoint, error) {
	userHost, path, ok := strings.Cut(raw, ":")
	user, host, hasUser := strings.Cut(userHost, "@")
	if !ok || !hasUser || strings.Contains(userHost, "/") {
		return Endpoint{}, repoErr("%q must be an https:// or ssh:// URL or user@host:path (http://, git://, file:// and local paths are refused)", raw)
	}
	if err := checkUser(user); err != nil {
		return Endpoint{}, err
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isAlnum(c) && c != '.' && c != '-' {
			return Endpoint{}, repoErr("%q: host %q may contain only letters, digits, . and - in the user@host:path form", raw, host)
		}
	}
	canon, err := canonicalHost(host, false)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %w", errRepository, err)
	}
	if digits, _, isPort := strings.Cut(path, ":"); isPort && digits != "" && len(digits) <= 5 && allDigits(digits) {
		return Endpoint{}, repoErr("%q: a path starting with digits and ':' is ambiguous (port or path); use ssh://host:port/path", raw)
	}
	if err := checkRepoPath(path); err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Scheme: SchemeSSH, User: user, Host: canon, Port: DefaultSSHPort, Path: path}, nil
}

func checkUser(user string) error {
	if user == "" {
		return repoErr("user name must not be empty")
	}
	if user[0] == '-' {
		return repoErr("user name %q must not start with -", user)
	}
	for i := 0; i < len(user); i++ {
		if c := user[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return repoErr("user name %q may contain only letters, digits and . _ -", user)
		}
	}
	return nil
}

// canonicalHost validates a host and returns it in the form hosts are compared in: an IP address
// as netip prints it, a name in ASCII lower case. Names are restricted to letters, digits, "."
// and "-" (no "_", no percent-encoding, no leading "-" or "."), so two spellings that DNS
// resolves alike cannot compare differently, and nothing can look like an option.
func canonicalHost(host string, bracketed bool) (string, error) {
	if host == "" {
		return "", fmt.Errorf("host must not be empty")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return "", fmt.Errorf("host %q must not have an IPv6 zone", host)
		}
		if addr.Is6() != bracketed {
			return "", fmt.Errorf("host %q: IPv6 addresses must be in brackets, nothing else may be", host)
		}
		return addr.String(), nil
	}
	if bracketed {
		return "", fmt.Errorf("host %q in brackets must be an IPv6 address", host)
	}
	if len(host) > 253 {
		return "", fmt.Errorf("host %q is longer than 253 characters", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("host %q is not a valid DNS name (empty or over-long label)", host)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("host %q is not a valid DNS name (label starts or ends with -)", host)
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' {
				return "", fmt.Errorf("host %q may contain only letters, digits, . and -", host)
			}
		}
	}
	return strings.ToLower(host), nil
}

func parsePort(p string) (int, error) {
	if len(p) > 5 || !allDigits(p) || p[0] == '0' {
		return 0, fmt.Errorf("port %q must be a number in 1-65535 without leading zeros", p)
	}
	n, _ := strconv.Atoi(p)
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q must be a number in 1-65535", p)
	}
	return n, nil
}

func checkRepoPath(p string) error {
	switch {
	case strings.Trim(p, "/") == "":
		return repoErr("path must not be empty")
	case strings.HasPrefix(p, "-"):
		return repoErr("path %q must not start with -", p)
	case strings.Contains(p, "\\"):
		return repoErr("path %q must not contain a backslash", p)
	}
	return nil
}

// agreesWithGoGit parses raw with go-git's parser and refuses it unless go-git would connect to
// the same scheme, host and port that the credentials are bound to. Any divergence between the
// two parsers is a refusal, never a guess.
func agreesWithGoGit(raw string, ep Endpoint) error {
	gep, err := transport.NewEndpoint(raw)
	if err != nil {
		return repoErr("%q is not understood by the Git client: %v", raw, err)
	}
	port := gep.Port
	if port == 0 {
		port = defaultPort(gep.Protocol)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(gep.Host, "["), "]")
	if addr, err := netip.ParseAddr(host); err == nil {
		host = addr.String()
	}
	if gep.Protocol != ep.Scheme || !strings.EqualFold(host, ep.Host) || port != ep.Port || gep.Password != "" {
		return repoErr("%q is ambiguous: it parses as %s://%s:%d here but as %s://%s:%d in the Git client",
			raw, ep.Scheme, ep.Host, ep.Port, gep.Protocol, host, port)
	}
	if ep.Scheme == SchemeHTTPS && gep.User != "" {
		return repoErr("%q must not contain user information", raw)
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// hostAllowed reports whether ep's host and port are among allowed. An entry is a host (meaning
// the scheme's default port) or host:port; IPv6 in brackets. Matching is exact: no wildcards, no
// subdomains, and a different port is a different host.
func hostAllowed(ep Endpoint, allowed []string) (bool, error) {
	for i, entry := range allowed {
		host, port, err := ParseAllowedHost(entry, ep.Scheme)
		if err != nil {
			return false, fmt.Errorf("auth.allowedHosts[%d]: %w", i, err)
		}
		if host == ep.Host && port == ep.Port {
			return true, nil
		}
	}
	return false, nil
}

// ParseAllowedHost parses an allowed-host entry ("host", "host:port", "[v6]" or "[v6]:port") for
// the given scheme and returns the canonical host and the effective port.
func ParseAllowedHost(entry, scheme string) (host string, port int, err error) {
	h, p := entry, ""
	bracketed := strings.HasPrefix(entry, "[")
	if bracketed {
		end := strings.Index(entry, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("%q: missing ]", entry)
		}
		h, p = entry[1:end], entry[end+1:]
		if p != "" {
			if p[0] != ':' {
				return "", 0, fmt.Errorf("%q: expected :port after ]", entry)
			}
			p = p[1:]
			if p == "" {
				return "", 0, fmt.Errorf("%q: empty port", entry)
			}
		}
	} else if strings.Count(entry, ":") > 1 {
		return "", 0, fmt.Errorf("%q: IPv6 addresses must be in brackets", entry)
	} else if before, after, ok := strings.Cut(entry, ":"); ok {
		h, p = before, after
		if p == "" {
			return "", 0, fmt.Errorf("%q: empty port", entry)
		}
	}
	if host, err = canonicalHost(h, bracketed); err != nil {
		return "", 0, fmt.Errorf("%q: %w", entry, err)
	}
	port = defaultPort(scheme)
	if p != "" {
		if port, err = parsePort(p); err != nil {
			return "", 0, fmt.Errorf("%q: %w", entry, err)
		}
	}
	return host, port, nil
}
