package podspec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// baseSpec is the smallest valid Spec.
func baseSpec() Spec {
	return Spec{
		Identity: Identity{
			OwnerUID:       "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11",
			OwnerName:      "fix-login-bug",
			OwnerNamespace: "team-a",
			GroupName:      "opencode",
		},
		Namespace:     "team-a",
		AgentImage:    "ghcr.io/kubeopencode/agent-opencode:v1.2.3",
		ExecutorImage: "ghcr.io/kubeopencode/agent-devbox:v1.2.3",
		Command:       []string{"/tools/opencode", "run", "--file", "/workspace/task.md"},
	}
}

// fakeProjection stands in for credentials.Projection (this module may not import it). It adds
// what a careless projection might: a privileged root init container and host networking.
type fakeProjection struct{}

func (fakeProjection) Apply(ps *corev1.PodSpec, names ...string) error {
	root := int64(0)
	ps.HostNetwork = true
	ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "stage", VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
	ps.InitContainers = append([]corev1.Container{{
		Name: "stage", Image: "example.com/stage:v1",
		SecurityContext: &corev1.SecurityContext{Privileged: ptr(true), RunAsUser: &root,
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "stage", MountPath: "/kubeopencode/out"}},
	}}, ps.InitContainers...)
	for _, n := range names {
		for i := range ps.Containers {
			if ps.Containers[i].Name == n {
				c := &ps.Containers[i]
				c.Env = append(c.Env, corev1.EnvVar{Name: "GITHUB_TOKEN", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "gh"}, Key: "token"}}})
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "stage", MountPath: "/home/agent/.ssh/id_ed25519",
					SubPath: "ssh/key", ReadOnly: true})
			}
		}
	}
	return nil
}

func fullSpec() Spec {
	s := baseSpec()
	s.Identity.OwnerNamespace = "team-b"
	s.Labels = map[string]string{"team": "a", "example.com/cost-center": "42"}
	s.Annotations = map[string]string{"example.com/owner": "alice@example.com"}
	s.AgentInitCommand = []string{"/copy-agent", "--to", "/tools"}
	s.ImagePullPolicy = corev1.PullIfNotPresent
	s.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
	s.WorkspaceDir = "/work/src"
	s.Command = []string{"/tools/opencode", "run", "--file", "/work/src/task.md"}
	s.Args = []string{"--model", "large"}
	s.Env = []corev1.EnvVar{{Name: "OPENCODE_PERMISSION", Value: `{"*":"allow"}`}, {Name: "TASK_ID", Value: "fix-login-bug"}}
	s.Files = []File{
		{Path: "/work/src/task.md", ConfigMap: "fix-login-bug-ctx", Key: "task.md"},
		{Path: "/work/src/.kubeopencode/context.md", ConfigMap: "fix-login-bug-ctx", Key: "context.md"},
		{Path: "/home/agent/.config/opencode/opencode.json", ConfigMap: "agent-config", Key: "opencode.json", Mode: 0o440},
		{Path: "/usr/local/bin/run_checks.sh", ConfigMap: "agent-config", Key: "run_checks.sh", Mode: 0o555},
	}
	s.Volumes = []corev1.Volume{
		{Name: "cache", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "go-cache"}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	s.VolumeMounts = []corev1.VolumeMount{
		{Name: "cache", MountPath: "/home/agent/.cache/go-build"},
		{Name: "scratch", MountPath: "/scratch"},
		{Name: "scratch", MountPath: "/scratch/nested-ok", SubPath: "nested"},
	}
	s.InitContainers = []corev1.Container{{
		Name: "git-clone", Image: "example.com/git:v2", Args: []string{"clone", "https://example.com/repo.git", "/work/src"},
		SecurityContext: &corev1.SecurityContext{RunAsUser: ptr(int64(0))},
		VolumeMounts:    []corev1.VolumeMount{{Name: WorkspaceVolumeName, MountPath: "/work/src"}},
	}}
	s.Sidecars = []corev1.Container{{
		Name: "proxy", Image: "example.com/proxy:v1",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}},
	}}
	s.ServiceAccountName = "agent-runner"
	s.RuntimeClassName = "gvisor"
	s.Scheduling = Scheduling{
		NodeSelector:      map[string]string{"kubernetes.io/arch": "amd64"},
		Tolerations:       []corev1.Toleration{{Key: "agents", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		PriorityClassName: "agents",
	}
	s.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
	}
	s.Deadline = 90*time.Minute + 500*time.Millisecond
	s.UID, s.GID = 1000, 2000
	return s
}

// goldenScenarios are rendered to testdata/<name>.pod.yaml. e2e/conformance evaluates every one
// of them with the Pod Security admission evaluator at "restricted".
func goldenScenarios() []struct {
	name, about string
	spec        func() Spec
} {
	return []struct {
		name, about string
		spec        func() Spec
	}{
		{"minimal", "only the required fields: every default", baseSpec},
		{"full", "every field, custom UID/GID, files, volumes, init container and sidecar", fullSpec},
		{"relaxed", "every Relax option switched on; still Pod Security restricted", func() Spec {
			s := baseSpec()
			s.Relax = Relax{AutomountServiceAccountToken: true, WritableRootFilesystem: true, EnableServiceLinks: true}
			return s
		}},
		{"long-names", "253-character names: the Pod name and label values become prefix plus hash", func() Spec {
			s := baseSpec()
			long := strings.Repeat("very-long-task-name.", 13) + "end-of-name"
			s.Identity.OwnerName = long[:253]
			s.Identity.OwnerNamespace = strings.Repeat("n", 63)
			s.Identity.GroupName = "Agent_With.Underscores_and.dots_" + strings.Repeat("x", 60)
			s.Files = []File{{Path: "/home/agent/.config/My_Tool/settings.v2.json", ConfigMap: "cfg", Key: "settings"}}
			return s
		}},
		{"custom-label-domain", "another controller's label scheme: no kubeopencode.io label, its own managed-by", func() Spec {
			s := baseSpec()
			s.LabelScheme = LabelScheme{Domain: "sandbox.example.com", ManagedBy: "sandbox-controller", OwnerKind: "sandbox", GroupKind: "template"}
			s.Labels = map[string]string{"kubeopencode.io/agent": "not-reserved-under-this-scheme"}
			return s
		}},
		{"projection-hardened", "a projection that adds a privileged root init container and host networking is hardened", func() Spec {
			s := baseSpec()
			s.Projections = []Projection{fakeProjection{}}
			return s
		}},
	}
}

func TestGolden(t *testing.T) {
	for _, sc := range goldenScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			pod, err := Build(sc.spec())
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			again, err := Build(sc.spec())
			if err != nil {
				t.Fatalf("Build (second time): %v", err)
			}
			if diff := cmp.Diff(pod, again); diff != "" {
				t.Fatalf("Build is not deterministic (-first +second):\n%s", diff)
			}
			got := render(t, sc.about, pod)
			if diff := cmp.Diff(got, render(t, sc.about, again)); diff != "" {
				t.Fatalf("rendering is not deterministic:\n%s", diff)
			}
			path := filepath.Join("testdata", sc.name+".pod.yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s differs from Build output (-golden +got); run go test -update if intended:\n%s", path, diff)
			}
		})
	}
}

func render(t *testing.T, about string, pod *corev1.Pod) string {
	t.Helper()
	y, err := yaml.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return "# Code generated by `go test -update` in podspec; DO NOT EDIT.\n# Scenario: " + about + "\n" + string(y)
}
