package controller_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	sandboxv1alpha1 "github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/hack/controlplane"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// sandboxCRDs reads the CRDs of the sandbox example (examples/sandbox/config/crd).
func sandboxCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	paths, err := filepath.Glob("../../../examples/sandbox/config/crd/*.yaml")
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("finding the sandbox CRDs: %v (%d files)", err, len(paths))
	}
	var docs [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	return controlplane.DecodeCRDs(docs...)
}

// startSandboxController runs the sandbox example's controller (a third-party controller built on
// podspec with its own label scheme) in its own manager until the test ends.
func startSandboxController(t *testing.T) client.Client {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:     sandbox.NewScheme(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Logger:     testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := sandbox.NewReconciler(mgr.GetClient(), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sandbox manager: %v", err)
		}
	})
	c, err := client.New(env.Config, client.Options{Scheme: sandbox.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSandboxPodsAreNotOurs: the sandbox example controller and the operator run in one
// namespace, where an Agent and a SandboxTemplate are both named "python" and a Task and a
// Sandbox are both named "hello". The sandbox Pod (labelled with the sandbox's own scheme,
// running before the operator starts) is outside the operator's Pod cache, is not selected by
// the Agent's egress NetworkPolicy (whose selector uses only labels our Pods carry), is never
// deleted by the ownership controller, and does not take the Agent's only slot
// (maxConcurrentTasks: 1) from the Task.
func TestSandboxPodsAreNotOurs(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	sc := startSandboxController(t)

	tmpl := &sandboxv1alpha1.SandboxTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "python"},
		Spec: sandboxv1alpha1.SandboxTemplateSpec{ToolsImage: "example.com/sandbox-tools:v1", Image: "example.com/python:3.13"}}
	sb := &sandboxv1alpha1.Sandbox{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"},
		Spec: sandboxv1alpha1.SandboxSpec{TemplateRef: sandboxv1alpha1.TemplateReference{Name: "python"}, Command: []string{"/tools/run"}}}
	for _, o := range []client.Object{tmpl, sb} {
		if err := sc.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var sbPod corev1.Pod
	eventually(t, 30*time.Second, "the sandbox Pod", func(ctx context.Context) (bool, error) {
		list := &corev1.PodList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{sandbox.Labels().Keys().OwnerUID: string(sb.UID)}); err != nil {
			return false, err
		}
		if len(list.Items) == 1 {
			sbPod = list.Items[0]
		}
		return len(list.Items) == 1, nil
	})
	setPodStatus(t, &sbPod, phase(corev1.PodRunning))

	// The operator caches, counts and cleans up only Pods labelled managed-by=kubeopencode
	// (setup.go's cache selector); the sandbox Pod carries no key of KubeOpenCode's domain.
	if labels.SelectorFromSet(labels.Set{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}).Matches(labels.Set(sbPod.Labels)) {
		t.Errorf("the sandbox Pod is in the operator's Pod cache: labels %v", sbPod.Labels)
	}
	for k := range sbPod.Labels {
		if k != podspec.LabelManagedBy && podspec.IsReservedKey(k) {
			t.Errorf("the sandbox Pod carries KubeOpenCode's label %s", k)
		}
	}

	startOperator(t, []string{ns})
	ag := agent(ns, "python", func(a *v1alpha1.Agent) {
		a.Spec.MaxConcurrentTasks = ptr.To[int32](1)
		a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{{CIDRs: []string{"10.0.0.0/8"}}}}
	})
	create(t, ag)
	np := &networkingv1.NetworkPolicy{}
	eventually(t, 30*time.Second, "the egress NetworkPolicy", func(ctx context.Context) (bool, error) {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "python-egress"}, np) == nil, nil
	})
	// The selector uses only keys podspec reserves under KubeOpenCode's scheme (no Agent or Task
	// can set them, no other scheme sets them) and pins the Agent's UID.
	if len(np.Spec.PodSelector.MatchExpressions) != 0 || np.Spec.PodSelector.MatchLabels[v1alpha1.AgentUIDLabel] != string(ag.UID) {
		t.Errorf("podSelector %v, want matchLabels only, with %s=%s", np.Spec.PodSelector, v1alpha1.AgentUIDLabel, ag.UID)
	}
	for k := range np.Spec.PodSelector.MatchLabels {
		if !podspec.IsReservedKey(k) {
			t.Errorf("podSelector key %s is not reserved for KubeOpenCode: another controller's Pods may carry it", k)
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Matches(labels.Set(sbPod.Labels)) {
		t.Errorf("the egress NetworkPolicy %v selects the sandbox Pod (labels %v)", np.Spec.PodSelector, sbPod.Labels)
	}

	// The Agent's only slot is free: the running sandbox Pod does not count.
	tk := task(ns, "hello", ns, "python")
	create(t, tk)
	pod := waitPod(t, tk)
	if !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("the egress NetworkPolicy does not select the Task's own Pod (labels %v)", pod.Labels)
	}
	if pod.Name == sbPod.Name {
		t.Errorf("the Task's Pod and the sandbox Pod share the name %s", pod.Name)
	}

	consistently(t, 3*time.Second, "the sandbox Pod is left alone", func(ctx context.Context) (bool, error) {
		cur := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(&sbPod), cur); err != nil {
			return false, err
		}
		return cur.UID == sbPod.UID && cur.DeletionTimestamp == nil, nil
	})
}
