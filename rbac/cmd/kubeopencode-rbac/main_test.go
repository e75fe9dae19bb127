package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestGoldenOutput(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{golden: "default.yaml", args: nil},
		{golden: "custom.yaml", args: []string{
			"--operator-namespace=ops", "--operator-service-account=koc", "--manage-network-policies=false", "--namespaces=team-b, team-a",
			"--agent-namespace=team-b", "--agent-namespace=team-a", "--agent-service-account=coder", "--personas=viewer",
		}},
		{golden: "agents-only.yaml", args: []string{"--operator=false", "--personas=", "--agent-namespace=team-a"}},
		{golden: "log-reader.yaml", args: []string{"--operator=false", "--personas=", "--log-reader", "--agent-namespace=platform-agents"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, got, stderr := runCLI(tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for i := range 2 { // determinism: three runs, one output
				if _, again, _ := runCLI(tt.args...); again != got {
					t.Fatalf("run %d differs:\n%s", i+2, cmp.Diff(got, again))
				}
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("output differs from %s (-want +got); run go test -update if intended:\n%s", path, diff)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" means stdout must be empty
		wantStderr string // substring; "" means stderr must be empty
	}{
		{name: "help", args: []string{"--help"}, wantCode: 0, wantStdout: "--agent-namespace"},
		{name: "short help", args: []string{"-h"}, wantCode: 0, wantStdout: "Usage: kubeopencode-rbac"},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "bad boolean", args: []string{"--manage-network-policies=maybe"}, wantCode: 2, wantStderr: `invalid boolean value "maybe"`},
		{name: "positional argument", args: []string{"operator"}, wantCode: 2, wantStderr: `unexpected argument "operator"`},
		{name: "bad operator namespace", args: []string{"--operator-namespace=Kube_System"}, wantCode: 2, wantStderr: `--operator-namespace="Kube_System": not a namespace name`},
		{name: "empty operator namespace", args: []string{"--operator-namespace="}, wantCode: 2, wantStderr: "--operator-namespace"},
		{name: "bad operator service account", args: []string{"--operator-service-account=a/b"}, wantCode: 2, wantStderr: "--operator-service-account"},
		{name: "bad agent namespace", args: []string{"--agent-namespace=-x"}, wantCode: 2, wantStderr: `--agent-namespace="-x"`},
		{name: "agent namespace twice", args: []string{"--agent-namespace=a", "--agent-namespace=a"}, wantCode: 2, wantStderr: "given twice"},
		{name: "bad agent service account", args: []string{"--agent-namespace=a", "--agent-service-account=UPPER"}, wantCode: 2, wantStderr: "--agent-service-account"},
		{name: "unknown persona", args: []string{"--personas=admin"}, wantCode: 2, wantStderr: `--personas: unknown persona "admin"`},
		{name: "nothing selected", args: []string{"--operator=false", "--personas="}, wantCode: 2, wantStderr: "nothing to print"},
		{name: "every problem at once", args: []string{"--operator-namespace=A", "--personas=x"}, wantCode: 2, wantStderr: "--personas"},
		{name: "empty output", args: []string{"--output="}, wantCode: 2, wantStderr: "--output is empty"},
		{name: "unwritable output", args: []string{"--output=" + filepath.Join(t.TempDir(), "missing", "x.yaml")}, wantCode: 1, wantStderr: "--output"},
		{name: "default", args: nil, wantCode: 0, wantStdout: "kind: ClusterRole"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			for _, c := range []struct{ what, got, want string }{{"stdout", stdout, tt.wantStdout}, {"stderr", stderr, tt.wantStderr}} {
				if c.want == "" && c.got != "" {
					t.Errorf("%s = %q, want it empty", c.what, c.got)
				}
				if !strings.Contains(c.got, c.want) {
					t.Errorf("%s = %q, want it to contain %q", c.what, c.got, c.want)
				}
			}
		})
	}
}

// TestHelpExplainsEveryFlag keeps --help honest: every flag appears with its explanation.
func TestHelpExplainsEveryFlag(t *testing.T) {
	_, help, _ := runCLI("--help")
	newFlagSet(&config{}).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(help, "-"+f.Name+" ") && !strings.Contains(help, "-"+f.Name+"\n") {
			t.Errorf("--help does not show -%s", f.Name)
		}
		if len(f.Usage) < 20 {
			t.Errorf("-%s has no real explanation: %q", f.Name, f.Usage)
		}
	})
}

func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "role.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("--output", path)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, want, _ := runCLI()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("file content differs from standard output:\n%s", cmp.Diff(want, string(got)))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestVersion: --version prints the stamped version (-X main.version), or "devel" unstamped, and
// nothing else.
func TestVersion(t *testing.T) {
	if code, out, errOut := runCLI("--version"); code != 0 || out != "devel\n" || errOut != "" {
		t.Errorf("unstamped: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	defer func(v string) { version = v }(version)
	version = "v9.8.7"
	if code, out, _ := runCLI("--version"); code != 0 || out != "v9.8.7\n" {
		t.Errorf("stamped: exit %d, stdout %q", code, out)
	}
}
