package sandbox

import (
	"fmt"
	"io"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/rbac"
)

// Where the controller runs unless told otherwise, and the name of its ClusterRole and binding.
const (
	DefaultNamespace      = "sandbox-system"
	DefaultServiceAccount = "sandbox-controller"
	RoleName              = "sandbox-controller"
)

// Rules are everything the controller may do, and why. Nothing on Secrets: the Pod names them
// and the kubelet mounts them, so a compromised controller cannot read a single credential.
func Rules() []rbac.Rule {
	group := v1alpha1.GroupVersion.Group
	return []rbac.Rule{
		// Watch Sandboxes; update adds and removes the finalizer.
		{Group: group, Resources: []string{"sandboxes"}, Verbs: []string{"get", "list", "watch", "update"}},
		{Group: group, Resources: []string{"sandboxes/status"}, Verbs: []string{"update"}},
		// Read templates, in any namespace a Sandbox names; never change them.
		{Group: group, Resources: []string{"sandboxtemplates"}, Verbs: []string{"get", "list", "watch"}},
		// Create sandbox Pods and delete them with their Sandbox; never update, exec or attach.
		{Group: "", Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
	}
}

// RBACObjects are the controller's ClusterRole and the ClusterRoleBinding to its ServiceAccount
// serviceAccount in namespace.
func RBACObjects(namespace, serviceAccount string) ([]runtime.Object, error) {
	role, err := rbac.ClusterRole(rbac.RoleSpec{Name: RoleName, Rules: Rules()})
	if err != nil {
		return nil, fmt.Errorf("sandbox ClusterRole: %w", err)
	}
	binding, err := rbac.ClusterRoleBinding(rbac.BindingSpec{Name: RoleName, RoleRef: rbac.RoleRefToClusterRole(RoleName),
		Subjects: []rbacv1.Subject{rbac.ServiceAccountSubject(namespace, serviceAccount)}})
	if err != nil {
		return nil, fmt.Errorf("sandbox ClusterRoleBinding: %w", err)
	}
	return []runtime.Object{role, binding}, nil
}

// WriteRBAC writes RBACObjects as YAML, deterministically.
func WriteRBAC(w io.Writer, namespace, serviceAccount string) error {
	objs, err := RBACObjects(namespace, serviceAccount)
	if err != nil {
		return err
	}
	return rbac.WriteYAML(w, objs)
}
