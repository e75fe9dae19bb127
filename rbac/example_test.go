package rbac_test

import (
	"fmt"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeopencode/kubeopencode/rbac"
)

// A third-party controller declares its rules in Go and prints them as YAML.
func ExampleClusterRole() {
	role, err := rbac.ClusterRole(rbac.RoleSpec{
		Name: "widget-controller",
		Rules: []rbac.Rule{
			{Group: "example.com", Resources: []string{"widgets"}, Verbs: []string{"get", "list", "watch"}},
			{Group: "example.com", Resources: []string{"widgets/status"}, Verbs: []string{"update", "patch"}},
			{Group: rbac.CoreGroup, Resources: []string{"configmaps"}, Verbs: []string{"watch", "get", "list"}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := rbac.WriteYAML(os.Stdout, []runtime.Object{role}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ---
	// apiVersion: rbac.authorization.k8s.io/v1
	// kind: ClusterRole
	// metadata:
	//   name: widget-controller
	// rules:
	// - apiGroups:
	//   - ""
	//   resources:
	//   - configmaps
	//   verbs:
	//   - get
	//   - list
	//   - watch
	// - apiGroups:
	//   - example.com
	//   resources:
	//   - widgets
	//   verbs:
	//   - get
	//   - list
	//   - watch
	// - apiGroups:
	//   - example.com
	//   resources:
	//   - widgets/status
	//   verbs:
	//   - patch
	//   - update
}

// Wildcards are refused unless the option that allows them is named.
func ExamplePolicyRules() {
	_, err := rbac.PolicyRules([]rbac.Rule{{Group: "apps", Resources: []string{"*"}, Verbs: []string{"get"}}}, rbac.BuildOptions{})
	fmt.Println(err)
	_, err = rbac.PolicyRules([]rbac.Rule{{Group: "apps", Resources: []string{"*"}, Verbs: []string{"get"}}}, rbac.BuildOptions{AllowWildcards: true})
	fmt.Println(err)
	// Output:
	// rules[0].resources[0]: Forbidden: "*" is a wildcard; set BuildOptions.AllowWildcards to permit it
	// <nil>
}

// Bind the persona ClusterRole that lets a group run Tasks on the Agents of one namespace.
func ExampleRoleBinding() {
	b, err := rbac.RoleBinding(rbac.BindingSpec{
		Name:      "data-team-uses-agents",
		Namespace: "agents",
		RoleRef:   rbac.RoleRefToClusterRole("kubeopencode-agent-user"),
		Subjects:  []rbacv1.Subject{rbac.GroupSubject("data-team")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Namespace, b.RoleRef.Kind, b.RoleRef.Name, b.Subjects[0].Kind, b.Subjects[0].Name)
	// Output: agents ClusterRole kubeopencode-agent-user Group data-team
}

func ExampleFindDangerous() {
	fmt.Println(rbac.FindDangerous([]rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"*"}},
	}))
	// Output:
	// [secrets:list pods:create pods:update pods:patch wildcard:verbs]
}

func ExampleNormalize() {
	fmt.Println(rbac.Normalize([]rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"list", "get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
	}))
	// Output:
	// [{[get] [] [pods] [] []} {[get list] [apps] [deployments statefulsets] [] []}]
}
