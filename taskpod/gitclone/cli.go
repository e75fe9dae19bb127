package gitclone

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/go-logr/logr/funcr"
)

// Exit codes of Main.
const (
	ExitOK    = 0
	ExitClone = 1 // the clone failed (the message on stderr says why)
	ExitUsage = 2 // bad flags
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// Main is the program logic of the `git-clone` subcommand of the operator's binary, which runs as
// an init container. Configuration comes from flags (args excludes the program and subcommand
// names); secrets are only ever file paths (--token-file, --username-file, --ssh-key-file), so
// they appear neither in the Pod spec nor in the process's arguments. On success it prints the
// Result as one JSON line on stdout; progress and errors go to stderr. It returns the exit code.
//
// Flags:
//
//	--repository URL          (required) https://, ssh:// or user@host:path
//	--ref REF                 branch, tag, refs/... or full commit SHA (default: remote HEAD)
//	--depth N                 commits to fetch, 0 = full history (default 1, as in the API)
//	--path PATH               file or directory in the repository to expose (default: all)
//	--dest DIR                (required) empty or missing directory to clone into
//	--token-file FILE         https token
//	--username VALUE          https basic-auth user name (default "git")
//	--username-file FILE      https basic-auth user name, from a Secret
//	--bearer                  send the token as a bearer token
//	--ssh-key-file FILE       SSH private key (unencrypted)
//	--known-hosts-file FILE   known_hosts; required for ssh
//	--ca-bundle-file FILE     extra CA certificates (PEM) for https
//	--allowed-host HOST[:PORT]  host the credentials may go to; repeatable
//	--dial-timeout DURATION   SSH connection timeout (default 30s)
//	-v N                      log verbosity (default 0)
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("git-clone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o       Options
		allowed stringList
		verbose int
	)
	fs.StringVar(&o.Repository, "repository", "", "repository URL: https://, ssh:// or user@host:path (required)")
	fs.StringVar(&o.Ref, "ref", "", "branch, tag, refs/... or full commit SHA (default: the remote's HEAD)")
	fs.IntVar(&o.Depth, "depth", 1, "commits to fetch; 0 is the full history")
	fs.StringVar(&o.Path, "path", "", "file or directory in the repository to expose (default: the whole checkout)")
	fs.StringVar(&o.Dest, "dest", "", "empty or missing directory to clone into (required)")
	fs.StringVar(&o.Auth.TokenFile, "token-file", "", "file holding the https token")
	fs.StringVar(&o.Auth.Username, "username", "", "https basic-auth user name (default \""+DefaultHTTPUsername+"\")")
	fs.StringVar(&o.Auth.UsernameFile, "username-file", "", "file holding the https basic-auth user name")
	fs.BoolVar(&o.Auth.Bearer, "bearer", false, "send the token as a bearer token instead of basic auth")
	fs.StringVar(&o.Auth.SSHKeyFile, "ssh-key-file", "", "file holding the SSH private key")
	fs.StringVar(&o.KnownHostsFile, "known-hosts-file", "", "known_hosts file (required for ssh)")
	fs.StringVar(&o.CABundleFile, "ca-bundle-file", "", "PEM file of extra CA certificates for https")
	fs.Var(&allowed, "allowed-host", "host[:port] the credentials may be sent to (repeatable)")
	fs.DurationVar(&o.DialTimeout, "dial-timeout", DefaultDialTimeout, "SSH connection timeout")
	fs.IntVar(&verbose, "v", 0, "log verbosity")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "git-clone: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	o.Auth.AllowedHosts = allowed
	o.Log = funcr.New(func(prefix, args string) {
		fmt.Fprintln(stderr, "git-clone:", args)
	}, funcr.Options{Verbosity: verbose})

	res, err := Clone(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "git-clone:", err)
		return ExitClone
	}
	out, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(stderr, "git-clone:", err)
		return ExitClone
	}
	fmt.Fprintln(stdout, string(out))
	return ExitOK
}
