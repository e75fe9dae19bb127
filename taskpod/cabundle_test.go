package taskpod

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
)

// TestCABundle: an Agent's caBundle reaches every https git-clone init container as
// --ca-bundle-file on a read-only ConfigMap mount, and the agent container as a read-only file
// named by NODE_EXTRA_CA_CERTS and KUBEOPENCODE_CA_BUNDLE; an ssh clone does not get it; the Pod
// stays "restricted"; no container gets a flag or variable that turns verification off.
func TestCABundle(t *testing.T) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, wantKey string
	}{{"default key", "", v1alpha1.DefaultCABundleKey}, {"named key", "corp.pem", "corp.pem"}} {
		t.Run(tc.name, func(t *testing.T) {
			a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"},
				Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa",
					CABundle: &v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "corp-ca", Key: tc.key}},
					Contexts: []v1alpha1.ContextItem{
						{Name: "one", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/one.git"}},
						{Name: "two", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/two.git"}},
						{Name: "ssh", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "ssh://git@git.example.com/three.git",
							SecretRef: &v1alpha1.LocalSecretReference{Name: "ssh"}}},
					}}}
			tk := ValidationTask(a)
			pod, _, err := build(tk, a, nil, &ConfigMaps{})
			if err != nil {
				t.Fatal(err)
			}
			type clone struct {
				Name, CAFlag string
				CAMount      corev1.VolumeMount
			}
			var clones []clone
			for _, c := range pod.Spec.InitContainers {
				if !strings.HasPrefix(c.Name, "git-clone-") {
					continue
				}
				got := clone{Name: c.Name}
				for _, arg := range c.Command {
					if strings.HasPrefix(arg, "--ca-bundle-file") {
						got.CAFlag = arg
					}
					if strings.Contains(arg, "insecure") {
						t.Errorf("%s: argument %q", c.Name, arg)
					}
				}
				for _, m := range c.VolumeMounts {
					if m.Name == caBundleVolume {
						got.CAMount = m
					}
				}
				clones = append(clones, got)
			}
			caMount := corev1.VolumeMount{Name: caBundleVolume, MountPath: "/kubeopencode/ca", ReadOnly: true}
			if d := cmp.Diff([]clone{
				{"git-clone-0", "--ca-bundle-file=/kubeopencode/ca/ca-bundle.crt", caMount},
				{"git-clone-1", "--ca-bundle-file=/kubeopencode/ca/ca-bundle.crt", caMount},
				{Name: "git-clone-2"},
			}, clones); d != "" {
				t.Errorf("git-clone init containers (-want +got):\n%s", d)
			}
			var caVolumes []corev1.ConfigMapVolumeSource
			agentFile := ""
			for _, v := range pod.Spec.Volumes {
				if v.ConfigMap != nil && v.ConfigMap.Name == "corp-ca" {
					caVolumes = append(caVolumes, *v.ConfigMap)
					for _, it := range v.ConfigMap.Items {
						if it.Key != tc.wantKey {
							t.Errorf("volume %s reads key %q, want %q", v.Name, it.Key, tc.wantKey)
						}
					}
					for _, m := range pod.Spec.Containers[0].VolumeMounts {
						if m.Name == v.Name {
							agentFile = m.MountPath
							if !m.ReadOnly {
								t.Errorf("agent mount of the CA bundle is writable: %+v", m)
							}
						}
					}
				}
			}
			if len(caVolumes) != 2 {
				t.Errorf("%d volumes of ConfigMap corp-ca, want 2 (clones, agent): %+v", len(caVolumes), caVolumes)
			}
			if agentFile != CABundlePath {
				t.Errorf("agent sees the CA bundle at %q, want %q", agentFile, CABundlePath)
			}
			env := map[string]string{}
			for _, e := range pod.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			if env[EnvNodeExtraCACerts] != CABundlePath || env[EnvCABundle] != CABundlePath {
				t.Errorf("agent environment %v, want %s and %s = %s", env, EnvNodeExtraCACerts, EnvCABundle, CABundlePath)
			}
			if v := judge.Judge(pod); !v.Allowed {
				t.Error(v.Message())
			}
		})
	}
}

// TestNoCABundle: without caBundle nothing of it appears.
func TestNoCABundle(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa",
			Contexts: []v1alpha1.ContextItem{{Name: "one", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/one.git"}}}}}
	pod, _, err := build(ValidationTask(a), a, nil, &ConfigMaps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pod.Spec.InitContainers {
		for _, arg := range c.Command {
			if strings.HasPrefix(arg, "--ca-bundle-file") {
				t.Errorf("%s: %s without caBundle", c.Name, arg)
			}
		}
	}
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == EnvNodeExtraCACerts || e.Name == EnvCABundle {
			t.Errorf("agent environment has %s without caBundle", e.Name)
		}
	}
}

// TestCABundleFromConfig: KubeOpenCodeConfig's caBundle applies to an Agent without one, and an
// Agent's own caBundle wins over it.
func TestCABundleFromConfig(t *testing.T) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	config := &v1alpha1.KubeOpenCodeConfig{Spec: v1alpha1.KubeOpenCodeConfigSpec{
		CABundle: &v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "cluster-ca"}}}}
	for _, tc := range []struct {
		name  string
		agent *v1alpha1.CABundleConfig
		want  string
	}{
		{"Agent without caBundle", nil, "cluster-ca"},
		{"Agent with its own", &v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "agent-ca"}}, "agent-ca"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"},
				Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa", CABundle: tc.agent}}
			pod, _, err := build(ValidationTask(a), a, config, &ConfigMaps{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range pod.Spec.Volumes {
				if v.ConfigMap != nil {
					names = append(names, v.ConfigMap.Name)
				}
			}
			if d := cmp.Diff([]string{tc.want}, names); d != "" {
				t.Errorf("ConfigMap volumes (-want +got):\n%s", d)
			}
			if v := judge.Judge(pod); !v.Allowed {
				t.Error(v.Message())
			}
		})
	}
}
