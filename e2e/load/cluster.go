package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The kubeopencode.io resources the harness creates. It speaks to them through the dynamic client
// so that e2e needs no dependency on the api module.
var (
	TaskResource  = schema.GroupVersionResource{Group: "kubeopencode.io", Version: "v1alpha1", Resource: "tasks"}
	AgentResource = schema.GroupVersionResource{Group: "kubeopencode.io", Version: "v1alpha1", Resource: "agents"}
)

// Label keys the operator puts on agent Pods (CONTRIBUTING.md, shared contract).
const (
	managedByLabel     = "app.kubernetes.io/managed-by"
	managedByValue     = "kubeopencode"
	taskNameLabel      = "kubeopencode.io/task-name"
	taskNamespaceLabel = "kubeopencode.io/task-namespace"
	// kwokExitAnnotation makes the fake node finish a Running Pod with this exit code.
	kwokExitAnnotation = "e2e.kwok/exit-code"
	// agentServiceAccount runs the agent Pods (no token mounted).
	agentServiceAccount = "load-agent"
)

// Clients are what the harness talks to the cluster with: an admin identity, client-side rate
// limiting off.
type Clients struct {
	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// NewClients copies cfg, turns client-side rate limiting off and builds the clients.
func NewClients(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the clientset: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the dynamic client: %w", err)
	}
	return &Clients{Config: cfg, Kube: kube, Dynamic: dyn}, nil
}

// CreateNamespace creates ns labelled with the run, so a crashed run's leftovers are findable.
func (c *Clients) CreateNamespace(ctx context.Context, ns, runID string) error {
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{runLabel: runID}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return nil
}

// DeleteNamespaces deletes the namespaces and waits until they are gone (the operator must run,
// because cross-namespace Tasks carry its finalizer).
func (c *Clients) DeleteNamespaces(ctx context.Context, timeout time.Duration, namespaces ...string) error {
	for _, ns := range namespaces {
		err := c.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", ns, err)
		}
	}
	var errs []error
	for _, ns := range namespaces {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			_, err := c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("namespace %s still there after %s: %w", ns, timeout, err))
		}
	}
	return errors.Join(errs...)
}

// AgentOptions describe the Agent the operator runs the load with.
type AgentOptions struct {
	Namespace, Name string
	// AllowedNamespaces for cross-namespace Tasks; empty: the Agent's own namespace only.
	AllowedNamespaces []string
	// Complete makes the fake node finish every agent Pod with exit code 0 (kwok annotation).
	Complete bool
	// MaxConcurrentTasks, when > 0, limits the Agent's running Tasks.
	MaxConcurrentTasks int64
}

// AgentObject is the load Agent: scheduled to the kwok fake node, no credentials, no capacity
// limit, an agent ServiceAccount without a token.
func AgentObject(o AgentOptions) *unstructured.Unstructured {
	nodeSelector, tolerations := KwokScheduling()
	tols := make([]any, 0, len(tolerations))
	for _, t := range tolerations {
		tols = append(tols, map[string]any{"key": t.Key, "operator": string(t.Operator), "effect": string(t.Effect)})
	}
	sel := map[string]any{}
	for k, v := range nodeSelector {
		sel[k] = v
	}
	podSpec := map[string]any{"scheduling": map[string]any{"nodeSelector": sel, "tolerations": tols}}
	if o.Complete {
		podSpec["annotations"] = map[string]any{kwokExitAnnotation: "0"}
	}
	spec := map[string]any{
		"workspaceDir":       "/workspace",
		"serviceAccountName": agentServiceAccount,
		"podSpec":            podSpec,
	}
	if o.MaxConcurrentTasks > 0 {
		spec["maxConcurrentTasks"] = o.MaxConcurrentTasks
	}
	if len(o.AllowedNamespaces) > 0 {
		allowed := make([]any, 0, len(o.AllowedNamespaces))
		for _, a := range o.AllowedNamespaces {
			allowed = append(allowed, a)
		}
		spec["allowedNamespaces"] = allowed
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Agent",
		"metadata": map[string]any{"name": o.Name, "namespace": o.Namespace},
		"spec":     spec,
	}}
}

// CreateAgent creates the Agent's ServiceAccount and the Agent.
func (c *Clients) CreateAgent(ctx context.Context, o AgentOptions) error {
	_, err := c.Kube.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: agentServiceAccount, Namespace: o.Namespace},
		AutomountServiceAccountToken: new(false),
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the agent ServiceAccount in %s: %w", o.Namespace, err)
	}
	if _, err := c.Dynamic.Resource(AgentResource).Namespace(o.Namespace).Create(ctx, AgentObject(o), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating Agent %s/%s: %w", o.Namespace, o.Name, err)
	}
	return nil
}

// TaskObject is a load Task named name in ns for the Agent agentNS/agent.
func TaskObject(ns, name, agentNS, agent, runID string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Task",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{runLabel: runID}},
		"spec": map[string]any{
			"agentRef":    map[string]any{"name": agent, "namespace": agentNS},
			"description": "load test task " + name,
		},
	}}
}
