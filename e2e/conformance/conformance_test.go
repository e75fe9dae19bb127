package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
)

// goldenDirs are the testdata directories of the libraries and taskpod, relative to this
// package's directory.
var goldenDirs = []string{"../../podspec/testdata", "../../credentials/testdata", "../../taskpod/testdata"}

// versions: the newest policy, and pinned versions (the test bed's Kubernetes minor, and 1.25,
// when restricted gained its current capability and seccomp rules).
func versions() map[string]api.Version {
	return map[string]api.Version{
		"latest": api.LatestVersion(),
		"v1.37":  api.MajorMinorVersion(1, 37),
		"v1.25":  api.MajorMinorVersion(1, 25),
	}
}

func TestGoldensAreRestricted(t *testing.T) {
	ev, err := NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range goldenDirs {
		n, failures, err := CheckGoldens(ev, dir, versions())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("no Pod goldens found under %s: the conformance check would be vacuous", dir)
		}
		for _, f := range failures {
			t.Error(f)
		}
		t.Logf("%s: %d Pod goldens evaluated at restricted (latest, v1.37, v1.25)", dir, n)
	}
}

// TestCheckGoldensFails shows the check above can fail: it reports an empty directory as zero
// goldens, and a weakened golden with its exact forbidden reasons.
func TestCheckGoldensFails(t *testing.T) {
	ev, err := NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if n, failures, err := CheckGoldens(ev, empty, versions()); n != 0 || len(failures) != 0 || err != nil {
		t.Errorf("empty dir: %d goldens, %v, %v", n, failures, err)
	}
	src, err := os.ReadFile(filepath.Join(goldenDirs[0], "minimal.pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	weak := t.TempDir()
	mutated := strings.Replace(string(src), "privileged: false", "privileged: true", 1)
	if mutated == string(src) {
		t.Fatal("minimal.pod.yaml has no privileged: false to flip")
	}
	if err := os.WriteFile(filepath.Join(weak, "weak.pod.yaml"), []byte(mutated), 0o644); err != nil {
		t.Fatal(err)
	}
	n, failures, err := CheckGoldens(ev, weak, map[string]api.Version{"latest": api.LatestVersion()})
	want := []string{filepath.Join(weak, "weak.pod.yaml") + ` is not allowed by restricted@latest: privileged (container "agent" must not set securityContext.privileged=true)`}
	if err != nil || n != 1 {
		t.Fatalf("weak dir: %d goldens, %v", n, err)
	}
	if diff := cmp.Diff(want, failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestNegativeControl proves the evaluator is live: deliberately weakened copies of real goldens
// must be refused, each with exactly the reason its weakening deserves.
func TestNegativeControl(t *testing.T) {
	ev, err := NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	var golden *corev1.Pod
	for _, dir := range goldenDirs {
		pods, paths, err := LoadPods(dir)
		if err != nil || len(paths) == 0 {
			t.Fatalf("%s: %v, %d goldens", dir, err, len(paths))
		}
		if strings.HasPrefix(dir, "../../credentials") {
			golden = pods[paths[0]]
		}
	}
	if len(golden.Spec.InitContainers) == 0 {
		t.Fatal("the golden used as the control needs an init container")
	}
	init0 := golden.Spec.InitContainers[0].Name
	cases := []struct {
		name   string
		weaken func(*corev1.PodSpec)
		want   []string
	}{
		{"privileged agent", func(ps *corev1.PodSpec) { ps.Containers[0].SecurityContext.Privileged = ptr(true) },
			[]string{`privileged (container "agent" must not set securityContext.privileged=true)`}},
		{"init container as root", func(ps *corev1.PodSpec) { ps.InitContainers[0].SecurityContext.RunAsUser = ptr(int64(0)) },
			[]string{`runAsUser=0 (container "` + init0 + `" must not set runAsUser=0)`}},
		{"pod as root", func(ps *corev1.PodSpec) {
			ps.SecurityContext.RunAsUser = ptr(int64(0))
			ps.SecurityContext.RunAsNonRoot = nil
			for i := range ps.InitContainers {
				ps.InitContainers[i].SecurityContext.RunAsUser, ps.InitContainers[i].SecurityContext.RunAsNonRoot = nil, nil
			}
			for i := range ps.Containers {
				ps.Containers[i].SecurityContext.RunAsUser, ps.Containers[i].SecurityContext.RunAsNonRoot = nil, nil
			}
		}, []string{`runAsNonRoot != true (pod or containers "` + containerList(golden) + `" must set securityContext.runAsNonRoot=true)`,
			`runAsUser=0 (pod must not set runAsUser=0)`}},
		{"escalation in init", func(ps *corev1.PodSpec) { ps.InitContainers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true) },
			[]string{`allowPrivilegeEscalation != false (container "` + init0 + `" must set securityContext.allowPrivilegeEscalation=false)`}},
		{"capabilities kept", func(ps *corev1.PodSpec) {
			ps.Containers[0].SecurityContext.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW"}}
		}, []string{`unrestricted capabilities (container "agent" must set securityContext.capabilities.drop=["ALL"]; container "agent" must not include "NET_RAW" in securityContext.capabilities.add)`}},
		{"seccomp unconfined", func(ps *corev1.PodSpec) {
			ps.SecurityContext.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
		}, []string{`seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`}},
		{"hostPath volume", func(ps *corev1.PodSpec) {
			ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}, []string{`restricted volume types (volume "host" uses restricted volume type "hostPath")`}},
		{"host network", func(ps *corev1.PodSpec) { ps.HostNetwork = true }, []string{`host namespaces (hostNetwork=true)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Forbidden(ev, Restricted(api.LatestVersion()), golden); len(got) != 0 {
				t.Fatalf("the unmodified golden is refused: %v", got)
			}
			weak := golden.DeepCopy()
			tc.weaken(&weak.Spec)
			got := Forbidden(ev, Restricted(api.LatestVersion()), weak)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("forbidden reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func containerList(p *corev1.Pod) string {
	var names []string
	for _, c := range p.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	return strings.Join(names, `", "`)
}

func ptr[T any](v T) *T { return &v }
