package credentials

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mode(m int32) *int32 { return &m }

var stagingOpts = Options{StagingImage: "ghcr.io/kubeopencode/kubeopencode:v1.2.3", StagingCommand: []string{"/kubeopencode", "stage-credentials"}}

// basePod is a hardened agent Pod as a caller (or podspec) would build it: an agent container
// with HOME, /tmp and workspace emptyDirs, and two init containers, only one of which needs
// credentials.
func basePod(uid, gid int64) *corev1.Pod {
	sc := func() *corev1.SecurityContext {
		return &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, Privileged: ptr(false),
			RunAsUser: ptr(uid), RunAsGroup: ptr(gid), RunAsNonRoot: ptr(true), ReadOnlyRootFilesystem: ptr(true),
			AllowPrivilegeEscalation: ptr(false), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
	}
	emptyDir := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "agent-run", Namespace: "team-a"},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr(false),
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(uid), RunAsGroup: ptr(gid), RunAsNonRoot: ptr(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Volumes: []corev1.Volume{emptyDir("home"), emptyDir("tmp"), emptyDir("workspace")},
			InitContainers: []corev1.Container{
				{Name: "prepare", Image: "example.com/prepare:v1", SecurityContext: sc(),
					VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}},
				{Name: "git-clone", Image: "example.com/git:v2", SecurityContext: sc(),
					VolumeMounts: []corev1.VolumeMount{{Name: "workspace", MountPath: "/workspace"}, {Name: "home", MountPath: "/home/agent"}}},
			},
			Containers: []corev1.Container{{
				Name: "agent", Image: "example.com/devbox:v1", Command: []string{"/tools/opencode"}, SecurityContext: sc(),
				Env: []corev1.EnvVar{{Name: "HOME", Value: "/home/agent"}},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "home", MountPath: "/home/agent"}, {Name: "tmp", MountPath: "/tmp"}, {Name: "workspace", MountPath: "/workspace"},
				},
			}},
		},
	}
}

type scenario struct {
	name, about string
	creds       []Credential
	opts        Options
	containers  []string
	uid, gid    int64
}

func goldenScenarios() []scenario {
	ssh := Credential{Name: "ssh-key", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: mode(0o400)}
	return []scenario{
		{name: "env-key", about: "key + env: one variable from one key",
			creds: []Credential{{Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"}}},
		{name: "file-key-0400", about: "key + mountPath: an SSH key staged with mode 0400",
			creds: []Credential{ssh}},
		{name: "file-default-mode", about: "key + mountPath without fileMode: staged with 0600",
			creds: []Credential{{Name: "npmrc", SecretName: "npm", Key: ".npmrc", MountPath: "/home/agent/.npmrc"}}},
		{name: "whole-secret-env", about: "whole Secret as environment variables, with a prefix",
			creds: []Credential{{Name: "cloud", SecretName: "cloud-creds", EnvPrefix: "CLOUD_"}}},
		{name: "whole-secret-dir", about: "whole Secret as a directory of staged files",
			creds: []Credential{{Name: "gh-config", SecretName: "gh-config", MountPath: "/home/agent/.config/gh", FileMode: mode(0o400)}}},
		{name: "matrix", about: "every shape, given to the agent and the git-clone init container only",
			containers: []string{"agent", "git-clone"},
			creds: []Credential{
				{Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"},
				ssh,
				{Name: "anthropic", SecretName: "llm", Key: "api-key", Env: "ANTHROPIC_API_KEY", MountPath: "/home/agent/.config/anthropic/key"},
				{Name: "cloud", SecretName: "cloud-creds", EnvPrefix: "CLOUD_"},
				{Name: "gh-config", SecretName: "gh-config", MountPath: "/home/agent/.config/gh"},
			}},
		{name: "custom-uid", about: "agent UID 1000 and GID 2000", uid: 1000, gid: 2000,
			opts:  Options{UID: 1000, GID: 2000},
			creds: []Credential{ssh, {Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"}}},
	}
}

func (sc scenario) build(t testing.TB) *corev1.Pod {
	t.Helper()
	uid, gid := sc.uid, sc.gid
	if uid == 0 {
		uid, gid = DefaultUID, DefaultGID
	}
	opts := sc.opts
	opts.StagingImage, opts.StagingCommand = stagingOpts.StagingImage, stagingOpts.StagingCommand
	proj, err := Project(sc.creds, opts)
	if err != nil {
		t.Fatalf("Project: %v", err)
	}
	pod := basePod(uid, gid)
	containers := sc.containers
	if containers == nil {
		containers = []string{"agent"}
	}
	if err := proj.Apply(&pod.Spec, containers...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return pod
}

func TestGolden(t *testing.T) {
	for _, sc := range goldenScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			pod := sc.build(t)
			if diff := cmp.Diff(pod, sc.build(t)); diff != "" {
				t.Fatalf("not deterministic (-first +second):\n%s", diff)
			}
			y, err := yaml.Marshal(pod)
			if err != nil {
				t.Fatal(err)
			}
			got := "# Code generated by `go test -update` in credentials; DO NOT EDIT.\n# Scenario: " + sc.about + "\n" + string(y)
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
				t.Errorf("%s differs (-golden +got); run go test -update if intended:\n%s", path, diff)
			}
		})
	}
}
