package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPrintRBAC: --print-rbac prints exactly the committed config/rbac.yaml (without its
// generated-file header), and another ServiceAccount is bound when asked.
func TestPrintRBAC(t *testing.T) {
	committed, err := os.ReadFile("../../config/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, line := range strings.SplitAfter(string(committed), "\n") {
		if !strings.HasPrefix(line, "#") {
			want.WriteString(line)
		}
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--print-rbac"}, want.String()},
		{[]string{"--print-rbac", "--namespace=ops", "--service-account=sandboxes"},
			strings.Replace(want.String(), "name: sandbox-controller\n  namespace: sandbox-system", "name: sandboxes\n  namespace: ops", 1)},
	}
	for _, c := range cases {
		var out bytes.Buffer
		if err := run(c.args, &out); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if diff := cmp.Diff(c.want, out.String()); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c.args, diff)
		}
	}
}

func TestUnknownFlagIsAnError(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--print-secrets"}, &out); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
