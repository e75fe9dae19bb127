package v1alpha1_test

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// An Agent that exposes one Secret key as an environment variable and another as a read-only file,
// and accepts Tasks from the prod-* namespaces.
func ExampleAgent() {
	mode := v1alpha1.FileMode(0o400)
	a := v1alpha1.Agent{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Agent"},
		ObjectMeta: metav1.ObjectMeta{Name: "secure-agent", Namespace: "platform-agents"},
		Spec: v1alpha1.AgentSpec{
			WorkspaceDir:       "/workspace",
			ServiceAccountName: "kubeopencode-agent",
			AllowedNamespaces:  []string{"prod-*"},
			Credentials: []v1alpha1.Credential{
				{Name: "api-key", SecretRef: v1alpha1.SecretReference{Name: "my-secrets", Key: "api-key"}, Env: "API_KEY"},
				{Name: "ssh-key", SecretRef: v1alpha1.SecretReference{Name: "ssh-keys", Key: "id_rsa"}, MountPath: "/home/agent/.ssh/id_rsa", FileMode: &mode},
			},
		},
	}
	b, err := json.Marshal(a.Spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"workspaceDir":"/workspace","credentials":[{"name":"api-key","secretRef":{"name":"my-secrets","key":"api-key"},"env":"API_KEY"},{"name":"ssh-key","secretRef":{"name":"ssh-keys","key":"id_rsa"},"mountPath":"/home/agent/.ssh/id_rsa","fileMode":256}],"serviceAccountName":"kubeopencode-agent","allowedNamespaces":["prod-*"]}
}

// A Task asks for a stop with an annotation; its spec never changes.
func ExampleStopAnnotation() {
	tk := v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "fix-bug", Namespace: "prod-web"}}
	metav1.SetMetaDataAnnotation(&tk.ObjectMeta, v1alpha1.StopAnnotation, v1alpha1.StopAnnotationValue)
	fmt.Println(tk.Annotations)
	// Output: map[kubeopencode.io/stop:true]
}
