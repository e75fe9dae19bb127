package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// PolicyLoadGrace is how long after a policy or binding is created the API server may still be
// admitting requests without it: the admission plugin loads policies from its own informer. A
// Task created before every policy had been in place this long was not necessarily checked.
const PolicyLoadGrace = 5 * time.Second

// admissionGuard makes the operator fail closed without its admission policies (threat T22).
//
// The operator acts with its own privileges on what Tasks and Agents name; the checks that the
// requester could have done the same (T2, T19, T21) happen only at admission, in
// ValidatingAdmissionPolicies. (The finalizer guard, T18, is installed too but not required: the
// operator keeps its promise without it.) If they are missing, or were changed, those promises
// silently vanish. So before a Task starts, the operator compares the installed policies and
// bindings (read from its informer) with the ones the policy module generates, and refuses to
// start the Task unless every one is there as generated and was there when the Task was created.
//
// Why compare rather than re-check the requester with a SubjectAccessReview: the API server does
// not record who created an object (managedFields are writable by the creator, an annotation
// would need a mutating policy that could itself be missing), and the checks would have to be
// re-implemented in Go next to their CEL twins. Comparing keeps one implementation, enforced by
// the API server, and makes its absence loud.
type admissionGuard struct {
	reader client.Reader
	want   []kocpolicy.GeneratedPolicy

	// diffs remembers the comparison of each installed object by name, UID and resourceVersion: every
	// Task start checks eight objects, and the comparison of a large policy is not free.
	mu    sync.Mutex
	diffs map[string]string
}

func newAdmissionGuard(reader client.Reader, opts kocpolicy.PoliciesOptions) *admissionGuard {
	var want []kocpolicy.GeneratedPolicy
	for _, p := range kocpolicy.Policies(opts) {
		// The finalizer guard is defense in depth: the ownership controller keeps T18 without
		// it (TestT18FinalizerStrippedPodStillGoes runs without it), so its absence takes no
		// promise away and stops nothing.
		if p.Threat == "T18" {
			continue
		}
		want = append(want, p)
	}
	return &admissionGuard{reader: reader, want: want, diffs: map[string]string{}}
}

// memo returns compare's result for obj, computed once per UID and resourceVersion.
func (g *admissionGuard) memo(obj client.Object, compare func() string) string {
	key := fmt.Sprintf("%T/%s/%s/%s", obj, obj.GetName(), obj.GetUID(), obj.GetResourceVersion())
	g.mu.Lock()
	defer g.mu.Unlock()
	if d, ok := g.diffs[key]; ok {
		return d
	}
	if len(g.diffs) > 64 { // only a handful of objects: forget old versions wholesale
		clear(g.diffs)
	}
	d := compare()
	g.diffs[key] = d
	return d
}

// check reads the installed objects from the informer without copying them (the cache shares
// them, see setup.New), so nothing here may change them: the comparisons copy first.
//
// check returns "" when every generated policy and binding is installed as generated and was
// created at least PolicyLoadGrace before createdAt (zero: any time); otherwise a message naming
// each object that is missing, differs (and in which field) or is too recent. err is a failure to
// read.
func (g *admissionGuard) check(ctx context.Context, createdAt time.Time) (string, error) {
	var problems []string
	for _, w := range g.want {
		have := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		p, err := g.get(ctx, w.Policy.Name, have)
		if err != nil {
			return "", err
		}
		if p == "" {
			p = g.memo(have, func() string { return diffPolicy(w.Policy.Spec, have.Spec) })
		}
		if p == "" {
			p = tooRecent(have.CreationTimestamp, createdAt)
		}
		if p != "" {
			problems = append(problems, fmt.Sprintf("ValidatingAdmissionPolicy %s (%s) %s", w.Policy.Name, w.Threat, p))
		}
		haveB := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
		p, err = g.get(ctx, w.Binding.Name, haveB)
		if err != nil {
			return "", err
		}
		if p == "" {
			p = g.memo(haveB, func() string { return diffBinding(w.Binding.Spec, haveB.Spec) })
		}
		if p == "" {
			p = tooRecent(haveB.CreationTimestamp, createdAt)
		}
		if p != "" {
			problems = append(problems, fmt.Sprintf("ValidatingAdmissionPolicyBinding %s (%s) %s", w.Binding.Name, w.Threat, p))
		}
	}
	if len(problems) == 0 {
		return "", nil
	}
	return "the admission policies that check Task and Agent authors are not in force, so no Task starts: " +
		strings.Join(problems, "; ") + ". Install operator/config/policy unchanged (kubectl apply -k operator/config/policy)", nil
}

func (g *admissionGuard) get(ctx context.Context, name string, obj client.Object) (string, error) {
	if err := g.reader.Get(ctx, types.NamespacedName{Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return "is missing", nil
		}
		return "", fmt.Errorf("reading %T %s: %w", obj, name, err)
	}
	if obj.GetDeletionTimestamp() != nil {
		return "is being deleted", nil
	}
	return "", nil
}

func tooRecent(created metav1.Time, taskCreated time.Time) string {
	if taskCreated.IsZero() || taskCreated.After(created.Add(PolicyLoadGrace)) {
		return ""
	}
	return fmt.Sprintf("was created at %s, after (or within %s before) the Task was created at %s, so it may not have checked the Task",
		created.UTC().Format(time.RFC3339), PolicyLoadGrace, taskCreated.UTC().Format(time.RFC3339))
}

// diffPolicy names the first field of have that differs from want, after filling in what the API
// server defaults; "" when they are equal.
func diffPolicy(want, have admissionregistrationv1.ValidatingAdmissionPolicySpec) string {
	want, have = *want.DeepCopy(), *have.DeepCopy()
	defaultPolicySpec(&want)
	defaultPolicySpec(&have)
	fields := []struct {
		name       string
		want, have any
	}{
		{"spec.paramKind", want.ParamKind, have.ParamKind},
		{"spec.matchConstraints", want.MatchConstraints, have.MatchConstraints},
		{"spec.validations", want.Validations, have.Validations},
		{"spec.failurePolicy", want.FailurePolicy, have.FailurePolicy},
		{"spec.auditAnnotations", want.AuditAnnotations, have.AuditAnnotations},
		{"spec.matchConditions", want.MatchConditions, have.MatchConditions},
		{"spec.variables", want.Variables, have.Variables},
	}
	for _, f := range fields {
		if !equality.Semantic.DeepEqual(f.want, f.have) {
			return "differs from the generated one in " + f.name
		}
	}
	if !equality.Semantic.DeepEqual(want, have) {
		return "differs from the generated one in spec"
	}
	return ""
}

func diffBinding(want, have admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) string {
	want, have = *want.DeepCopy(), *have.DeepCopy()
	defaultMatchResources(want.MatchResources)
	defaultMatchResources(have.MatchResources)
	fields := []struct {
		name       string
		want, have any
	}{
		{"spec.policyName", want.PolicyName, have.PolicyName},
		{"spec.validationActions", want.ValidationActions, have.ValidationActions},
		{"spec.matchResources", want.MatchResources, have.MatchResources},
		{"spec.paramRef", want.ParamRef, have.ParamRef},
	}
	for _, f := range fields {
		if !equality.Semantic.DeepEqual(f.want, f.have) {
			return "differs from the generated one in " + f.name
		}
	}
	if !equality.Semantic.DeepEqual(want, have) {
		return "differs from the generated one in spec"
	}
	return ""
}

// defaultPolicySpec fills in the API server's defaults (k8s.io/kubernetes
// pkg/apis/admissionregistration/v1 defaults), so a generated spec and its installed copy compare
// equal.
func defaultPolicySpec(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
	if s.FailurePolicy == nil {
		fail := admissionregistrationv1.Fail
		s.FailurePolicy = &fail
	}
	defaultMatchResources(s.MatchConstraints)
}

func defaultMatchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		equivalent := admissionregistrationv1.Equivalent
		m.MatchPolicy = &equivalent
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				all := admissionregistrationv1.AllScopes
				rules[i].Scope = &all
			}
		}
	}
}

// taskCreated is the time the guard compares policy creation with: the Task's creation.
func taskCreated(t *v1alpha1.Task) time.Time { return t.CreationTimestamp.Time }
