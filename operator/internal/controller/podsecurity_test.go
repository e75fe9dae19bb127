package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	"github.com/kubeopencode/kubeopencode/policy"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// TestT8PodSecurity: every Pod the operator creates, init containers included, passes Pod
// Security "restricted" (judged here independently, and enforced by the API server's PodSecurity
// admission on the Agent's namespace); and an Agent whose Pod would be unsafe gets a Failed Task
// with the verdict, not a weaker Pod.
func TestT8PodSecurity(t *testing.T) {
	ctx := context.Background()
	restrictedNS := env.Namespace(ctx, t)
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: restrictedNS}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	ns.Labels["pod-security.kubernetes.io/enforce-version"] = "latest"
	if err := env.Client.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// No PodSecurity label here: only the operator's own judge stands between an unsafe Pod and
	// the API server.
	plainNS := env.Namespace(ctx, t)
	const systemImage = "registry.example.com/kubeopencode:v1"
	// Stands in for any way an Agent could ask for something "restricted" forbids; the schema and
	// podspec leave no such field today, so the test makes the built Pod privileged.
	unsafe := func(p *corev1.Pod) {
		if p.Labels[v1alpha1.AgentLabel] == "unsafe" {
			p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
		}
	}
	startOperator(t, []string{restrictedNS, plainNS}, func(o *setup.Options) {
		o.Controller.SystemImage = systemImage
		o.Controller.MutatePod = unsafe
	})
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	mode := v1alpha1.FileMode(0o400)
	cases := []struct {
		name  string
		agent func(*v1alpha1.Agent)
		check func(t *testing.T, pod *corev1.Pod)
	}{
		{name: "defaults", check: func(t *testing.T, pod *corev1.Pod) {
			if ptr.Deref(pod.Spec.AutomountServiceAccountToken, true) {
				t.Error("the ServiceAccount token is mounted although the Agent did not ask")
			}
		}},
		{name: "credentials as env and staged file", agent: func(a *v1alpha1.Agent) {
			a.Spec.Credentials = []v1alpha1.Credential{
				{Name: "api", SecretRef: v1alpha1.SecretReference{Name: "api", Key: "token"}, Env: "API_TOKEN"},
				{Name: "ssh", SecretRef: v1alpha1.SecretReference{Name: "ssh", Key: "id"}, MountPath: "/home/agent/.ssh/id", FileMode: &mode},
			}
		}, check: func(t *testing.T, pod *corev1.Pod) {
			i := slices.IndexFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "stage-credentials" })
			if i < 0 {
				t.Fatalf("no staging init container in %v", pod.Spec.InitContainers)
			}
			c := pod.Spec.InitContainers[i]
			if c.Image != systemImage || !slices.Equal(c.Command, []string{taskpod.SystemBinary, "stage-credentials"}) {
				t.Errorf("staging runs %s %v, want the operator's image %s running %s stage-credentials", c.Image, c.Command, systemImage, taskpod.SystemBinary)
			}
		}},
		{name: "service account token asked for", agent: func(a *v1alpha1.Agent) { a.Spec.AutomountServiceAccountToken = ptr.To(true) },
			check: func(t *testing.T, pod *corev1.Pod) {
				if !ptr.Deref(pod.Spec.AutomountServiceAccountToken, false) {
					t.Error("the Agent asked for the ServiceAccount token and did not get it")
				}
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ag := agent(restrictedNS, "agent-"+string(rune('a'+i)), func(a *v1alpha1.Agent) {
				if tc.agent != nil {
					tc.agent(a)
				}
			})
			create(t, ag)
			tk := task(restrictedNS, ag.Name, restrictedNS, ag.Name)
			create(t, tk)
			pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
			if v := judge.Judge(pod); !v.Allowed {
				t.Errorf("Pod fails %s: %s", v.Standard, v.Message())
			}
			for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
				sc := c.SecurityContext
				if sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) ||
					!ptr.Deref(sc.RunAsNonRoot, false) || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
					t.Errorf("container %q is not hardened: %+v", c.Name, sc)
				}
			}
			tc.check(t, pod)
		})
	}

	t.Run("an unsafe Pod is refused, not created", func(t *testing.T) {
		ag := agent(plainNS, "unsafe")
		create(t, ag)
		tk := task(plainNS, "unsafe", plainNS, ag.Name)
		create(t, tk)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		c := succeeded(got)
		if c.Reason != v1alpha1.ReasonPodSecurityViolation || !strings.Contains(c.Message, `violates PodSecurity "restricted:latest": privileged`) {
			t.Errorf("Succeeded = %s %q, want %s with the verdict", c.Reason, c.Message, v1alpha1.ReasonPodSecurityViolation)
		}
		waitEvent(t, got, v1alpha1.ReasonPodSecurityViolation)
		if pods := podsOf(t, got); len(pods) != 0 {
			t.Errorf("an unsafe Pod was created: %s", pods[0].Name)
		}
		eventually(t, 30*time.Second, "the Agent's Ready condition to say why", func(ctx context.Context) (bool, error) {
			cur := &v1alpha1.Agent{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ag), cur); err != nil {
				return false, err
			}
			r := meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionReady)
			return r != nil && r.Status == metav1.ConditionFalse && strings.Contains(r.Message, "privileged"), nil
		})
	})
}
