package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// installed is a client.Reader over an in-memory set of policies and bindings, keyed by kind and
// name: what the informer would return.
type installed map[string]client.Object

func (in installed) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	kind := "policy/"
	if _, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
		kind = "binding/"
	}
	got, ok := in[kind+key.Name]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: kind}, key.Name)
	}
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		*o = *got.(*admissionregistrationv1.ValidatingAdmissionPolicy).DeepCopy()
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		*o = *got.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).DeepCopy()
	}
	return nil
}

func (in installed) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

// asServed returns the generated objects as the API server returns them: with its defaults and
// a creation time.
func asServed(created time.Time) installed {
	in := installed{}
	for _, g := range kocpolicy.Policies(kocpolicy.PoliciesOptions{}) {
		p := g.Policy.DeepCopy()
		p.CreationTimestamp = metav1.NewTime(created)
		m := p.Spec.MatchConstraints
		m.NamespaceSelector, m.ObjectSelector = &metav1.LabelSelector{}, &metav1.LabelSelector{}
		all := admissionregistrationv1.AllScopes
		for i := range m.ResourceRules {
			m.ResourceRules[i].Scope = &all
		}
		in["policy/"+p.Name] = p
		b := g.Binding.DeepCopy()
		b.CreationTimestamp = metav1.NewTime(created)
		in["binding/"+b.Name] = b
	}
	return in
}

// TestAdmissionGuardCheck: the guard accepts the generated policies as served, and names every
// way they can be missing, weakened or too recent (T22).
func TestAdmissionGuardCheck(t *testing.T) {
	installedAt := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	later := installedAt.Add(time.Minute)
	tests := []struct {
		name    string
		change  func(installed)
		created time.Time
		want    []string // substrings of the problem; none: no problem
	}{
		{name: "as generated", change: func(installed) {}, created: later},
		{name: "any time for an Agent", change: func(installed) {}, created: time.Time{}},
		{name: "binding missing", change: func(in installed) { delete(in, "binding/"+kocpolicy.DefaultTaskReferencesPolicyName) }, created: later,
			want: []string{"ValidatingAdmissionPolicyBinding kubeopencode-task-references (T19) is missing"}},
		{name: "policy missing", change: func(in installed) { delete(in, "policy/"+kocpolicy.DefaultAgentReferencesPolicyName) }, created: later,
			want: []string{"ValidatingAdmissionPolicy kubeopencode-agent-references (T21) is missing"}},
		// The finalizer guard is defense in depth: the operator keeps T18 without it.
		{name: "finalizer guard missing is no problem", change: func(in installed) {
			delete(in, "policy/"+kocpolicy.DefaultFinalizerGuardPolicyName)
			delete(in, "binding/"+kocpolicy.DefaultFinalizerGuardPolicyName)
		}, created: later},
		{name: "everything missing", change: func(in installed) {
			for k := range in {
				delete(in, k)
			}
		}, created: later, want: []string{"kubeopencode-task-agent-use (T2) is missing", "kubeopencode-agent-references (T21) is missing"}},
		{name: "validation weakened", change: func(in installed) {
			in["policy/"+kocpolicy.DefaultAdmissionPolicyName].(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec.Validations[1].Expression = "true"
		}, created: later, want: []string{"kubeopencode-task-agent-use (T2) differs from the generated one in spec.validations"}},
		{name: "failure policy Ignore", change: func(in installed) {
			ignore := admissionregistrationv1.Ignore
			in["policy/"+kocpolicy.DefaultAgentReferencesPolicyName].(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec.FailurePolicy = &ignore
		}, created: later, want: []string{"kubeopencode-agent-references (T21) differs from the generated one in spec.failurePolicy"}},
		{name: "match condition exempting everyone", change: func(in installed) {
			p := in["policy/"+kocpolicy.DefaultTaskReferencesPolicyName].(*admissionregistrationv1.ValidatingAdmissionPolicy)
			p.Spec.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "never", Expression: "false"}}
		}, created: later, want: []string{"kubeopencode-task-references (T19) differs from the generated one in spec.matchConditions"}},
		{name: "binding only warns", change: func(in installed) {
			in["binding/"+kocpolicy.DefaultAdmissionPolicyName].(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn}
		}, created: later, want: []string{"ValidatingAdmissionPolicyBinding kubeopencode-task-agent-use (T2) differs from the generated one in spec.validationActions"}},
		{name: "binding excludes namespaces", change: func(in installed) {
			in["binding/"+kocpolicy.DefaultTaskReferencesPolicyName].(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.MatchResources = &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"checked": "yes"}}}
		}, created: later, want: []string{"ValidatingAdmissionPolicyBinding kubeopencode-task-references (T19) differs from the generated one in spec.matchResources"}},
		{name: "being deleted", change: func(in installed) {
			now := metav1.Now()
			in["binding/"+kocpolicy.DefaultAgentReferencesPolicyName].(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).DeletionTimestamp = &now
		}, created: later, want: []string{"kubeopencode-agent-references (T21) is being deleted"}},
		{name: "Task created before the policies", change: func(installed) {}, created: installedAt.Add(-time.Hour),
			want: []string{"ValidatingAdmissionPolicy kubeopencode-task-agent-use (T2) was created at 2026-01-01T12:00:00Z", "so it may not have checked the Task"}},
		{name: "Task created within the grace", change: func(installed) {}, created: installedAt.Add(PolicyLoadGrace),
			want: []string{"within 5s before"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := asServed(installedAt)
			tt.change(in)
			got, err := newAdmissionGuard(in, kocpolicy.PoliciesOptions{}).check(context.Background(), tt.created)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.want) == 0 && got != "" {
				t.Fatalf("problem %q, want none", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problem %q\nwant it to contain %q", got, w)
				}
			}
			if len(tt.want) > 0 && !strings.Contains(got, "no Task starts") {
				t.Errorf("problem %q does not say the consequence", got)
			}
		})
	}
}
