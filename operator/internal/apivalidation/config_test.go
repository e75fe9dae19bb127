package apivalidation

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// KubeOpenCodeConfig is cluster-scoped, so these tests share one object name ("cluster") and
// clean up after themselves instead of using a namespace each.

func fullConfig() *v1alpha1.KubeOpenCodeConfig {
	return &v1alpha1.KubeOpenCodeConfig{
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ConfigName},
		Spec: v1alpha1.KubeOpenCodeConfigSpec{
			SystemImage: &v1alpha1.SystemImageConfig{Image: "quay.io/kubeopencode/kubeopencode:v0.1.0", ImagePullPolicy: corev1.PullIfNotPresent},
			Cleanup:     &v1alpha1.CleanupConfig{TTLSecondsAfterFinished: ptr.To[int32](0), MaxRetainedTasks: ptr.To[int32](100)},
			AgentPodDefaults: &v1alpha1.AgentPodDefaults{
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
				},
				RunAsUser:  ptr.To(v1alpha1.DefaultAgentUID),
				RunAsGroup: ptr.To(v1alpha1.DefaultAgentGID),
				InitContainerResources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
				VolumeSizeLimits: &v1alpha1.VolumeSizeLimits{Workspace: ptr.To(resource.MustParse("50Gi")), Git: ptr.To(resource.MustParse("20Gi"))},
			},
			CABundle: &v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "cluster-ca", Key: "ca.pem"}},
		},
	}
}

func TestConfigAccepted(t *testing.T) {
	ctx := context.Background()
	c := fullConfig()
	if err := env.Client.Create(ctx, c); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, c) })
	if c.Namespace != "" {
		t.Errorf("stored with namespace %q; KubeOpenCodeConfig is cluster-scoped", c.Namespace)
	}
	got := &v1alpha1.KubeOpenCodeConfig{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: v1alpha1.ConfigName}, got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if *got.Spec.AgentPodDefaults.RunAsUser != 65532 || got.Spec.Cleanup.MaxRetainedTasks == nil ||
		got.Spec.AgentPodDefaults.VolumeSizeLimits.Workspace.String() != "50Gi" || got.Spec.AgentPodDefaults.InitContainerResources == nil ||
		got.Spec.CABundle == nil {
		t.Errorf("stored spec %+v", got.Spec)
	}
}

func TestConfigRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mutate func(*v1alpha1.KubeOpenCodeConfig)
		raw    func(*testing.T, *unstructured.Unstructured)
		want   refusal
	}{
		{name: "name other than cluster", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Name = "default" }, want: refusal{"", "metadata.name must be cluster"}},
		{name: "image with whitespace", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.SystemImage.Image = "quay.io/x y" }, want: refusal{"spec.systemImage.image", msgPattern}},
		{name: "caBundle with secretRef", mutate: func(c *v1alpha1.KubeOpenCodeConfig) {
			c.Spec.CABundle.SecretRef = &v1alpha1.CABundleReference{Name: "ca"}
		}, want: refusal{"spec.caBundle.secretRef", "secretRef is not supported"}},
		{name: "imagePullPolicy outside the enum", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.SystemImage.ImagePullPolicy = "Sometimes" }, want: refusal{"spec.systemImage.imagePullPolicy", "Unsupported value"}},
		{name: "ttlSecondsAfterFinished negative", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.Cleanup.TTLSecondsAfterFinished = ptr.To[int32](-1) }, want: refusal{"spec.cleanup.ttlSecondsAfterFinished", "greater than or equal to 0"}},
		{name: "ttlSecondsAfterFinished above 30 days", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.Cleanup.TTLSecondsAfterFinished = ptr.To[int32](2592001) }, want: refusal{"spec.cleanup.ttlSecondsAfterFinished", "less than or equal to 2592000"}},
		{name: "maxRetainedTasks negative", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.Cleanup.MaxRetainedTasks = ptr.To[int32](-5) }, want: refusal{"spec.cleanup.maxRetainedTasks", "greater than or equal to 0"}},
		{name: "runAsUser root", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.AgentPodDefaults.RunAsUser = ptr.To[int64](0) }, want: refusal{"spec.agentPodDefaults.runAsUser", "greater than or equal to 1"}},
		{name: "runAsGroup root", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.AgentPodDefaults.RunAsGroup = ptr.To[int64](0) }, want: refusal{"spec.agentPodDefaults.runAsGroup", "greater than or equal to 1"}},
		{name: "runAsUser beyond int32", mutate: func(c *v1alpha1.KubeOpenCodeConfig) { c.Spec.AgentPodDefaults.RunAsUser = ptr.To[int64](1 << 31) }, want: refusal{"spec.agentPodDefaults.runAsUser", "less than or equal to 2147483647"}},
		{name: "volume size limit negative", mutate: func(c *v1alpha1.KubeOpenCodeConfig) {
			c.Spec.AgentPodDefaults.VolumeSizeLimits.Git = ptr.To(resource.MustParse("-1Gi"))
		}, want: refusal{"spec.agentPodDefaults.volumeSizeLimits.git", "must be greater than zero"}},
		{name: "resource quantity malformed", raw: func(t *testing.T, u *unstructured.Unstructured) {
			set(t, u, "spec.agentPodDefaults.resources.limits", map[string]any{"memory": "lots"})
		}, want: refusal{"spec.agentPodDefaults.resources.limits.memory", msgPattern}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fullConfig()
			if tc.mutate != nil {
				tc.mutate(c)
			}
			var raw func(*unstructured.Unstructured)
			if tc.raw != nil {
				raw = func(u *unstructured.Unstructured) { tc.raw(t, u) }
			}
			err := create(ctx, t, c, raw)
			if err == nil {
				_ = env.Client.Delete(ctx, c)
			}
			expectRefused(t, err, tc.want)
			assertAbsent(ctx, t, c)
		})
	}
}

func TestConfigNameMessageNamesTheField(t *testing.T) {
	ctx := context.Background()
	c := fullConfig()
	c.Name = "my-config"
	err := env.Client.Create(ctx, c)
	if err == nil || !strings.Contains(err.Error(), "metadata.name must be cluster") {
		t.Fatalf("got %v; want a refusal that names metadata.name", err)
	}
}
