// Package rbac builds least-privilege RBAC roles in Go. It names no API of KubeOpenCode's: the
// roles KubeOpenCode itself uses are in package rbac/kubeopencode, built with this one.
//
// Rules are declared as [Rule] values (one API group, resources with optional subresources,
// optional resource names, verbs) and turned into rbacv1 objects by [ClusterRole], [Role],
// [RoleBinding] and [ClusterRoleBinding]. The builders refuse what is almost always a mistake:
// wildcards (unless [BuildOptions.AllowWildcards]), empty resource or verb lists (empty means
// nothing, never everything), rules that can never match (create limited by resourceNames),
// bindings without subjects or to everyone (unless [BindingSpec.AllowBroadSubjects]).
//
// Rules are normalized the way controller-gen normalizes kubebuilder RBAC markers ([Normalize]),
// and [WriteYAML] writes a deterministic multi-document stream without creationTimestamp, so the
// output reads like a kubebuilder project's config/rbac.
//
// [FindDangerous] reports which dangerous grants ([DangerousGrants]: Secrets, pods create, escalate, bind,
// impersonate, pods/exec, pods/attach, pods/portforward, nodes/proxy, serviceaccounts/token,
// wildcards, ...) a set of rules contains, using the API server's own containment check
// (k8s.io/component-helpers/auth/rbac/validation.Covers). The operator holds one on purpose
// ([AcceptedOperatorGrants]: pods create, cluster-wide unless OperatorOptions.Namespaces narrows
// it to Roles in the watched namespaces); [WithoutAccepted] subtracts exactly those.
//
// The predefined roles are the operator's ClusterRole ([OperatorRules]) and leader-election Role
// ([LeaderElectionRules]), the agent ServiceAccount's Role ([AgentRules]) and the persona
// ClusterRoles ([Persona]). The command kubeopencode-rbac prints them as YAML.
//
// The package depends only on k8s.io/api, k8s.io/apimachinery, k8s.io/component-helpers and
// sigs.k8s.io/yaml, so third-party controllers can import it cheaply.
package rbac
