// Package gitclone is the Git clone step of a Git context: the program logic of the kubeopencode
// binary's git-clone subcommand, which runs as an init container before the agent starts
// (taskpod.Build adds that container; another runner of Tasks may call [Main] or [Clone]). It is
// pure Go (go-git, golang.org/x/crypto/ssh), so the init image is the operator's own static
// binary: no git, ssh or shell in it, and nothing from the Task's repository is executed (no
// hooks, no ssh_config ProxyCommand, no credential helpers, no submodules).
//
// It closes threat T13 ("Git credentials go to a host the Task chose, or SSH accepts any host
// key"). Promises of [Clone]:
//
//   - Transports: only https:// and ssh:// URLs and scp-like user@host:path ([ParseRepository]).
//     http://, git://, file://, ext:: and local paths are refused, as are https URLs that carry
//     user information (credentials come from the Secret, never the URL). The parsed host and
//     port are cross-checked against go-git's parser: the host the credentials are bound to is
//     the host that is dialled.
//   - Credentials are bound to hosts: a token or SSH key is used only when the repository's
//     exact host and port are in Auth.AllowedHosts (the hosts of the Agent's repositories,
//     computed by taskpod.Build with [Endpoint.Authority]). Otherwise the clone fails before any
//     connection; it does not fall back to an anonymous clone. Binding is per host, not per
//     repository path: the credential may reach any repository on an allowed host.
//   - HTTPS: TLS is always verified (system roots plus Options.CABundleFile; there is no
//     insecure mode). The token is attached by an AuthMethod that checks each request's scheme,
//     host and port against the repository's, so it is never added to a request for another
//     origin. Redirects: go-git (v5.19) follows them only for the initial /info/refs request,
//     refuses https→http, and strips credentials from any hop that leaves the origin and from
//     the rest of the session; a test redirects to another port and to another host name and
//     checks that the target never receives an Authorization header.
//   - SSH: a known_hosts file is required, and only keys listed in it for the repository's host
//     and port are accepted (strict checking: an unknown host, a changed key or a @revoked key
//     fails the handshake before the client key is offered). The server is asked for the key
//     types known_hosts lists. If go-git's ssh_config lookup rewrote the address, the host key
//     callback sees a different host and refuses. @cert-authority lines are not supported.
//     The private key must be unencrypted.
//   - Secrets are file paths (staged from the Secret), read once; files must be regular, at most
//     1 MiB, and not writable by group or others (the project's credential-mode rule). Tokens
//     and user names are printable ASCII on one line. No secret appears in an error, a log line,
//     Result, or any file of the clone (.git/config holds the URL only).
//   - ref is a branch, tag, full ref name, or full 40-character commit SHA; depth > 0 fetches
//     that many commits. A commit SHA that is a branch or tag tip is fetched through that ref;
//     any other SHA is fetched directly when the server allows it
//     (uploadpack.allowReachableSHA1InWant / allowTipSHA1InWant; GitHub and GitLab do), honouring
//     depth. When the server does not allow it, all branches and tags are fetched with full
//     history and depth is not honoured (logged). Abbreviated SHAs are refused.
//   - Dest must be empty or missing (not a symlink). The checkout writes through a file system
//     bound to Dest (go-billy's BoundOS): symlinks in the repository are written as symlinks,
//     and no path, even through such a symlink, resolves outside Dest. On failure Dest is emptied
//     so a retry starts clean.
//   - path must be relative and normalized, outside .git ([CheckSubPath]), and after checkout
//     must exist and resolve, symlinks included, inside the checkout (checked with os.Root and
//     again on the resolved path); a symlink to /etc or one climbing out with ".." is refused.
//     Result.Dir is the resolved path the operator exposes to the agent.
//
// Errors name the option at fault (repository, ref, depth, path, dest, auth.*, knownHostsFile,
// caBundleFile), using the API's field names where there is one.
package gitclone
