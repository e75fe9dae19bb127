package gitclone

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMainCLI(t *testing.T) {
	f := newFixture(t)
	ca := newTestCA(t)
	srv := newHTTPSServer(t, ca, f.root)
	srv.wantAuth = basicAuth("robot", testToken)
	token := writeTemp(t, "token", testToken+"\n", 0o400)
	caFile := ca.file(t)
	dest := filepath.Join(t.TempDir(), "repo")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // JSON Result, compared as a value
		wantStderr string
	}{
		{"clone", []string{
			"--repository", srv.url("127.0.0.1"), "--ref", "feature", "--path", "docs", "--dest", dest,
			"--token-file", token, "--username", "robot", "--ca-bundle-file", caFile,
			"--allowed-host", "github.com", "--allowed-host", srv.authority(), "-v", "2",
		}, ExitOK, `{"commit":"` + f.feature + `","ref":"refs/heads/feature","dir":"` + filepath.Join(dest, "docs") + `","shallow":true}`, `"msg"="cloned"`},
		{"host not allowed", []string{
			"--repository", srv.url("127.0.0.1"), "--dest", filepath.Join(t.TempDir(), "r"), "--token-file", token,
			"--ca-bundle-file", caFile, "--allowed-host", "github.com",
		}, ExitClone, "", "git-clone: auth.allowedHosts: the repository host"},
		{"missing repository", []string{"--dest", t.TempDir()}, ExitClone, "", "git-clone: repository: is required"},
		{"unknown flag", []string{"--token", testToken}, ExitUsage, "", "flag provided but not defined: -token"},
		{"extra argument", []string{"--dest", t.TempDir(), "https://github.com/x/y"}, ExitUsage, "", "unexpected arguments"},
		{"help", []string{"-h"}, ExitOK, "", "-allowed-host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if tc.wantStdout == "" {
				if stdout.Len() != 0 {
					t.Errorf("stdout = %q, want nothing", stdout.String())
				}
			} else {
				var got, want Result
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatalf("stdout %q: %v", stdout.String(), err)
				}
				if err := json.Unmarshal([]byte(tc.wantStdout), &want); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantStderr, stderr.String())
			}
			if strings.Contains(stderr.String()+stdout.String(), testToken) {
				t.Errorf("the token was printed:\n%s", stderr.String())
			}
		})
	}
}
