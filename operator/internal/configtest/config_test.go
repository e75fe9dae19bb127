package configtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubeopencode/kubeopencode/policy"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

const defaultConfig = "../../config/default"

// build renders a kustomization the way `kubectl apply -k` does.
func build(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs := map[string]map[string]any{}
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		key := r.GetKind() + "/" + r.GetNamespace() + "/" + r.GetName()
		if _, dup := objs[key]; dup {
			t.Errorf("%s appears twice", key)
		}
		objs[key] = m
	}
	return objs
}

func decode[T any](t *testing.T, m map[string]any) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDefaultConfigObjects(t *testing.T) {
	objs := build(t, defaultConfig)
	var got []string
	for k := range objs {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{
		"ClusterRole//kubeopencode-agent-user",
		"ClusterRole//kubeopencode-metrics-reader",
		"ClusterRole//kubeopencode-operator",
		"ClusterRole//kubeopencode-task-author",
		"ClusterRole//kubeopencode-task-finalizer-remover",
		"ClusterRole//kubeopencode-viewer",
		"ClusterRoleBinding//kubeopencode-operator",
		"CustomResourceDefinition//agents.kubeopencode.io",
		"CustomResourceDefinition//kubeopencodeconfigs.kubeopencode.io",
		"CustomResourceDefinition//tasks.kubeopencode.io",
		"Deployment/kubeopencode-system/kubeopencode-operator",
		"Namespace//kubeopencode-system",
		"Role/kubeopencode-system/kubeopencode-operator-leader-election",
		"RoleBinding/kubeopencode-system/kubeopencode-operator-leader-election",
		"Service/kubeopencode-system/kubeopencode-operator-metrics",
		"ServiceAccount/kubeopencode-system/kubeopencode-operator",
		"ValidatingAdmissionPolicy//kubeopencode-agent-references",
		"ValidatingAdmissionPolicy//kubeopencode-task-agent-use",
		"ValidatingAdmissionPolicy//kubeopencode-task-cleanup-finalizer",
		"ValidatingAdmissionPolicy//kubeopencode-task-references",
		"ValidatingAdmissionPolicyBinding//kubeopencode-agent-references",
		"ValidatingAdmissionPolicyBinding//kubeopencode-task-agent-use",
		"ValidatingAdmissionPolicyBinding//kubeopencode-task-cleanup-finalizer",
		"ValidatingAdmissionPolicyBinding//kubeopencode-task-references",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("objects of config/default (-want +got):\n%s", d)
	}
}

// TestMetricsService: the metrics Service exposes the Deployment's HTTPS metrics port as 8443
// "https", selects the operator's Pods, and the operator serves metrics on that port.
func TestMetricsService(t *testing.T) {
	objs := build(t, defaultConfig)
	dep := decode[appsv1.Deployment](t, objs["Deployment/kubeopencode-system/kubeopencode-operator"])
	svc := decode[corev1.Service](t, objs["Service/kubeopencode-system/kubeopencode-operator-metrics"])
	c := dep.Spec.Template.Spec.Containers[0]
	var port int32
	for _, p := range c.Ports {
		if p.Name == "https" {
			port = p.ContainerPort
		}
	}
	if port != 8443 || !slices.Contains(c.Args, "--metrics-bind-address=:8443") {
		t.Errorf("the manager serves metrics on %d (args %v), want port https 8443", port, c.Args)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].Port != 8443 || svc.Spec.Ports[0].TargetPort.StrVal != "https" {
		t.Errorf("metrics Service ports %+v, want https 8443 -> https", svc.Spec.Ports)
	}
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("the metrics Service selects %s=%s, which the operator's Pods do not carry", k, v)
		}
	}
}

// TestOperatorPodIsRestricted judges the operator Deployment's Pod with the same Pod Security
// verdict the operator applies to agent Pods (T8), and checks the hardening restricted does not
// require.
func TestOperatorPodIsRestricted(t *testing.T) {
	objs := build(t, defaultConfig)
	dep := decode[appsv1.Deployment](t, objs["Deployment/kubeopencode-system/kubeopencode-operator"])
	pod := &corev1.Pod{ObjectMeta: dep.Spec.Template.ObjectMeta, Spec: dep.Spec.Template.Spec}
	pod.Namespace = dep.Namespace
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if v := judge.Judge(pod); !v.Allowed {
		t.Fatalf("the operator Pod fails Pod Security: %s", v.Message())
	}
	ns := decode[corev1.Namespace](t, objs["Namespace//kubeopencode-system"])
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("kubeopencode-system does not enforce restricted: labels %v", ns.Labels)
	}
	for _, c := range pod.Spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: root filesystem is writable", c.Name)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s: memory request and limit are required", c.Name)
		}
		if err := checkMemLimit(c); err != nil {
			t.Errorf("container %s: %v", c.Name, err)
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Errorf("container %s: liveness and readiness probes are required", c.Name)
		}
	}
	if pod.Spec.ServiceAccountName != kocrbac.DefaultOperatorServiceAccount || dep.Namespace != kocrbac.DefaultOperatorNamespace {
		t.Errorf("Deployment runs as %s/%s; the generated roles bind %s/%s", dep.Namespace, pod.Spec.ServiceAccountName,
			kocrbac.DefaultOperatorNamespace, kocrbac.DefaultOperatorServiceAccount)
	}
}

// TestSystemImagePinned: the shipped Deployment runs a versioned operator image (never a moving
// tag such as latest) and passes the same image as --system-image, which agent Pods run with
// every file credential and Git Secret of their Agent (credential staging, git-clone).
func TestSystemImagePinned(t *testing.T) {
	objs := build(t, defaultConfig)
	dep := decode[appsv1.Deployment](t, objs["Deployment/kubeopencode-system/kubeopencode-operator"])
	c := dep.Spec.Template.Spec.Containers[0]
	if err := checkPinned(c.Image); err != nil {
		t.Errorf("operator image: %v", err)
	}
	var system string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--system-image="); ok {
			system = v
		}
	}
	if system != c.Image {
		t.Errorf("--system-image = %q, want the operator's own pinned image %q", system, c.Image)
	}
	for _, bad := range []string{"quay.io/kubeopencode/kubeopencode", "quay.io/kubeopencode/kubeopencode:latest", "example.com/x:latest"} {
		if checkPinned(bad) == nil {
			t.Errorf("checkPinned(%q) accepted a moving reference", bad)
		}
	}
}

// checkPinned accepts an image reference with a digest, or a tag other than latest.
func checkPinned(image string) error {
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return fmt.Errorf("%q has no tag or digest", image)
	}
	if tag := image[i+1:]; tag == "latest" || tag == "" {
		return fmt.Errorf("%q uses the moving tag %q", image, tag)
	}
	return nil
}

// TestConfigRolesGrantNothingDangerous reads every Role and ClusterRole a user installs (T14).
func TestConfigRolesGrantNothingDangerous(t *testing.T) {
	objs := build(t, defaultConfig)
	n := 0
	for key, m := range objs {
		if !strings.HasPrefix(key, "ClusterRole/") && !strings.HasPrefix(key, "Role/") {
			continue
		}
		n++
		role := decode[rbacv1.ClusterRole](t, m) // a Role has the same rules field
		found := rbac.FindDangerous(role.Rules)
		if key == "ClusterRole//"+kocrbac.OperatorRoleName {
			// The operator creates agent Pods: the one accepted dangerous grant, with its reason.
			found = kocrbac.WithoutAccepted(found, kocrbac.AcceptedOperatorGrants())
		}
		if len(found) > 0 {
			t.Errorf("%s grants %v", key, found)
		}
	}
	if n < 5 {
		t.Errorf("checked %d roles, want at least 5", n)
	}
}

// checkMemLimit requires GOMEMLIMIT (a Go quantity such as 200MiB) between 50 % and 90 % of the
// container's memory limit: below the limit so the GC acts before the OOM killer, not so low that
// it runs all the time.
func checkMemLimit(c corev1.Container) error {
	var v string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			v = e.Value
		}
	}
	if v == "" {
		return fmt.Errorf("GOMEMLIMIT is not set")
	}
	q, err := resource.ParseQuantity(strings.TrimSuffix(v, "B")) // Go's MiB is Kubernetes' Mi
	if err != nil || !strings.HasSuffix(v, "iB") {
		return fmt.Errorf("GOMEMLIMIT %q is not a Go size in KiB, MiB or GiB", v)
	}
	limit := c.Resources.Limits.Memory().Value()
	if r := float64(q.Value()) / float64(limit); r < 0.5 || r > 0.9 {
		return fmt.Errorf("GOMEMLIMIT %s is %.0f%% of limits.memory %s; keep it within 50–90%%", v, 100*r, c.Resources.Limits.Memory())
	}
	return nil
}

func TestCheckMemLimit(t *testing.T) {
	container := func(limit, gomemlimit string) corev1.Container {
		c := corev1.Container{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}}}
		if gomemlimit != "" {
			c.Env = []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: gomemlimit}}
		}
		return c
	}
	for _, tc := range []struct {
		limit, gomemlimit, wantErr string
	}{
		{"256Mi", "200MiB", ""},
		{"1Gi", "800MiB", ""},
		{"256Mi", "", "not set"},
		{"256Mi", "256MiB", "within 50–90%"},
		{"256Mi", "64MiB", "within 50–90%"},
		{"256Mi", "200Mi", "not a Go size"},
		{"256Mi", "lots", "not a Go size"},
	} {
		err := checkMemLimit(container(tc.limit, tc.gomemlimit))
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("limit %s GOMEMLIMIT %q: error %v, want %q", tc.limit, tc.gomemlimit, err, tc.wantErr)
		}
	}
}
