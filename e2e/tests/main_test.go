//go:build e2e

package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

var (
	testenv env.Environment
	// suite is what TestMain set up once: the operator process and where things are.
	suite *suiteState
)

// Waits poll quickly: e2e-framework's default interval (5 s) would dominate the suite's run time.
const (
	pollInterval = 250 * time.Millisecond
	podTimeout   = 2 * time.Minute
)

// Names from operator/config and the rbac module's defaults.
const (
	operatorNamespace      = "kubeopencode-system"
	operatorServiceAccount = "kubeopencode-operator"
	operatorUser           = "system:serviceaccount:" + operatorNamespace + ":" + operatorServiceAccount
	leaderElectionLease    = "kubeopencode-operator"
	systemImage            = "example.local/kubeopencode:dev"
	// podStartTimeout is the operator's --pod-start-timeout here: long enough for any real-node
	// Pod of the suite to start its first container, short enough for scenario 5 to wait it out.
	podStartTimeout = 30 * time.Second
)

type suiteState struct {
	repoRoot string
	kubectl  string
	dir      string // temporary: the operator binary, its kubeconfig and log
	operator *framework.Operator
	hostname string // identity prefix of the out-of-cluster operator's Lease
}

func TestMain(m *testing.M) {
	kubeconfig, err := testbed.Kubeconfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	utilruntime.Must(v1alpha1.AddToScheme(scheme.Scheme))
	testenv = env.NewWithConfig(envconf.NewWithKubeConfig(kubeconfig))
	testenv.Setup(installOperatorConfig, startOperator)
	testenv.Finish(stopOperator)
	code := testenv.Run(m)
	if suite != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "e2e failed; the operator's log is kept in %s; its tail:\n%s\n", suite.dir, suite.operator.Tail(60))
		} else {
			os.RemoveAll(suite.dir)
		}
	}
	os.Exit(code)
}

// installOperatorConfig installs operator/config as `make run` does, as the cluster admin: the
// operator's namespace, the CRDs, the generated RBAC and the admission policy. The Deployment is
// installed only by TestOperatorDeployment.
func installOperatorConfig(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	wd, err := os.Getwd()
	if err != nil {
		return ctx, err
	}
	root, err := testbed.RepoRoot(wd)
	if err != nil {
		return ctx, err
	}
	bin, err := testbed.BinDir()
	if err != nil {
		return ctx, err
	}
	dir, err := os.MkdirTemp("", "kubeopencode-e2e-")
	if err != nil {
		return ctx, err
	}
	host, err := os.Hostname()
	if err != nil {
		return ctx, err
	}
	suite = &suiteState{repoRoot: root, kubectl: filepath.Join(bin, "kubectl"), dir: dir, hostname: host}
	return ctx, applyOperatorConfig(ctx, adminClient(cfg), root)
}

// applyOperatorConfig applies the operator's namespace, the CRDs, the generated RBAC and the
// admission policies of operator/config, and waits until the CRDs are established and the
// policies settled. TestHelmInstall calls it again after helm uninstall removed the roles and
// policies it had adopted.
func applyOperatorConfig(ctx context.Context, c client.Client, root string) error {
	nsFile, err := os.Open(filepath.Join(root, "operator/config/manager/namespace.yaml"))
	if err != nil {
		return err
	}
	defer nsFile.Close()
	objs, err := framework.DecodeUnstructured(nsFile)
	if err != nil {
		return err
	}
	for _, k := range []string{"crd", "rbac", "policy"} {
		more, err := framework.Kustomize(ctx, suite.kubectl, filepath.Join(root, "operator/config", k))
		if err != nil {
			return err
		}
		objs = append(objs, more...)
	}
	var crds []string
	for _, o := range objs {
		if err := framework.Apply(ctx, c, o); err != nil {
			return err
		}
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o.GetName())
		}
	}
	for _, name := range crds {
		err := wait.For(func(ctx context.Context) (bool, error) {
			crd := &unstructured.Unstructured{}
			crd.SetAPIVersion("apiextensions.k8s.io/v1")
			crd.SetKind("CustomResourceDefinition")
			if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, x := range conds {
				if m, ok := x.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		}, wait.WithContext(ctx), wait.WithTimeout(time.Minute), wait.WithInterval(pollInterval))
		if err != nil {
			return fmt.Errorf("CRD %s not Established: %w", name, err)
		}
	}
	return waitPoliciesSettled(ctx, c)
}

// policySettle is the operator's PolicyLoadGrace (5 s) plus a second of timestamp resolution: the
// operator starts no Task created sooner after its admission policies were installed (T22).
const policySettle = 6 * time.Second

// waitPoliciesSettled waits, on a clock condition, until the newest admission policy or binding
// is policySettle old, so no test's Task is refused as created before its policies.
func waitPoliciesSettled(ctx context.Context, c client.Client) error {
	var newest time.Time
	policies := &admissionregistrationv1.ValidatingAdmissionPolicyList{}
	bindings := &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}
	for _, l := range []client.ObjectList{policies, bindings} {
		if err := c.List(ctx, l); err != nil {
			return fmt.Errorf("listing admission policies: %w", err)
		}
	}
	for _, p := range policies.Items {
		newest = later(newest, p.CreationTimestamp.Time)
	}
	for _, b := range bindings.Items {
		newest = later(newest, b.CreationTimestamp.Time)
	}
	select {
	case <-time.After(time.Until(newest.Add(policySettle))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// startOperator builds the operator, writes a kubeconfig holding only a TokenRequest token of
// its ServiceAccount, and runs `kubeopencode controller` with it until it leads.
func startOperator(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	bin, err := framework.BuildOperator(ctx, suite.repoRoot, suite.dir)
	if err != nil {
		return ctx, err
	}
	kc := filepath.Join(suite.dir, "operator.kubeconfig")
	if err := framework.ServiceAccountKubeconfig(ctx, cfg.Client().RESTConfig(), operatorNamespace, operatorServiceAccount, 2*time.Hour, kc); err != nil {
		return ctx, err
	}
	suite.operator = &framework.Operator{
		Binary: bin, LogPath: filepath.Join(suite.dir, "operator.log"),
		Args: []string{"controller", "--kubeconfig", kc,
			"--leader-election-namespace", operatorNamespace,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
			"--system-image", systemImage, "--system-image-pull-policy", "Never",
			"--pod-start-timeout", podStartTimeout.String(),
			"--log-format", "console"},
		// client-go's informers fill their caches with a watch-list request when the server
		// allows it, and fall back to list + watch otherwise. The out-of-cluster operator runs
		// the fallback path (the feature gate off), scenario 7's in-cluster Deployment the
		// default one, so the RBAC proof sees both and every list grant is used.
		Env: []string{"KUBE_FEATURE_WatchListClient=false"},
	}
	if err := suite.operator.Start(); err != nil {
		return ctx, err
	}
	if err := waitLeader(ctx, cfg, suite.hostname+"_", suite.operator); err != nil {
		return ctx, fmt.Errorf("%w; operator log:\n%s", err, suite.operator.Tail(30))
	}
	return ctx, nil
}

func stopOperator(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	if suite == nil || suite.operator == nil {
		return ctx, nil
	}
	return ctx, suite.operator.Stop(20 * time.Second)
}

// waitLeader waits until the leader-election Lease is held by an identity starting with prefix
// (controller-runtime's identity is "<hostname>_<uuid>"), failing early if op exits.
func waitLeader(ctx context.Context, cfg *envconf.Config, prefix string, op *framework.Operator) error {
	c := adminClient(cfg)
	var holder string
	err := wait.For(func(ctx context.Context) (bool, error) {
		if op != nil {
			if exited, err := op.Exited(); exited {
				return false, fmt.Errorf("the operator exited: %v", err)
			}
		}
		lease := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaderElectionLease}, lease); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if lease.Spec.HolderIdentity != nil {
			holder = *lease.Spec.HolderIdentity
		}
		return strings.HasPrefix(holder, prefix), nil
	}, wait.WithContext(ctx), wait.WithTimeout(90*time.Second), wait.WithInterval(pollInterval))
	if err != nil {
		return fmt.Errorf("waiting for a leader named %q* (holder %q): %w", prefix, holder, err)
	}
	return nil
}

// adminClient is the cluster admin's controller-runtime client (the scheme holds kubeopencode.io).
func adminClient(cfg *envconf.Config) client.Client {
	return cfg.Client().Resources().GetControllerRuntimeClient()
}

// createNamespace makes a fresh namespace for one feature, with the given labels, and deletes it
// when the test ends.
func createNamespace(ctx context.Context, t *testing.T, cfg *envconf.Config, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName("e2e", 12), Labels: labels}}
	if err := cfg.Client().Resources().Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { _ = cfg.Client().Resources().Delete(context.Background(), ns) })
	return ns.Name
}

// createNamedNamespace creates namespace name (with labels) for one test and deletes it after.
func createNamedNamespace(ctx context.Context, t *testing.T, cfg *envconf.Config, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := adminClient(cfg).Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = adminClient(cfg).Delete(context.Background(), ns) })
}

// waitPhase waits until pod reaches phase, failing the test with the pod's last status otherwise.
func waitPhase(ctx context.Context, t *testing.T, r *resources.Resources, pod *corev1.Pod, phase corev1.PodPhase) {
	t.Helper()
	err := wait.For(conditions.New(r).PodPhaseMatch(pod, phase),
		wait.WithContext(ctx), wait.WithTimeout(podTimeout), wait.WithInterval(pollInterval))
	if err != nil {
		last := &corev1.Pod{}
		_ = r.Get(ctx, pod.Name, pod.Namespace, last)
		t.Fatalf("pod %s/%s did not reach %s: %v; last status: %+v", pod.Namespace, pod.Name, phase, err, last.Status)
	}
}

// waitFor polls cond every pollInterval until it holds, failing the test with what and the
// operator's log tail when it does not within timeout.
func waitFor(ctx context.Context, t *testing.T, what string, timeout time.Duration, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.For(cond, wait.WithContext(ctx), wait.WithTimeout(timeout), wait.WithInterval(pollInterval)); err != nil {
		t.Fatalf("waiting for %s: %v\noperator log tail:\n%s", what, err, operatorTail())
	}
}

// waitGone waits until obj no longer exists.
func waitGone(ctx context.Context, t *testing.T, c client.Client, obj client.Object, timeout time.Duration) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	waitFor(ctx, t, fmt.Sprintf("%T %s to be gone", obj, key), timeout, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, key, obj.DeepCopyObject().(client.Object))
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func operatorTail() string {
	if suite == nil || suite.operator == nil {
		return "(no operator)"
	}
	return suite.operator.Tail(40)
}

// ignoreNotFound is client.IgnoreNotFound that also accepts a nil error, for cleanups.
func ignoreNotFound(err error) error {
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
