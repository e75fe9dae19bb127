package controller_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestComputeQuotaAcceptsAgentPods: in a namespace whose ResourceQuota requires requests and
// limits of CPU and memory, the API server's quota admission refuses any container without them.
// An agent Pod with every kind of init container (agent-init, stage-credentials, git-clone) is
// admitted: the operator gives each init container resources, and the Agent the agent
// container's. Its scratch volumes are bounded (workspace, HOME, /tmp, the Git checkout), the
// Agent's own limit overriding the default.
func TestComputeQuotaAcceptsAgentPods(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	hard := corev1.ResourceList{
		corev1.ResourceLimitsCPU: resource.MustParse("20"), corev1.ResourceLimitsMemory: resource.MustParse("20Gi"),
		corev1.ResourceRequestsCPU: resource.MustParse("20"), corev1.ResourceRequestsMemory: resource.MustParse("20Gi"),
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "compute"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}
	create(t, quota)
	// No quota controller runs here: the status it would write is what admission enforces.
	quota.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: corev1.ResourceList{
		corev1.ResourceLimitsCPU: resource.MustParse("0"), corev1.ResourceLimitsMemory: resource.MustParse("0"),
		corev1.ResourceRequestsCPU: resource.MustParse("0"), corev1.ResourceRequestsMemory: resource.MustParse("0"),
	}}
	if err := env.Client.Status().Update(ctx, quota); err != nil {
		t.Fatal(err)
	}
	// The quota is enforced: a Pod without limits is refused.
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if err := env.Client.Create(ctx, bare); err == nil {
		t.Fatal("a Pod without limits was admitted: the quota is not enforced, the test proves nothing")
	}

	startOperator(t, []string{ns})
	agentResources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
	}
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) {
		a.Spec.Credentials = []v1alpha1.Credential{{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/home/agent/.ssh/id"}}
		workspace := resource.MustParse("20Gi")
		a.Spec.PodSpec = &v1alpha1.AgentPodSpec{Resources: &agentResources, VolumeSizeLimits: &v1alpha1.VolumeSizeLimits{Workspace: &workspace}}
	})
	create(t, ag)
	tk := task(ns, "task", ns, ag.Name, func(tk *v1alpha1.Task) {
		tk.Spec.Contexts = []v1alpha1.ContextItem{{Name: "src", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/org/repo.git"}}}
	})
	create(t, tk)
	pod := waitPod(t, tk)

	names := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		names[c.Name] = true
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Limits[r]; !ok {
				t.Errorf("container %s: no %s limit", c.Name, r)
			}
			if _, ok := c.Resources.Requests[r]; !ok {
				t.Errorf("container %s: no %s request", c.Name, r)
			}
		}
	}
	for _, want := range []string{"agent-init", "stage-credentials", "agent"} {
		if !names[want] {
			t.Errorf("no container %s in %v: the test does not cover it", want, names)
		}
	}
	sizes := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
			sizes[v.Name] = v.EmptyDir.SizeLimit.String()
		}
	}
	want := map[string]string{"workspace": "20Gi", "home": "2Gi", "tmp": "2Gi"}
	for name := range sizes {
		if strings.HasPrefix(name, "git-") {
			want[name] = "10Gi" // the checkout of the Git context
		}
	}
	got := map[string]string{}
	for name := range want {
		got[name] = sizes[name]
	}
	if diff := cmp.Diff(want, got); diff != "" || len(want) != 4 {
		t.Errorf("emptyDir sizeLimits (-want +got), want workspace, home, tmp and one git volume:\n%s\nall: %v", diff, sizes)
	}
}
