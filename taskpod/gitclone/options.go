package gitclone

import (
	"fmt"
	"regexp"
	"time"

	"github.com/go-logr/logr"
)

// MaxDepth is the largest Options.Depth accepted (the API's limit).
const MaxDepth = 1000000

// DefaultDialTimeout bounds establishing the SSH connection when Options.DialTimeout is zero
// (go-git does not pass the context to the SSH dialer). HTTPS requests follow ctx.
const DefaultDialTimeout = 30 * time.Second

// DefaultHTTPUsername is the basic-auth user name sent with a token when none is configured.
// GitHub, GitLab and Gitea accept any non-empty user name with a personal access token.
const DefaultHTTPUsername = "git"

// Options configures one clone. Secrets are never values here: they are paths of files staged
// from a Secret, read once by Clone, and never logged or included in errors.
type Options struct {
	// Repository to clone: https://host[:port]/path, ssh://[user@]host[:port]/path or
	// user@host:path. See ParseRepository for what is refused.
	Repository string
	// Ref is a branch, a tag, a full ref name (refs/...), or a full 40-character commit SHA.
	// Empty: the remote's default branch (its HEAD). A name is looked up as refs/heads/<ref>
	// first, then refs/tags/<ref>, then as a commit SHA.
	Ref string
	// Depth is the number of commits fetched from the tip; 0 fetches the full history. The API
	// defaults an unset depth to 1; that default is the caller's to apply.
	Depth int
	// Path is a file or directory in the repository that the caller will expose ("" for the
	// whole checkout). It must exist after checkout and resolve, symlinks included, inside the
	// checkout and outside .git. See CheckSubPath.
	Path string
	// Dest is the directory to clone into. It must be empty or not exist (its parent must), and
	// must not be a symlink. On failure Clone empties it again, so a retry starts clean.
	Dest string
	// Auth holds the credentials and the hosts they are bound to. The zero value clones
	// anonymously (https only: ssh always needs a key).
	Auth Auth
	// CABundleFile is a PEM file of extra CA certificates trusted for https, on top of the
	// system pool. TLS verification cannot be turned off.
	CABundleFile string
	// KnownHostsFile is an OpenSSH known_hosts file; required for ssh repositories. Only keys
	// listed for the repository's host (and port) are accepted: there is no mode that accepts
	// an unknown or changed key.
	KnownHostsFile string
	// DialTimeout bounds establishing an SSH connection; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// Log receives progress messages (never secrets). The zero value discards them.
	Log logr.Logger
}

// Auth configures credentials. They are sent only when the repository's host and port are in
// AllowedHosts; a configured credential for any other host fails the clone rather than being
// dropped silently. Credentials of the other transport (a token for an ssh repository, a key for
// an https one) are not used.
type Auth struct {
	// TokenFile holds an https token (a personal access token or password), sent as HTTP basic
	// auth with Username, or as a bearer token when Bearer is set.
	TokenFile string
	// Username for basic auth; empty means UsernameFile, or DefaultHTTPUsername.
	Username string
	// UsernameFile holds the basic-auth user name (when it comes from a Secret). Exclusive with
	// Username.
	UsernameFile string
	// Bearer sends the token as "Authorization: Bearer <token>" instead of basic auth.
	Bearer bool
	// SSHKeyFile holds an unencrypted OpenSSH or PEM private key for ssh repositories. The SSH
	// user name comes from the repository URL (default "git").
	SSHKeyFile string
	// AllowedHosts are the hosts the credentials may be sent to: the hosts of the Agent's
	// repositories, computed by taskpod.Build (see Endpoint.Authority). Each entry is "host" (the
	// scheme's default port) or "host:port"; IPv6 in brackets. Matching is exact: no wildcards,
	// no subdomains. Required when a credential is configured.
	AllowedHosts []string
}

// hasHTTPCredentials reports whether https credentials are configured.
func (a Auth) hasHTTPCredentials() bool { return a.TokenFile != "" }

// Result describes a successful clone.
type Result struct {
	// Commit is the full SHA checked out.
	Commit string `json:"commit"`
	// Ref is the full name of the ref that was cloned (refs/heads/..., refs/tags/...), or empty
	// when Options.Ref was a commit SHA or the remote's HEAD was detached.
	Ref string `json:"ref,omitempty"`
	// Dir is the absolute path of Options.Path inside Dest, symlinks resolved (Dest itself when
	// Path is empty).
	Dir string `json:"dir"`
	// Shallow is true when the history was truncated: Depth > 0 and the commit has older
	// history than was fetched.
	Shallow bool `json:"shallow"`
}

// refPattern is the API's rule for ref: it starts with a letter or digit, so it is never an
// option, and has no character that means something in a refspec (":", "*", "^", "~", "?", "[").
var refPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/+@-]*$`)

// MaxRefLength is the longest Options.Ref accepted (the API's limit).
const MaxRefLength = 255

func checkRef(ref string) error {
	switch {
	case ref == "":
		return nil
	case len(ref) > MaxRefLength:
		return fmt.Errorf("ref: is longer than %d characters", MaxRefLength)
	case !refPattern.MatchString(ref):
		return fmt.Errorf("ref: %q must start with a letter or digit and contain only letters, digits and . _ / + @ -", ref)
	}
	return nil
}

// validated is Options after validation, with the repository parsed.
type validated struct {
	Options
	ep Endpoint
}

// validate checks everything that can be checked without I/O, naming the field at fault.
func (o Options) validate() (validated, error) {
	ep, err := ParseRepository(o.Repository)
	if err != nil {
		return validated{}, err
	}
	if err := checkRef(o.Ref); err != nil {
		return validated{}, err
	}
	if o.Depth < 0 || o.Depth > MaxDepth {
		return validated{}, fmt.Errorf("depth: %d must be within 0-%d (0 is the full history)", o.Depth, MaxDepth)
	}
	if err := CheckSubPath(o.Path); err != nil {
		return validated{}, err
	}
	if o.Dest == "" {
		return validated{}, fmt.Errorf("dest: is required")
	}
	if o.DialTimeout < 0 {
		return validated{}, fmt.Errorf("dialTimeout: must not be negative")
	}
	a := o.Auth
	if a.Username != "" && a.UsernameFile != "" {
		return validated{}, fmt.Errorf("auth: username and usernameFile are exclusive")
	}
	if (a.Username != "" || a.UsernameFile != "" || a.Bearer) && a.TokenFile == "" {
		return validated{}, fmt.Errorf("auth: username, usernameFile and bearer need tokenFile")
	}
	if a.Username != "" {
		for i := 0; i < len(a.Username); i++ {
			if c := a.Username[i]; c <= ' ' || c >= 0x7f || c == ':' {
				return validated{}, fmt.Errorf("auth.username: %q must be printable ASCII without spaces or ':'", a.Username)
			}
		}
	}
	uses := a.hasHTTPCredentials()
	if ep.Scheme == SchemeSSH {
		uses = a.SSHKeyFile != ""
		if a.SSHKeyFile == "" {
			return validated{}, fmt.Errorf("auth.sshKeyFile: is required for the ssh repository %q", o.Repository)
		}
		if o.KnownHostsFile == "" {
			return validated{}, fmt.Errorf("knownHostsFile: is required for the ssh repository %q (host keys are always checked)", o.Repository)
		}
	}
	if uses {
		if len(a.AllowedHosts) == 0 {
			return validated{}, fmt.Errorf("auth.allowedHosts: is required when credentials are configured")
		}
		ok, err := hostAllowed(ep, a.AllowedHosts)
		if err != nil {
			return validated{}, err
		}
		if !ok {
			return validated{}, fmt.Errorf("auth.allowedHosts: the repository host %s is not one the credentials are bound to %q: refusing to send them there",
				ep.Authority(), a.AllowedHosts)
		}
	}
	return validated{Options: o, ep: ep}, nil
}
