package controller_test

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestT14NoSecrets: the manager in every test runs as a ServiceAccount bound to exactly the
// generated roles; here, that identity cannot read Secrets, and a Task whose Agent names Secrets
// that do not even exist still gets its Pod, which only references them by name (the kubelet
// mounts them; a missing one shows up in Pod status, see T6).
func TestT14NoSecrets(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	secret := &corev1.Secret{}
	secret.Namespace, secret.Name = ns, "present"
	secret.StringData = map[string]string{"token": "s3cr3t"}
	create(t, secret)

	op, err := client.New(operatorConfig, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get a Secret":              op.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}),
		"list Secrets in namespace": op.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)),
		"list all Secrets":          op.List(ctx, &corev1.SecretList{}),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as the operator: got %v, want Forbidden", name, err)
		}
	}
	role, err := kocrbac.OperatorClusterRole(kocrbac.OperatorOptions{Namespace: operatorNS})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "*") {
			t.Errorf("the operator's role grants %v on %v", r.Verbs, r.Resources)
		}
	}

	startOperator(t, []string{ns})
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) {
		a.Spec.Credentials = []v1alpha1.Credential{
			{Name: "api", SecretRef: v1alpha1.SecretReference{Name: "absent", Key: "token"}, Env: "API_TOKEN"},
			{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "present", Key: "token"}, MountPath: "/home/agent/token"},
		}
	})
	create(t, ag)
	tk := task(ns, "task", ns, ag.Name)
	create(t, tk)
	pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
	var refs []string
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				refs = append(refs, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			refs = append(refs, v.Secret.SecretName)
		}
	}
	slices.Sort(refs)
	if !slices.Equal(refs, []string{"absent", "present"}) {
		t.Errorf("the Pod references Secrets %v, want [absent present] by name", refs)
	}
}
