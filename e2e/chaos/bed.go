package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

// The identities the harness acts as, besides its admin one (impersonated).
const (
	// AuthorUser is a task author: bound only to the generated kubeopencode-task-author role in
	// the task namespaces and kubeopencode-agent-user (use) in the Agents' namespaces.
	AuthorUser = "chaos-task-author"
	// StatusWriterUser is a task author also granted update and patch on tasks/status, as
	// aggregated admin roles often are (no shipped persona is).
	StatusWriterUser = "chaos-status-writer"
	// statusWriterRole grants what StatusWriterUser has beyond the author.
	statusWriterRole = "chaos-task-status-writer"
	// runLabel marks what the harness created.
	runLabel = "chaos.kubeopencode.io/run"
	// agentServiceAccount runs the agent Pods (no token mounted).
	agentServiceAccount = "load-agent"
	// The generated roles (operator/config/rbac).
	taskAuthorRole = "kubeopencode-task-author"
	agentUserRole  = "kubeopencode-agent-user"
)

// AgentSpec is one Agent of the workload.
type AgentSpec struct {
	Key   AgentKey `json:"key"`
	Limit int      `json:"maxConcurrentTasks"`
}

// Spec is the workload's shape: Tasks come from Namespaces and run on Agents; an Agent living in
// one of the Namespaces gets same-namespace Tasks from it.
type Spec struct {
	Namespaces []string    `json:"namespaces"`
	Agents     []AgentSpec `json:"agents"`
}

// DefaultSpec: 4 namespaces, 3 Agents with maxConcurrentTasks 4, 8 and 16 in three of them.
func DefaultSpec() Spec {
	return Spec{
		Namespaces: []string{"chaos-a", "chaos-b", "chaos-c", "chaos-d"},
		Agents: []AgentSpec{
			{Key: AgentKey{Namespace: "chaos-a", Name: "small"}, Limit: 4},
			{Key: AgentKey{Namespace: "chaos-b", Name: "medium"}, Limit: 8},
			{Key: AgentKey{Namespace: "chaos-c", Name: "large"}, Limit: 16},
		},
	}
}

// Limits maps each Agent to its maxConcurrentTasks.
func (s Spec) Limits() map[AgentKey]int {
	out := map[AgentKey]int{}
	for _, a := range s.Agents {
		out[a.Key] = a.Limit
	}
	return out
}

// Impersonate returns clients acting as user (with system:authenticated, as the API server adds).
func Impersonate(cfg *rest.Config, user string) (*load.Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return load.NewClients(cfg)
}

// Setup creates the namespaces, the Agents (allowing every namespace of the spec), their agent
// ServiceAccounts, and binds the personas: AuthorUser and StatusWriterUser to the generated
// task-author role in every namespace and to agent-user (use) in the Agents' namespaces, and
// StatusWriterUser to update/patch tasks/status.
func Setup(ctx context.Context, c *load.Clients, s Spec, runID string) error {
	for _, ns := range s.Namespaces {
		if err := c.CreateNamespace(ctx, ns, runID); err != nil {
			return err
		}
	}
	_, err := c.Kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: statusWriterRole, Labels: map[string]string{runLabel: runID}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"tasks/status"},
			Verbs: []string{"get", "update", "patch"}}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ClusterRole %s: %w", statusWriterRole, err)
	}
	users := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: AuthorUser},
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: StatusWriterUser}}
	bind := func(ns, name, role string, subjects []rbacv1.Subject) error {
		_, err := c.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{runLabel: runID}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   subjects,
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("binding %s in %s: %w", role, ns, err)
		}
		return nil
	}
	for _, ns := range s.Namespaces {
		if err := bind(ns, "chaos-task-authors", taskAuthorRole, users); err != nil {
			return err
		}
		if err := bind(ns, "chaos-status-writers", statusWriterRole, users[1:]); err != nil {
			return err
		}
	}
	for _, a := range s.Agents {
		if err := bind(a.Key.Namespace, "chaos-agent-users-"+a.Key.Name, agentUserRole, users); err != nil {
			return err
		}
		_, err := c.Kube.CoreV1().ServiceAccounts(a.Key.Namespace).Create(ctx, &corev1.ServiceAccount{
			ObjectMeta:                   metav1.ObjectMeta{Name: agentServiceAccount, Namespace: a.Key.Namespace},
			AutomountServiceAccountToken: new(false),
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the agent ServiceAccount in %s: %w", a.Key.Namespace, err)
		}
		if _, err := c.Dynamic.Resource(load.AgentResource).Namespace(a.Key.Namespace).Create(ctx, AgentObject(a, s), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Agent %s: %w", a.Key, err)
		}
	}
	return nil
}

// AgentObject is the load harness's kwok Agent with maxConcurrentTasks set and every namespace
// of the spec allowed.
func AgentObject(a AgentSpec, s Spec) *unstructured.Unstructured {
	return load.AgentObject(load.AgentOptions{Namespace: a.Key.Namespace, Name: a.Key.Name, AllowedNamespaces: s.Namespaces, MaxConcurrentTasks: int64(a.Limit)})
}

// TaskObject is a workload Task in ns on Agent a.
func TaskObject(ns, name string, a AgentKey, runID string) *unstructured.Unstructured {
	return load.TaskObject(ns, name, a.Namespace, a.Name, runID)
}

// vapResource and vapBindingResource are admission policies, handled untyped so that nothing
// here depends on which admissionregistration version the test bed serves.
var (
	vapResource        = admissionGVR("validatingadmissionpolicies")
	vapBindingResource = admissionGVR("validatingadmissionpolicybindings")
)

// DisableFinalizerPolicies deletes every ValidatingAdmissionPolicy that mentions finalizers,
// with its bindings, and returns their names: the operator must keep the invariants without
// such a guard (defense in depth only), so the run measures it without one.
func DisableFinalizerPolicies(ctx context.Context, c *load.Clients) ([]string, error) {
	pols, err := c.Dynamic.Resource(vapResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing admission policies: %w", err)
	}
	guard := map[string]bool{}
	var names []string
	for _, p := range pols.Items {
		spec, _ := json.Marshal(p.Object["spec"])
		if strings.Contains(string(spec), "finalizers") {
			guard[p.GetName()] = true
			names = append(names, p.GetName())
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	binds, err := c.Dynamic.Resource(vapBindingResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing admission policy bindings: %w", err)
	}
	for _, b := range binds.Items {
		if pol, _, _ := unstructured.NestedString(b.Object, "spec", "policyName"); guard[pol] {
			if err := c.Dynamic.Resource(vapBindingResource).Delete(ctx, b.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("deleting admission policy binding %s: %w", b.GetName(), err)
			}
		}
	}
	for _, n := range names {
		if err := c.Dynamic.Resource(vapResource).Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("deleting admission policy %s: %w", n, err)
		}
	}
	return names, nil
}

func admissionGVR(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: resource}
}
