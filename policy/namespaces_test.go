package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestNamespacePolicyDecide(t *testing.T) {
	const notAllowed = `the Task's namespace "team-b" is not permitted to use Agent "agents/coder"; ask the platform team that owns namespace "agents" to add it to the Agent's allowedNamespaces`
	tests := []struct {
		name    string
		allowed []string
		taskNS  string
		want    Decision
	}{
		{"empty list, own namespace", nil, "agents", Decision{true, ReasonAllowedSameNamespace, `the Task is in Agent "agents/coder"'s own namespace`}},
		{"empty list, other namespace", nil, "team-b", Decision{false, ReasonNamespaceNotAllowed, notAllowed}},
		{"empty non-nil list, other namespace", []string{}, "team-b", Decision{false, ReasonNamespaceNotAllowed, notAllowed}},
		{"star allows all", []string{"*"}, "team-b", Decision{true, ReasonAllowedByPattern, `namespace "team-b" is permitted by Agent "agents/coder"`}},
		{"glob match", []string{"team-?"}, "team-b", Decision{true, ReasonAllowedByPattern, `namespace "team-b" is permitted by Agent "agents/coder"`}},
		{"exact miss", []string{"team-a"}, "team-b", Decision{false, ReasonNamespaceNotAllowed, notAllowed}},
		{"prefix is not a match", []string{"team"}, "team-b", Decision{false, ReasonNamespaceNotAllowed, notAllowed}},
		// The choice documented on NamespacePolicy: the own namespace is always allowed, even when
		// a non-empty list does not match it.
		{"own namespace with non-matching list", []string{"team-a"}, "agents", Decision{true, ReasonAllowedSameNamespace, `the Task is in Agent "agents/coder"'s own namespace`}},
		{"empty task namespace", []string{"*"}, "", Decision{false, ReasonInvalidTaskNamespace, `the Task's namespace "" is not a valid namespace name`}},
		{"upper-case task namespace", []string{"*"}, "Team-B", Decision{false, ReasonInvalidTaskNamespace, `the Task's namespace "Team-B" is not a valid namespace name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewNamespacePolicy("agents", "coder", tt.allowed)
			if err := p.Err(); err != nil {
				t.Fatalf("Err() = %v", err)
			}
			if diff := cmp.Diff(tt.want, p.Decide(tt.taskNS)); diff != "" {
				t.Errorf("Decide(%q) (-want +got):\n%s", tt.taskNS, diff)
			}
		})
	}
}

// TestInvalidPolicyFailsClosed: a bad pattern must not shrink to the valid ones; the Agent
// refuses everything, its own namespace included, and the Task author's message hides the
// patterns while Err (for the platform team) names them.
func TestInvalidPolicyFailsClosed(t *testing.T) {
	p := NewNamespacePolicy("agents", "coder", []string{"team-b", "Secret-Team-*", "*"})
	var es *Errors
	if !errors.As(p.Err(), &es) || len(es.Problems) != 1 || !errors.Is(p.Err(), ErrInvalid) {
		t.Fatalf("Err() = %v; want one invalid field error", p.Err())
	}
	if fe := es.Problems[0].(*field.Error); fe.Field != "spec.allowedNamespaces[1]" {
		t.Fatalf("Err() names %s, want spec.allowedNamespaces[1]", fe.Field)
	}
	want := Decision{Reason: ReasonInvalidPolicy, Message: `Agent "agents/coder" has an invalid allowedNamespaces policy and refuses every Task until it is fixed; ask the platform team that owns namespace "agents" to fix the Agent`}
	for _, ns := range []string{"team-b", "agents", "anything"} {
		if diff := cmp.Diff(want, p.Decide(ns)); diff != "" {
			t.Errorf("Decide(%q) (-want +got):\n%s", ns, diff)
		}
	}
}

func TestInvalidAgentIdentityFailsClosed(t *testing.T) {
	for _, tt := range []struct{ ns, name, wantErr string }{
		{"", "coder", `metadata.namespace: Invalid value: "" is not a namespace name`},
		{"Agents", "coder", `metadata.namespace: Invalid value: "Agents" is not a namespace name`},
		{"agents", "", "metadata.name: Required value"},
		{"Agents", "", `[metadata.namespace: Invalid value: "Agents" is not a namespace name, metadata.name: Required value]`},
	} {
		p := NewNamespacePolicy(tt.ns, tt.name, []string{"*"})
		if p.Err() == nil || p.Err().Error() != tt.wantErr {
			t.Errorf("NewNamespacePolicy(%q, %q).Err() = %v, want %q", tt.ns, tt.name, p.Err(), tt.wantErr)
		}
		if d := p.Decide("team-b"); d.Allowed || d.Reason != ReasonInvalidPolicy {
			t.Errorf("NewNamespacePolicy(%q, %q).Decide = %+v, want refused as invalid", tt.ns, tt.name, d)
		}
	}
}

// TestRefusalNeverRevealsPatterns: whatever the patterns, a refused Task sees none of them.
func TestRefusalNeverRevealsPatterns(t *testing.T) {
	secret := []string{"zz-secret-partner", "qq-*-hidden", "Bad-Pattern"}
	for _, allowed := range [][]string{secret[:2], secret} {
		d := NewNamespacePolicy("agents", "coder", allowed).Decide("team-b")
		if d.Allowed {
			t.Fatalf("Decide = %+v, want refused", d)
		}
		for _, s := range secret {
			if strings.Contains(d.Message, s) || strings.Contains(d.Message, strings.Trim(s, "*-")) {
				t.Errorf("refusal %q reveals pattern %q", d.Message, s)
			}
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	p := NewNamespacePolicy("agents", "coder", []string{"team-a", "team-b", "stage-*", "*-prod", "ci-??-*"})
	b.Run("allowed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !p.Decide("ci-42-payments").Allowed {
				b.Fatal("refused")
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p.Decide("payments").Allowed {
				b.Fatal("allowed")
			}
		}
	})
}

// FuzzNamespaceName: the namespace-name check Decide uses gives apimachinery's verdict on every
// input.
func FuzzNamespaceName(f *testing.F) {
	for _, s := range []string{"", "a", "team-a", "-a", "a-", "A", "a.b", "a_b", strings.Repeat("a", 63), strings.Repeat("a", 64), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isNamespaceName(s), len(validation.IsDNS1123Label(s)) == 0; got != want {
			t.Errorf("isNamespaceName(%q) = %v, validation.IsDNS1123Label says %v", s, got, want)
		}
	})
}
