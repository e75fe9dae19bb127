package policy

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hardenedPod passes restricted: the shape the podspec module builds for every agent Pod.
func hardenedPod() *corev1.Pod {
	hardened := func(name string) corev1.Container {
		return corev1.Container{
			Name:  name,
			Image: "example.com/agent:1",
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptrTo(false),
				ReadOnlyRootFilesystem:   ptrTo(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "task-1", Namespace: "agents"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptrTo(true),
				RunAsUser:      ptrTo[int64](65532),
				RunAsGroup:     ptrTo[int64](65532),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			InitContainers: []corev1.Container{hardened("tools")},
			Containers:     []corev1.Container{hardened("agent")},
			Volumes: []corev1.Volume{
				{Name: "home", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			},
		},
	}
}

func TestPodSecurityJudgeRestricted(t *testing.T) {
	judge, err := NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string // nil: allowed
	}{
		{"hardened", func(*corev1.Pod) {}, nil},
		{"privilege escalation allowed", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptrTo(true)
		}, []string{`allowPrivilegeEscalation != false (container "agent" must set securityContext.allowPrivilegeEscalation=false)`}},
		{"capabilities kept", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities = nil
		}, []string{`unrestricted capabilities (container "agent" must set securityContext.capabilities.drop=["ALL"])`}},
		{"capability added", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
			// The restricted capabilities check replaces the baseline one, so the reason appears once.
		}, []string{`unrestricted capabilities (container "agent" must not include "SYS_ADMIN" in securityContext.capabilities.add)`}},
		{"root allowed", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot = nil
			// Init containers are listed first, as the admission plugin visits them first.
		}, []string{`runAsNonRoot != true (pod or containers "tools", "agent" must set securityContext.runAsNonRoot=true)`}},
		{"runs as uid 0", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsUser = ptrTo[int64](0)
		}, []string{`runAsUser=0 (pod must not set runAsUser=0)`}},
		{"no seccomp", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = nil
		}, []string{`seccompProfile (pod or containers "tools", "agent" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`}},
		{"privileged", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Privileged = ptrTo(true)
		}, []string{`privileged (container "agent" must not set securityContext.privileged=true)`}},
		{"host network", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
		}, []string{`host namespaces (hostNetwork=true)`}},
		{"hostPath volume", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "docker", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}})
			// restricted's volume check replaces baseline's hostPath check.
		}, []string{`restricted volume types (volume "docker" uses restricted volume type "hostPath")`}},
		// Init containers are judged too: the tools init container is a container of the Pod.
		{"init container escalates", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].SecurityContext = nil
		}, []string{
			`allowPrivilegeEscalation != false (container "tools" must set securityContext.allowPrivilegeEscalation=false)`,
			`unrestricted capabilities (container "tools" must set securityContext.capabilities.drop=["ALL"])`,
		}},
		{"bare pod", func(p *corev1.Pod) {
			p.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "x"}}}
		}, []string{
			`allowPrivilegeEscalation != false (container "agent" must set securityContext.allowPrivilegeEscalation=false)`,
			`unrestricted capabilities (container "agent" must set securityContext.capabilities.drop=["ALL"])`,
			`runAsNonRoot != true (pod or container "agent" must set securityContext.runAsNonRoot=true)`,
			`seccompProfile (pod or container "agent" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := hardenedPod()
			tt.mutate(pod)
			got := judge.Judge(pod)
			want := PodVerdict{Allowed: tt.want == nil, Standard: "restricted:latest", Reasons: tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Judge (-want +got):\n%s", diff)
			}
			if (got.Err() == nil) != got.Allowed || got.Allowed != (got.Message() == "") {
				t.Errorf("Err() = %v, Message() = %q; inconsistent with Allowed=%v", got.Err(), got.Message(), got.Allowed)
			}
		})
	}
}

func TestPodVerdictMessageIsAdmissionText(t *testing.T) {
	judge, err := NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	pod := hardenedPod()
	pod.Spec.HostNetwork = true
	pod.Spec.SecurityContext.RunAsNonRoot = ptrTo(false)
	want := `violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)`
	v := judge.Judge(pod)
	if v.Message() != want || v.Err() == nil || v.Err().Error() != want {
		t.Errorf("Message() = %q, Err() = %v; want %q", v.Message(), v.Err(), want)
	}
}

// TestPodSecurityVersions shows that the version is honoured: checks that were added or relaxed in
// a release apply only from that release on.
func TestPodSecurityVersions(t *testing.T) {
	noCaps := hardenedPod()
	noCaps.Spec.Containers[0].SecurityContext.Capabilities = nil
	userNS := hardenedPod()
	userNS.Spec.HostUsers = ptrTo(false)
	userNS.Spec.SecurityContext.RunAsNonRoot = nil
	tests := []struct {
		level, version string
		pod            *corev1.Pod
		wantStandard   string
		wantAllowed    bool
	}{
		{"restricted", "v1.37", hardenedPod(), "restricted:v1.37", true},
		{"restricted", "v1.37", noCaps, "restricted:v1.37", false},
		{"restricted", "v1.21", noCaps, "restricted:v1.21", true}, // capabilities check arrived in 1.22
		{"restricted", "v1.22", noCaps, "restricted:v1.22", false},
		{"restricted", "v1.34", userNS, "restricted:v1.34", false}, // user-namespace relaxation arrived in 1.35
		{"restricted", "v1.35", userNS, "restricted:v1.35", true},
		{"restricted", "latest", userNS, "restricted:latest", true},
		{"restricted", "v1.99", noCaps, "restricted:v1.99", false}, // future versions use the newest checks
		{"baseline", "latest", noCaps, "baseline:latest", true},
		{"privileged", "latest", &corev1.Pod{Spec: corev1.PodSpec{HostPID: true}}, "privileged:latest", true},
	}
	for _, tt := range tests {
		judge, err := NewPodSecurityJudge(tt.level, tt.version)
		if err != nil {
			t.Fatalf("NewPodSecurityJudge(%q, %q): %v", tt.level, tt.version, err)
		}
		if judge.Standard() != tt.wantStandard {
			t.Errorf("Standard() = %q, want %q", judge.Standard(), tt.wantStandard)
		}
		if got := judge.Judge(tt.pod); got.Allowed != tt.wantAllowed || got.Standard != tt.wantStandard {
			t.Errorf("%s:%s Judge = %+v, want allowed=%v", tt.level, tt.version, got, tt.wantAllowed)
		}
	}
}

func TestNewPodSecurityJudgeRejectsBadInput(t *testing.T) {
	tests := []struct{ level, version, want string }{
		{"strict", "latest", `level: Invalid value: "strict": must be one of privileged, baseline, restricted`},
		{"Restricted", "latest", `level: Invalid value: "Restricted": must be one of privileged, baseline, restricted`},
		{"", "latest", `level: Invalid value: "": must be one of privileged, baseline, restricted`},
		{"restricted", "1.37", `version: Invalid value: "1.37": must be "latest" or "v1.x"`},
		{"restricted", "v2.0", `version: Invalid value: "v2.0": must be "latest" or "v1.x"`},
		{"restricted", "", `version: Invalid value: "": must be "latest" or "v1.x"`},
	}
	for _, tt := range tests {
		j, err := NewPodSecurityJudge(tt.level, tt.version)
		if err == nil || err.Error() != tt.want || j != nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("NewPodSecurityJudge(%q, %q) = %v, %v; want error %q", tt.level, tt.version, j, err, tt.want)
		}
	}
}

func TestJudgeNilPodFailsClosed(t *testing.T) {
	judge, err := NewPodSecurityJudge("privileged", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if v := judge.Judge(nil); v.Allowed {
		t.Errorf("Judge(nil) = %+v, want refused", v)
	}
}

func BenchmarkJudge(b *testing.B) {
	judge, err := NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		b.Fatal(err)
	}
	good := hardenedPod()
	bad := hardenedPod()
	bad.Spec.Containers[0].SecurityContext = nil
	b.Run("allowed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !judge.Judge(good).Allowed {
				b.Fatal("refused")
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if judge.Judge(bad).Allowed {
				b.Fatal("allowed")
			}
		}
	})
}

func BenchmarkNewPodSecurityJudge(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPodSecurityJudge("restricted", "latest"); err != nil {
			b.Fatal(err)
		}
	}
}
