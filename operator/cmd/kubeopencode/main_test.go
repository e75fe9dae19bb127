package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	noEnv := func(string) string { return "" }
	cases := []struct {
		name   string
		args   []string
		want   int
		stdout string
		stderr string
	}{
		{name: "no command", args: nil, want: 2, stderr: "Usage:"},
		{name: "help", args: []string{"--help"}, want: 0, stdout: "kubeopencode controller"},
		{name: "unknown command", args: []string{"frobnicate"}, want: 2, stderr: `unknown command "frobnicate"`},
		{name: "controller help", args: []string{"controller", "--help"}, want: 0, stdout: "-leader-elect"},
		{name: "controller help names the system image", args: []string{"controller", "-h"}, want: 0, stdout: "-system-image"},
		{name: "controller bad flag", args: []string{"controller", "--no-such-flag"}, want: 2, stderr: "no-such-flag"},
		{name: "controller bad concurrency", args: []string{"controller", "--concurrency=0"}, want: 2, stderr: "--concurrency"},
		{name: "controller bad log format", args: []string{"controller", "--log-format=xml"}, want: 2, stderr: "--log-format"},
		{name: "controller bad pull policy", args: []string{"controller", "--system-image-pull-policy=Sometimes"}, want: 2, stderr: "pull-policy"},
		{name: "controller pprof on a public address", args: []string{"controller", "--pprof-bind-address=:6060"}, want: 2, stderr: "--pprof-bind-address: \":6060\" must bind a loopback address"},
		{name: "controller pprof on another host", args: []string{"controller", "--pprof-bind-address=10.0.0.1:6060"}, want: 2, stderr: "must bind a loopback address"},
		{name: "controller pprof not host:port", args: []string{"controller", "--pprof-bind-address=6060"}, want: 2, stderr: "is not host:port"},
		{name: "controller bad stop grace", args: []string{"controller", "--stop-grace=0s"}, want: 2, stderr: "--stop-grace must be positive"},
		{name: "controller bad egress policy grace", args: []string{"controller", "--egress-policy-grace=-1s"}, want: 2, stderr: "--egress-policy-grace must be positive"},
		{name: "controller help names the egress grace", args: []string{"controller", "-h"}, want: 0, stdout: "-egress-policy-grace"},
		{name: "controller stray argument", args: []string{"controller", "extra"}, want: 2, stderr: "unexpected arguments"},
		{name: "stage help", args: []string{"stage-credentials", "--help"}, want: 0, stdout: "KUBEOPENCODE_STAGE_MANIFEST"},
		{name: "stage without manifest", args: []string{"stage-credentials"}, want: 1, stderr: "KUBEOPENCODE_STAGE_MANIFEST"},
		{name: "stage stray argument", args: []string{"stage-credentials", "x"}, want: 2, stderr: "unexpected arguments"},
		{name: "help lists git-clone", args: []string{"help"}, want: 0, stdout: "kubeopencode git-clone"},
		{name: "version, unstamped (go test)", args: []string{"version"}, want: 0, stdout: "devel\n"},
		{name: "--version", args: []string{"--version"}, want: 0, stdout: "devel\n"},
		{name: "git-clone help", args: []string{"git-clone", "--help"}, want: 0, stderr: "-allowed-host"},
		{name: "git-clone without repository", args: []string{"git-clone", "--dest=/nonexistent/x"}, want: 1, stderr: "repository"},
		{name: "git-clone refuses http", args: []string{"git-clone", "--repository=http://example.com/r.git", "--dest=/nonexistent/x"}, want: 1, stderr: "git-clone:"},
		{name: "git-clone bad flag", args: []string{"git-clone", "--insecure"}, want: 2, stderr: "insecure"},
		{name: "help lists migrate check", args: []string{"help"}, want: 0, stdout: "kubeopencode migrate check"},
		{name: "migrate without subcommand", args: []string{"migrate"}, want: 2, stderr: "the only command is check"},
		{name: "migrate unknown subcommand", args: []string{"migrate", "apply"}, want: 2, stderr: "the only command is check"},
		{name: "migrate check help", args: []string{"migrate", "check", "--help"}, want: 0, stdout: "Exit status: 0 nothing to do, 1 findings, 2 usage"},
		{name: "migrate check bad output", args: []string{"migrate", "check", "-o", "yaml"}, want: 2, stderr: "-o must be table or json"},
		{name: "migrate check stray argument", args: []string{"migrate", "check", "x"}, want: 2, stderr: "unexpected arguments"},
		{name: "migrate check without a cluster", args: []string{"migrate", "check", "--kubeconfig=/nonexistent/kubeconfig"}, want: 3, stderr: "loading the Kubernetes client configuration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tc.args, &stdout, &stderr, noEnv); got != tc.want {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.stderr)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"": true, "0": true, "127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true, "127.1.2.3:0": true,
		":6060": false, "0.0.0.0:6060": false, "[::]:6060": false, "10.0.0.1:6060": false, "example.com:6060": false, "6060": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want accepted %v", addr, err, ok)
		}
	}
}

// TestVersionStamped: the version the build stamps (-X main.version, from the VERSION file) is
// what "kubeopencode version" prints.
func TestVersionStamped(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v9.8.7"
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr, nil); code != 0 || stdout.String() != "v9.8.7\n" {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
