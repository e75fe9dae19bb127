package sandbox_test

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
)

// A third-party controller decides namespace access, builds a hardened Pod with credentials and
// judges it, with the libraries alone.
func Example() {
	keyMode := int32(0o400)
	tmpl := &v1alpha1.SandboxTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sandbox-platform", Name: "python"},
		Spec: v1alpha1.SandboxTemplateSpec{
			ToolsImage: "example.com/tools:v1", Image: "example.com/python:3.13",
			AllowedNamespaces: []string{"team-*"},
			Credentials: []v1alpha1.Credential{
				{Name: "index", SecretName: "package-index", Key: "token", Env: "PIP_INDEX_TOKEN"},
				{Name: "signing", SecretName: "signing-key", Key: "key.pem", MountPath: "/home/agent/key.pem", FileMode: &keyMode},
			},
		},
	}
	sb := &v1alpha1.Sandbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "hello", UID: "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11"},
		Spec: v1alpha1.SandboxSpec{TemplateRef: v1alpha1.TemplateReference{Name: "python", Namespace: "sandbox-platform"},
			Command: []string{"python3", "-c", "print('hello')"}},
	}

	// policy: may team-a use the template? (and may a stranger?)
	fmt.Println("team-a:", sandbox.Decide(sb, tmpl).Reason)
	stranger := sb.DeepCopy()
	stranger.Namespace = "other"
	fmt.Println("other:", sandbox.Decide(stranger, tmpl).Message)

	// podspec + credentials: the Pod, in the template's namespace.
	pod, err := sandbox.BuildPod(sb, tmpl, sandbox.Options{StagingImage: "example.com/stage-credentials:v1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pod:", pod.Namespace+"/"+pod.Name)
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		fmt.Printf("  %s: uid=%d nonRoot=%t readOnlyRoot=%t\n", c.Name, *c.SecurityContext.RunAsUser,
			*c.SecurityContext.RunAsNonRoot, *c.SecurityContext.ReadOnlyRootFilesystem)
	}

	// policy: judged as the PodSecurity admission plugin would.
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("restricted:", judge.Judge(pod).Allowed)
	// Output:
	// team-a: AllowedByPattern
	// other: namespace "other" may not use SandboxTemplate sandbox-platform/python; ask the owners of namespace "sandbox-platform" to add it to the template's allowedNamespaces
	// pod: sandbox-platform/hello-zzyoixdxb5an
	//   stage-credentials: uid=65532 nonRoot=true readOnlyRoot=true
	//   agent-init: uid=65532 nonRoot=true readOnlyRoot=true
	//   agent: uid=65532 nonRoot=true readOnlyRoot=true
	// restricted: true
}
