package kubeopencode_test

import (
	"fmt"

	"github.com/kubeopencode/kubeopencode/rbac"
	"github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

func ExampleManifest() {
	objs, err := kubeopencode.Manifest(kubeopencode.ManifestOptions{
		AgentNamespaces: []string{"team-a"},
		Personas:        []kubeopencode.Persona{kubeopencode.PersonaAgentUser},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range objs {
		fmt.Println(o.GetObjectKind().GroupVersionKind().Kind)
	}
	// Output:
	// ClusterRole
	// ClusterRole
	// ClusterRole
	// ClusterRoleBinding
	// Role
	// Role
	// RoleBinding
	// RoleBinding
}

// The operator creates Pods and patches them, which rbac.FindDangerous reports; they are its
// accepted grants, and WithoutAccepted leaves nothing else.
func ExampleWithoutAccepted() {
	role, err := kubeopencode.OperatorClusterRole(kubeopencode.OperatorOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	found := rbac.FindDangerous(role.Rules)
	fmt.Println(found, kubeopencode.WithoutAccepted(found, kubeopencode.AcceptedOperatorGrants()))
	// Output: [pods:create pods:patch] []
}
