package credentials_test

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeopencode/kubeopencode/credentials"
)

// A third-party controller gives an agent a GitHub token as an environment variable and an SSH
// key as a 0400 file, readable by the agent's UID only.
func Example() {
	keyMode := int32(0o400)
	proj, err := credentials.Project([]credentials.Credential{
		{Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"},
		{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: &keyMode},
	}, credentials.Options{
		StagingImage:   "example.com/kubeopencode-stage:v1",
		StagingCommand: []string{"/stage-credentials"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	uid := int64(65532)
	spec := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid},
		Volumes:         []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		Containers: []corev1.Container{{Name: "agent", Image: "example.com/devbox:v1",
			VolumeMounts: []corev1.VolumeMount{{Name: "home", MountPath: "/home/agent"}}}},
	}
	if err := proj.Apply(&spec, "agent"); err != nil {
		fmt.Println(err)
		return
	}
	agent := spec.Containers[0]
	fmt.Println("env:", agent.Env[0].Name, "from Secret", agent.Env[0].ValueFrom.SecretKeyRef.Name)
	fmt.Println("file:", agent.VolumeMounts[1].MountPath, "readOnly:", agent.VolumeMounts[1].ReadOnly)
	fmt.Println("first init container:", spec.InitContainers[0].Name, "runs as", *spec.InitContainers[0].SecurityContext.RunAsUser)
	fmt.Println("fsGroup:", *spec.SecurityContext.FSGroup)
	fmt.Println("manifest:", spec.InitContainers[0].Env[0].Value)
	// Output:
	// env: GITHUB_TOKEN from Secret gh-token
	// file: /home/agent/.ssh/id_ed25519 readOnly: true
	// first init container: stage-credentials runs as 65532
	// fsGroup: 65532
	// manifest: {"uid":65532,"source":"/kubeopencode/credentials/secrets","dest":"/kubeopencode/credentials/staged","items":[{"volume":"secret-ssh-vm4gjmkkmus4","key":"id_ed25519","dir":"ssh-y6u6dtrd33b2","mode":256}]}
}

// A whole Secret becomes environment variables only with a prefix that cannot form a reserved
// name.
func ExampleProject_envPrefix() {
	_, err := credentials.Project([]credentials.Credential{{Name: "cloud", SecretName: "cloud-creds"}}, credentials.Options{})
	fmt.Println(err)
	_, err = credentials.Project([]credentials.Credential{{Name: "cloud", SecretName: "cloud-creds", EnvPrefix: "TASK_"}}, credentials.Options{})
	fmt.Println(err)
	_, err = credentials.Project([]credentials.Credential{{Name: "cloud", SecretName: "cloud-creds", EnvPrefix: "CLOUD_"}}, credentials.Options{})
	fmt.Println(err)
	// Output:
	// credentials: credentials[cloud].envPrefix: Invalid value: is required when the whole Secret "cloud-creds" becomes environment variables: its keys could name reserved variables (or set Options.AllowUnprefixedEnvFrom)
	// credentials: credentials[cloud].envPrefix: Forbidden: "TASK_" could form a reserved name (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*, OPENCODE_*)
	// <nil>
}

// Project reports every problem at once, each a field error naming the credential and its field;
// errors.Is tells the categories, the same in every library.
func ExampleProject_errors() {
	_, err := credentials.Project([]credentials.Credential{
		{Name: "github", SecretName: "gh", Key: "token", Env: "PATH"},
		{Name: "ssh", SecretName: "Git_SSH", Key: "id", MountPath: "/tools/id"},
	}, credentials.Options{StagingImage: "example.com/stage:v1", StagingCommand: []string{"/stage-credentials"}})
	var errs *credentials.Errors
	if errors.As(err, &errs) {
		for _, p := range errs.Problems {
			fmt.Println(p)
		}
	}
	fmt.Println("reserved:", errors.Is(err, credentials.ErrReserved), "conflict:", errors.Is(err, credentials.ErrConflict))
	// Output:
	// credentials[github].env: Forbidden: "PATH" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)
	// credentials[ssh].secretName: Invalid value: "Git_SSH" is not a valid Secret name
	// credentials[ssh].mountPath: Forbidden: "/tools/id" overlaps the reserved path "/tools"
	// reserved: true conflict: false
}

func ExampleIsReservedEnvName() {
	for _, n := range []string{"GITHUB_TOKEN", "PATH", "TASK_ID", "OPENCODE_CONFIG_CONTENT", "OPENCODE_API_KEY", "path"} {
		fmt.Println(n, credentials.IsReservedEnvName(n))
	}
	// Output:
	// GITHUB_TOKEN false
	// PATH true
	// TASK_ID true
	// OPENCODE_CONFIG_CONTENT true
	// OPENCODE_API_KEY false
	// path false
}
