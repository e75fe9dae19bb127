package podspec_test

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeopencode/kubeopencode/podspec"
)

// A third-party controller builds a hardened agent Pod from a plain description of the run.
func ExampleBuild() {
	pod, err := podspec.Build(podspec.Spec{
		Identity: podspec.Identity{
			OwnerUID:  "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11",
			OwnerName: "fix-login-bug",
			GroupName: "opencode",
		},
		Namespace:     "team-a",
		AgentImage:    "ghcr.io/kubeopencode/agent-opencode:v1.2.3",
		ExecutorImage: "ghcr.io/kubeopencode/agent-devbox:v1.2.3",
		Command:       []string{"/tools/opencode", "run", "--file", "/workspace/task.md"},
		Files: []podspec.File{
			{Path: "/workspace/task.md", ConfigMap: "fix-login-bug-task", Key: "task.md"},
		},
		Deadline: 30 * time.Minute,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pod:", pod.Name)
	fmt.Println("deadline:", *pod.Spec.ActiveDeadlineSeconds, "token mounted:", *pod.Spec.AutomountServiceAccountToken)
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		sc := c.SecurityContext
		fmt.Printf("%s: uid=%d nonRoot=%t escalation=%t drop=%v readOnlyRoot=%t seccomp=%s\n", c.Name,
			*sc.RunAsUser, *sc.RunAsNonRoot, *sc.AllowPrivilegeEscalation, sc.Capabilities.Drop,
			*sc.ReadOnlyRootFilesystem, sc.SeccompProfile.Type)
	}
	// Output:
	// pod: fix-login-bug-wsqtfwasn4wb
	// deadline: 1800 token mounted: false
	// agent-init: uid=65532 nonRoot=true escalation=false drop=[ALL] readOnlyRoot=true seccomp=RuntimeDefault
	// agent: uid=65532 nonRoot=true escalation=false drop=[ALL] readOnlyRoot=true seccomp=RuntimeDefault
}

// Only the fields of Relax weaken a default, and each says what it switches off.
func ExampleRelax() {
	pod, err := podspec.Build(podspec.Spec{
		Identity:      podspec.Identity{OwnerUID: "uid-1", OwnerName: "needs-api-access"},
		Namespace:     "team-a",
		AgentImage:    "example.com/agent:v1",
		ExecutorImage: "example.com/devbox:v1",
		Command:       []string{"/tools/opencode"},
		Relax:         podspec.Relax{AutomountServiceAccountToken: true},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token mounted:", *pod.Spec.AutomountServiceAccountToken)
	fmt.Println("service links:", *pod.Spec.EnableServiceLinks)
	// Output:
	// token mounted: true
	// service links: false
}

// Mounts that collide or shadow each other are refused with both paths named.
func ExampleBuild_pathConflict() {
	_, err := podspec.Build(podspec.Spec{
		Identity:      podspec.Identity{OwnerUID: "uid-1", OwnerName: "t"},
		Namespace:     "team-a",
		AgentImage:    "example.com/agent:v1",
		ExecutorImage: "example.com/devbox:v1",
		Command:       []string{"/tools/opencode"},
		Volumes: []corev1.Volume{{Name: "ssh", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ssh-config"}}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "ssh", MountPath: "/home/agent/.ssh"}},
		Files:        []podspec.File{{Path: "/home/agent/.ssh/known_hosts", ConfigMap: "hosts", Key: "known_hosts"}},
	})
	fmt.Println(err)
	fmt.Println("conflict:", errors.Is(err, podspec.ErrConflict), "path conflict:", podspec.IsPathConflict(err))
	// Output:
	// podspec: containers[agent].volumeMounts[file-home-agent-ssh-known-hosts-kouvi4m4eblt].mountPath: Duplicate value: "/home/agent/.ssh/known_hosts" would shadow part of the mount of volume "ssh" at "/home/agent/.ssh"
	// conflict: true path conflict: true
}

// Build reports every problem of a Spec at once, each a field error with its path; errors.Is
// tells the categories.
func ExampleBuild_errors() {
	_, err := podspec.Build(podspec.Spec{
		Identity:      podspec.Identity{OwnerUID: "uid-1", OwnerName: "t"},
		Namespace:     "Team_A",
		AgentImage:    "example.com/agent:v1",
		ExecutorImage: "example.com/devbox:v1",
		Command:       []string{"/tools/opencode"},
		Labels:        map[string]string{"kubeopencode.io/agent": "mine"},
		Env:           []corev1.EnvVar{{Name: "HOME", Value: "/root"}},
	})
	var errs *podspec.Errors
	if errors.As(err, &errs) {
		for _, p := range errs.Problems {
			fmt.Println(p)
		}
	}
	fmt.Println("invalid:", errors.Is(err, podspec.ErrInvalid), "reserved:", errors.Is(err, podspec.ErrReserved),
		"conflict:", errors.Is(err, podspec.ErrConflict))
	// Output:
	// Namespace: Invalid value: "Team_A" is not a DNS label
	// Labels[kubeopencode.io/agent]: Forbidden: label key "kubeopencode.io/agent" is reserved for the platform
	// Env[0].Name: Forbidden: "HOME" is set by podspec
	// invalid: true reserved: true conflict: false
}

func ExampleDNSLabel() {
	fmt.Println(podspec.DNSLabel("Fix_Login.Bug", "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11"))
	// Output: fix-login-bug-3k7cgtn3njqm
}

func ExampleLabelValue() {
	fmt.Println(podspec.LabelValue("team-a"))
	fmt.Println(podspec.LabelValue("a-task-name-that-is-much-longer-than-the-sixty-three-characters-a-label-value-allows"))
	// Output:
	// team-a
	// a-task-name-that-is-much-longer-than-the-sixty-thr-jyqfcwan7ozq
}

func ExampleCheckPath() {
	fmt.Printf("%q\n", podspec.CheckPath("/home/agent/.ssh/id_rsa"))
	fmt.Printf("%q\n", podspec.CheckPath("/workspace/../etc/shadow"))
	// Output:
	// ""
	// "must be clean (no \".\", \"..\", \"//\" or trailing \"/\")"
}

func ExampleIsReservedKey() {
	for _, k := range []string{"kubeopencode.io/agent", "tenant.kubeopencode.io/x", "app.kubernetes.io/managed-by", "team"} {
		fmt.Println(k, podspec.IsReservedKey(k))
	}
	// Output:
	// kubeopencode.io/agent true
	// tenant.kubeopencode.io/x true
	// app.kubernetes.io/managed-by true
	// team false
}

// A controller other than KubeOpenCode labels its Pods under its own domain and managed-by value,
// so KubeOpenCode's operator never takes them for its own; the keys under that domain are
// reserved instead of kubeopencode.io's.
func ExampleLabelScheme() {
	scheme := podspec.LabelScheme{Domain: "sandbox.example.com", ManagedBy: "sandbox-controller",
		OwnerKind: "sandbox", GroupKind: "template"}
	pod, err := podspec.Build(podspec.Spec{
		Identity:      podspec.Identity{OwnerUID: "uid-1", OwnerName: "hello", GroupName: "python"},
		LabelScheme:   scheme,
		Namespace:     "team-a",
		AgentImage:    "example.com/tools:v1",
		ExecutorImage: "example.com/python:v1",
		Command:       []string{"/tools/run"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	keys := scheme.Keys()
	fmt.Println(podspec.LabelManagedBy+":", pod.Labels[podspec.LabelManagedBy])
	fmt.Println(keys.OwnerUID+":", pod.Labels[keys.OwnerUID])
	fmt.Println(keys.Group+":", pod.Labels[keys.Group])
	fmt.Println("reserved:", scheme.IsReserved("sandbox.example.com/anything"), scheme.IsReserved("kubeopencode.io/agent"))
	// Output:
	// app.kubernetes.io/managed-by: sandbox-controller
	// sandbox.example.com/sandbox-uid: uid-1
	// sandbox.example.com/template: python
	// reserved: true false
}
