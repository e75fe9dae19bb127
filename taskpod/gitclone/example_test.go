package gitclone_test

import (
	"context"
	"fmt"
	"os"

	"github.com/kubeopencode/kubeopencode/taskpod/gitclone"
)

// Clone a branch of a private repository over HTTPS, keeping only docs/ for the agent. The token
// is a file staged from the Git Secret; it is sent to github.com and nowhere else. (Not run: it
// needs the network.)
func ExampleClone() {
	res, err := gitclone.Clone(context.Background(), gitclone.Options{
		Repository: "https://github.com/example/service.git",
		Ref:        "main",
		Depth:      1,
		Path:       "docs",
		Dest:       "/kubeopencode/contexts/service",
		Auth: gitclone.Auth{
			TokenFile:    "/kubeopencode/git/service/token",
			AllowedHosts: []string{"github.com"},
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(res.Commit, res.Dir)
}

// Over SSH the key and a known_hosts file are both required; the host key is checked strictly.
func ExampleClone_ssh() {
	_, err := gitclone.Clone(context.Background(), gitclone.Options{
		Repository:     "git@github.com:example/service.git",
		Ref:            "v1.2.3",
		Dest:           "/kubeopencode/contexts/service",
		KnownHostsFile: "/kubeopencode/git/service/known_hosts",
		Auth: gitclone.Auth{
			SSHKeyFile:   "/kubeopencode/git/service/ssh-privatekey",
			AllowedHosts: []string{"github.com"},
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// The operator binds a Git Secret to the hosts of the Agent's repositories.
func ExampleEndpoint_Authority() {
	for _, repo := range []string{
		"https://github.com/example/service.git",
		"ssh://git@git.example.com:2222/team/repo.git",
		"git@gitlab.com:group/project.git",
	} {
		ep, err := gitclone.ParseRepository(repo)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(ep.Scheme, ep.Authority())
	}
	_, err := gitclone.ParseRepository("http://github.com/example/service.git")
	fmt.Println(err)
	// Output:
	// https github.com
	// ssh git.example.com:2222
	// ssh gitlab.com
	// repository: "http://github.com/example/service.git": only https:// and ssh:// URLs (or user@host:path) are allowed
}

// Validation runs before any I/O; errors name the field.
func ExampleCheckSubPath() {
	for _, p := range []string{"docs/api", "../etc", ".git/config"} {
		fmt.Println(p, gitclone.CheckSubPath(p))
	}
	// Output:
	// docs/api <nil>
	// ../etc path: "../etc" must be normalized: no . or .. segments
	// .git/config path: ".git/config" must not be inside .git
}

// Main is what the operator binary's git-clone subcommand runs in the init container.
func ExampleMain() {
	code := gitclone.Main(context.Background(), []string{"--dest", "/tmp/x"}, os.Stdout, os.Stdout)
	fmt.Println("exit code", code)
	// Output:
	// git-clone: repository: is required
	// exit code 1
}
