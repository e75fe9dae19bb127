package podspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLabelSchemeKeys(t *testing.T) {
	cases := []struct {
		name   string
		scheme LabelScheme
		want   LabelKeys
	}{
		{"zero is KubeOpenCode's", LabelScheme{}, LabelKeys{LabelTaskUID, LabelTaskName, LabelTaskNamespace, LabelAgent, LabelAgentUID}},
		{"defaults spelled out", LabelScheme{Domain: "kubeopencode.io", ManagedBy: "kubeopencode", OwnerKind: "task", GroupKind: "agent"},
			LabelKeys{LabelTaskUID, LabelTaskName, LabelTaskNamespace, LabelAgent, LabelAgentUID}},
		{"own domain, default kinds", LabelScheme{Domain: "sandbox.example.com"}, LabelKeys{
			"sandbox.example.com/task-uid", "sandbox.example.com/task-name", "sandbox.example.com/task-namespace",
			"sandbox.example.com/agent", "sandbox.example.com/agent-uid"}},
		{"own kinds", LabelScheme{Domain: "sandbox.example.com", OwnerKind: "sandbox", GroupKind: "template"}, LabelKeys{
			"sandbox.example.com/sandbox-uid", "sandbox.example.com/sandbox-name", "sandbox.example.com/sandbox-namespace",
			"sandbox.example.com/template", "sandbox.example.com/template-uid"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, c.scheme.Keys()); diff != "" {
				t.Errorf("Keys() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLabelSchemeIsReserved(t *testing.T) {
	sandbox := LabelScheme{Domain: "sandbox.example.com"}
	cases := []struct {
		key               string
		byDefault, bySand bool
	}{
		{"app.kubernetes.io/managed-by", true, true},
		{"APP.kubernetes.io/Managed-By", true, true},
		{"kubeopencode.io/task-uid", true, false},
		{"a.kubeopencode.io/x", true, false},
		{"notkubeopencode.io/x", false, false},
		{"sandbox.example.com/sandbox-uid", false, true},
		{"Sandbox.Example.com/x", false, true},
		{"team.sandbox.example.com/x", false, true},
		{"evilsandbox.example.com/x", false, false},
		{"sandbox.example.com.evil.org/x", false, false},
		{"example.com/x", false, false},
		{"sandbox.example.com", false, false},
		{"app.kubernetes.io/name", false, false},
	}
	for _, c := range cases {
		if got := (LabelScheme{}).IsReserved(c.key); got != c.byDefault {
			t.Errorf("default scheme: IsReserved(%q) = %v, want %v", c.key, got, c.byDefault)
		}
		if got := IsReservedKey(c.key); got != c.byDefault {
			t.Errorf("IsReservedKey(%q) = %v, want %v", c.key, got, c.byDefault)
		}
		if got := sandbox.IsReserved(c.key); got != c.bySand {
			t.Errorf("sandbox scheme: IsReserved(%q) = %v, want %v", c.key, got, c.bySand)
		}
	}
}

// FuzzLabelSchemeIsReserved compares IsReserved with a plain statement of the rule.
func FuzzLabelSchemeIsReserved(f *testing.F) {
	f.Add("sandbox.example.com", "a.sandbox.example.com/x")
	f.Add("example.com", "xexample.com/x")
	f.Add("kubeopencode.io", "app.kubernetes.io/managed-by")
	f.Fuzz(func(t *testing.T, domain, key string) {
		s := LabelScheme{Domain: domain, ManagedBy: "sandbox"}
		if s.Validate() != nil {
			return
		}
		prefix, _, hasPrefix := strings.Cut(strings.ToLower(key), "/")
		want := strings.EqualFold(key, LabelManagedBy) ||
			hasPrefix && (prefix == domain || strings.HasSuffix(prefix, "."+domain))
		if got := s.IsReserved(key); got != want {
			t.Errorf("LabelScheme{Domain: %q}.IsReserved(%q) = %v, want %v", domain, key, got, want)
		}
	})
}

func TestLabelSchemeRefused(t *testing.T) {
	cases := []struct {
		name   string
		scheme LabelScheme
		want   string
	}{
		{"uppercase domain", LabelScheme{Domain: "Sandbox.example.com", ManagedBy: "sandbox"},
			`podspec: LabelScheme.Domain: Invalid value: "Sandbox.example.com" is not a lowercase DNS subdomain`},
		{"domain with a path", LabelScheme{Domain: "example.com/x", ManagedBy: "sandbox"},
			`podspec: LabelScheme.Domain: Invalid value: "example.com/x" is not a lowercase DNS subdomain`},
		{"domain too long", LabelScheme{Domain: strings.Repeat("a.", 127) + "io", ManagedBy: "sandbox"},
			`podspec: LabelScheme.Domain: Invalid value: "` + strings.Repeat("a.", 127) + `io" is not a lowercase DNS subdomain`},
		{"managed-by not a label value", LabelScheme{ManagedBy: "my controller"},
			`podspec: LabelScheme.ManagedBy: Invalid value: "my controller" is not a label value`},
		{"own domain, KubeOpenCode's managed-by by default", LabelScheme{Domain: "sandbox.example.com"},
			`podspec: LabelScheme.ManagedBy: Invalid value: "kubeopencode" is KubeOpenCode's: a scheme other than KubeOpenCode's needs its own ManagedBy`},
		{"own domain, KubeOpenCode's managed-by", LabelScheme{Domain: "sandbox.example.com", ManagedBy: "kubeopencode", OwnerKind: "sandbox"},
			`podspec: LabelScheme.ManagedBy: Invalid value: "kubeopencode" is KubeOpenCode's: a scheme other than KubeOpenCode's needs its own ManagedBy`},
		{"own owner kind, KubeOpenCode's managed-by by default", LabelScheme{OwnerKind: "sandbox"},
			`podspec: LabelScheme.ManagedBy: Invalid value: "kubeopencode" is KubeOpenCode's: a scheme other than KubeOpenCode's needs its own ManagedBy`},
		{"own group kind, KubeOpenCode's managed-by", LabelScheme{GroupKind: "template", ManagedBy: "kubeopencode"},
			`podspec: LabelScheme.ManagedBy: Invalid value: "kubeopencode" is KubeOpenCode's: a scheme other than KubeOpenCode's needs its own ManagedBy`},
		{"owner kind with a slash", LabelScheme{OwnerKind: "a/b", ManagedBy: "sandbox"},
			`podspec: LabelScheme.OwnerKind: Invalid value: "a/b" is not a DNS label of at most 53 characters`},
		{"group kind too long for -namespace", LabelScheme{GroupKind: strings.Repeat("g", 54), ManagedBy: "sandbox"},
			`podspec: LabelScheme.GroupKind: Invalid value: "` + strings.Repeat("g", 54) + `" is not a DNS label of at most 53 characters`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := baseSpec()
			s.LabelScheme = c.scheme
			_, err := Build(s)
			if err == nil {
				t.Fatal("Build accepted the scheme")
			}
			if !errors.Is(err, ErrInvalid) || err.Error() != c.want {
				t.Errorf("Build: %v\nwant: %s (ErrInvalid)", err, c.want)
			}
		})
	}
}

// TestLabelSchemeReservedFollowsDomain: under another domain, that domain's keys are refused in
// Spec.Labels and Spec.Annotations, and Build sets no kubeopencode.io key and no "kubeopencode"
// managed-by, so KubeOpenCode's operator, which selects on them, never sees the Pod.
func TestLabelSchemeReservedFollowsDomain(t *testing.T) {
	scheme := LabelScheme{Domain: "sandbox.example.com", ManagedBy: "sandbox-controller"}
	for _, mutate := range []func(*Spec){
		func(s *Spec) { s.Labels = map[string]string{"sandbox.example.com/task-uid": "forged"} },
		func(s *Spec) { s.Labels = map[string]string{"x.sandbox.example.com/anything": "v"} },
		func(s *Spec) { s.Labels = map[string]string{LabelManagedBy: "kubeopencode"} },
		func(s *Spec) { s.Annotations = map[string]string{"Sandbox.Example.com/note": "v"} },
	} {
		s := baseSpec()
		s.LabelScheme = scheme
		mutate(&s)
		if _, err := Build(s); !errors.Is(err, ErrReserved) {
			t.Errorf("Build(labels %v, annotations %v) = %v, want ErrReserved", s.Labels, s.Annotations, err)
		}
	}
	s := baseSpec()
	s.LabelScheme = scheme
	s.Identity.GroupUID = "agent-uid-1"
	pod, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pod.Labels {
		if IsReservedKey(k) && k != LabelManagedBy {
			t.Errorf("label %s=%s is in KubeOpenCode's domain", k, v)
		}
	}
	want := map[string]string{
		LabelManagedBy:                       "sandbox-controller",
		"sandbox.example.com/task-uid":       s.Identity.OwnerUID,
		"sandbox.example.com/task-name":      "fix-login-bug",
		"sandbox.example.com/task-namespace": "team-a",
		"sandbox.example.com/agent":          "opencode",
		"sandbox.example.com/agent-uid":      "agent-uid-1",
	}
	if diff := cmp.Diff(want, pod.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

// TestDefaultLabelSchemeIsValid: validate skips the zero scheme (Build's hot path), which is sound
// only while KubeOpenCode's defaults, spelled out, pass the same checks.
func TestDefaultLabelSchemeIsValid(t *testing.T) {
	if errs := (LabelScheme{}).WithDefaults().validate(); len(errs) > 0 {
		t.Errorf("the default scheme is invalid: %v", errs)
	}
}
