package conformance

import (
	"errors"
	"fmt"
	"testing"

	"k8s.io/pod-security-admission/api"

	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// A third-party controller builds a restricted-compliant agent Pod with an environment-variable
// credential and a 0400 key file, using only the podspec and credentials modules.
func Example_thirdPartyController() {
	keyMode := int32(0o400)
	creds, err := credentials.Project([]credentials.Credential{
		{Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"},
		{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: &keyMode},
	}, credentials.Options{StagingImage: "example.com/stage-credentials:v1", StagingCommand: []string{"/stage-credentials"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	pod, err := podspec.Build(podspec.Spec{
		Identity:      podspec.Identity{OwnerUID: "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11", OwnerName: "fix-login-bug"},
		Namespace:     "team-a",
		AgentImage:    "example.com/agent-opencode:v1",
		ExecutorImage: "example.com/devbox:v1",
		Command:       []string{"/tools/opencode", "run"},
		Projections:   []podspec.Projection{creds},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	ev, err := NewEvaluator()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("forbidden by restricted:", Forbidden(ev, Restricted(api.LatestVersion()), pod))
	for _, c := range pod.Spec.InitContainers {
		fmt.Println("init:", c.Name, "as UID", *c.SecurityContext.RunAsUser)
	}
	agent := pod.Spec.Containers[0]
	for _, e := range agent.Env {
		if e.ValueFrom != nil {
			fmt.Println("env:", e.Name, "<- secret", e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for _, m := range agent.VolumeMounts {
		if m.Name == credentials.StagedVolumeName {
			fmt.Println("file:", m.MountPath, "read-only:", m.ReadOnly)
		}
	}
	// Output:
	// forbidden by restricted: []
	// init: stage-credentials as UID 65532
	// init: agent-init as UID 65532
	// env: GITHUB_TOKEN <- secret gh-token
	// file: /home/agent/.ssh/id_ed25519 read-only: true
}

// TestComposition covers the seam between the modules: UIDs must agree, and podspec's path rules
// also apply to what the credentials add.
func TestComposition(t *testing.T) {
	ev, err := NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	key := int32(0o400)
	creds := []credentials.Credential{
		{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: &key},
	}
	opts := credentials.Options{StagingImage: "example.com/stage:v1", StagingCommand: []string{"/stage-credentials"}}
	spec := func() podspec.Spec {
		return podspec.Spec{
			Identity: podspec.Identity{OwnerUID: "uid", OwnerName: "t"}, Namespace: "ns",
			AgentImage: "example.com/agent:v1", ExecutorImage: "example.com/devbox:v1", Command: []string{"/tools/opencode"},
		}
	}

	t.Run("same custom UID", func(t *testing.T) {
		o := opts
		o.UID, o.GID = 1000, 2000
		p, err := credentials.Project(creds, o)
		if err != nil {
			t.Fatal(err)
		}
		s := spec()
		s.UID, s.GID = 1000, 2000
		s.Projections = []podspec.Projection{p}
		pod, err := podspec.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Forbidden(ev, Restricted(api.LatestVersion()), pod); len(got) != 0 {
			t.Errorf("forbidden: %v", got)
		}
	})
	t.Run("UID mismatch is refused", func(t *testing.T) {
		p, err := credentials.Project(creds, opts) // default 65532
		if err != nil {
			t.Fatal(err)
		}
		s := spec()
		s.UID, s.GID = 1000, 2000
		s.Projections = []podspec.Projection{p}
		_, err = podspec.Build(s)
		var ce *credentials.Error
		if !errors.As(err, &ce) || !errors.Is(err, credentials.ErrConflict) {
			t.Fatalf("Build = %v, want a credentials conflict", err)
		}
		// Both mismatches are reported at once.
		want := `podspec: Projections[0]: credentials: [PodSpec.securityContext.fsGroup: Duplicate value: is 2000, but file credentials need the agent GID 65532, ` +
			`PodSpec.containers[agent].runAsUser: Duplicate value: is 1000, but staged credential files are owned by UID 65532 and readable by no other]`
		if err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
	t.Run("credential shadowing a context file is refused by podspec", func(t *testing.T) {
		p, err := credentials.Project([]credentials.Credential{{Name: "ssh-dir", SecretName: "git-ssh", MountPath: "/home/agent/.ssh"}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := spec()
		s.Files = []podspec.File{{Path: "/home/agent/.ssh/known_hosts", ConfigMap: "hosts", Key: "known_hosts"}}
		s.Projections = []podspec.Projection{p}
		_, err = podspec.Build(s)
		var ce *credentials.Error
		if !errors.As(err, &ce) || ce.Field != "credentials[ssh-dir].mountPath" {
			t.Fatalf("Build = %v, want the credential and field named", err)
		}
	})
	t.Run("git-clone init container gets the key too", func(t *testing.T) {
		p, err := credentials.Project(creds, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := spec()
		s.InitContainers = append(s.InitContainers, podspecContainer("git-clone"))
		s.ProjectInto = []string{"git-clone"}
		s.Projections = []podspec.Projection{p}
		pod, err := podspec.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, c := range pod.Spec.InitContainers {
			for _, m := range c.VolumeMounts {
				if m.Name == credentials.StagedVolumeName && m.ReadOnly {
					names = append(names, c.Name)
				}
			}
		}
		if fmt.Sprint(names) != "[git-clone]" {
			t.Errorf("init containers with the staged key: %v", names)
		}
		if got := Forbidden(ev, Restricted(api.LatestVersion()), pod); len(got) != 0 {
			t.Errorf("forbidden: %v", got)
		}
	})
}
