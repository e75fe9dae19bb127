package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/api/crds"
	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/hack/controlplane"
	"github.com/kubeopencode/kubeopencode/policy"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// Env is a running envtest control plane: the repository's one envtest helper,
// hack/controlplane, which this package only adds KubeOpenCode's API and admission policies to.
type Env = controlplane.Env

// Options configure Start. The zero value starts a bare API server.
type Options struct {
	// CRDs are installed before Start returns (decode YAML manifests with
	// controlplane.DecodeCRDs). Default: none.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// AddToScheme functions register extra kinds in Scheme, after the built-in kinds.
	// Default: none.
	AddToScheme []func(*runtime.Scheme) error
	// KubeOpenCodeAPI installs the kubeopencode.io CRDs embedded in the api module (in addition
	// to CRDs) and registers kubeopencode.io/v1alpha1 in Scheme. Default false: a bare API server.
	KubeOpenCodeAPI bool
}

// KubeOpenCodeCRDs decodes the kubeopencode.io CRDs embedded in the api module: exactly what the
// types generate, so tests exercise what users install.
func KubeOpenCodeCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	docs, err := crds.Documents()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded CRDs: %w", err)
	}
	return controlplane.DecodeCRDs(docs...)
}

// Run is the whole body of a package's TestMain: it starts an environment with opts, stores it in
// *env, runs setup (when not nil), runs the tests, stops the environment and returns the exit code
// for os.Exit. Failures to start are printed with the make target that fixes them.
func Run(m *testing.M, opts Options, env **Env, setup func(*Env) error) int {
	cp, err := controlplaneOptions(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var withTeardown func(*Env) (func(), error)
	if setup != nil {
		withTeardown = func(e *Env) (func(), error) { return nil, setup(e) }
	}
	return controlplane.Run(m, cp, env, withTeardown)
}

// Start launches etcd and kube-apiserver from the test-bed cache. It fails with instructions
// (run `make testbin`) when the binaries are missing.
func Start(opts Options) (*Env, error) {
	cp, err := controlplaneOptions(opts)
	if err != nil {
		return nil, err
	}
	return controlplane.Start(cp)
}

// controlplaneOptions adds the kubeopencode.io API to opts when asked.
func controlplaneOptions(opts Options) (controlplane.Options, error) {
	cp := controlplane.Options{CRDs: opts.CRDs, AddToScheme: opts.AddToScheme}
	if opts.KubeOpenCodeAPI {
		kocCRDs, err := KubeOpenCodeCRDs()
		if err != nil {
			return controlplane.Options{}, err
		}
		cp.CRDs = append(append([]*apiextensionsv1.CustomResourceDefinition{}, cp.CRDs...), kocCRDs...)
		cp.AddToScheme = append(append([]func(*runtime.Scheme) error{}, cp.AddToScheme...), v1alpha1.AddToScheme)
	}
	return cp, nil
}

// InstallAdmissionPolicies creates the admission policies and bindings operator/config/policy
// ships (kocpolicy.PolicyObjects, decoded from the YAML policy.RenderYAML emits, as users apply it)
// and waits, on a clock condition with a bound, until settle has passed since the last of them
// was created: the API server loads policies asynchronously, and the operator starts no Task
// created before its policies were in place that long (controller.PolicyLoadGrace).
func InstallAdmissionPolicies(ctx context.Context, c client.Client, settle time.Duration) error {
	manifest, err := policy.RenderYAML(kocpolicy.PolicyObjects(kocpolicy.PoliciesOptions{})...)
	if err != nil {
		return err
	}
	var last time.Time
	for i, doc := range strings.Split(string(manifest), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue // every document starts with a separator
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.UnmarshalStrict([]byte(doc), &obj.Object); err != nil {
			return fmt.Errorf("decoding document %d: %w", i, err)
		}
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if t := obj.GetCreationTimestamp().Time; t.After(last) {
			last = t
		}
	}
	if err := waitPoliciesLoaded(ctx, c); err != nil {
		return err
	}
	// creationTimestamp has a resolution of one second: wait one more.
	until := last.Add(settle + time.Second)
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the admission policies to settle: %w", ctx.Err())
	}
}

// waitPoliciesLoaded waits until the API server's admission plugin enforces the policies just
// created: it creates one more policy and binding, which refuse a labelled ConfigMap, and retries
// a server-side dry-run create of such a ConfigMap until that probe refuses it. The plugin reads
// policies and bindings from informers, in the order they were written, so once the probe is
// enforced every policy created before it is loaded too. The probe is deleted afterwards.
func waitPoliciesLoaded(ctx context.Context, c client.Client) error {
	const name, label = "kubeopencode-testenv-probe", "kubeopencode.io/admission-probe"
	fail := admissionregistrationv1.Fail
	probe := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "!has(object.metadata.labels) || !('" + label + "' in object.metadata.labels)", Message: "probe"}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: name, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	if err := c.Create(ctx, probe); err != nil {
		return fmt.Errorf("creating the admission probe policy: %w", err)
	}
	if err := c.Create(ctx, binding); err != nil {
		return fmt.Errorf("creating the admission probe binding: %w", err)
	}
	defer func() {
		_ = c.Delete(context.Background(), binding)
		_ = c.Delete(context.Background(), probe)
	}()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: name, Labels: map[string]string{label: "true"}}}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, cm.DeepCopy(), client.DryRunAll)
		return last != nil && strings.Contains(last.Error(), "'"+name+"'"), nil
	})
	if err != nil {
		return fmt.Errorf("the API server did not enforce the admission policies (last answer to the probe: %v): %w", last, err)
	}
	return nil
}
