package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/api/crds"
	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/hack/testbed"
	"github.com/kubeopencode/kubeopencode/policy"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// Env is a running envtest control plane.
type Env struct {
	// Config authenticates as a cluster admin (system:masters).
	Config *rest.Config
	// Client is an uncached admin client with Scheme.
	Client client.Client
	// Scheme knows the built-in kinds.
	Scheme *runtime.Scheme

	env *envtest.Environment
}

// Options configure Start. The zero value starts a bare API server.
type Options struct {
	// CRDs are installed before Start returns (decode YAML manifests with DecodeCRDs).
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// AddToScheme functions register extra kinds (e.g. kubeopencode.io/v1alpha1) in Scheme,
	// after the built-in kinds. Default: none.
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
	return DecodeCRDs(docs...)
}

// Run is the whole body of a package's TestMain: it starts an environment with opts, stores it in
// *env, runs setup (when not nil), runs the tests, stops the environment and returns the exit code
// for os.Exit. Failures to start are printed with the make target that fixes them.
func Run(m *testing.M, opts Options, env **Env, setup func(*Env) error) int {
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	*env = e
	if setup != nil {
		if err := setup(e); err != nil {
			fmt.Fprintln(os.Stderr, "setting up the test environment:", err)
			return 1
		}
	}
	return m.Run()
}

// Start launches etcd and kube-apiserver from the test-bed cache. It fails with instructions
// (run `make testbin`) when the binaries are missing.
func Start(opts Options) (*Env, error) {
	assets, err := testbed.EnvtestAssets()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	adds := opts.AddToScheme
	defs := opts.CRDs
	if opts.KubeOpenCodeAPI {
		kocCRDs, err := KubeOpenCodeCRDs()
		if err != nil {
			return nil, err
		}
		defs = append(append([]*apiextensionsv1.CustomResourceDefinition{}, defs...), kocCRDs...)
		adds = append(append([]func(*runtime.Scheme) error{}, adds...), v1alpha1.AddToScheme)
	}
	for _, add := range adds {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	e := &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: defs, ErrorIfCRDPathMissing: true}
	cfg, err := e.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest from %s: %w", assets, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, env: e}, nil
}

// DecodeCRDs decodes YAML manifests (each may hold several "---"-separated documents) into
// CustomResourceDefinitions. Empty documents are skipped; any other kind is an error.
func DecodeCRDs(manifests ...[]byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var crds []*apiextensionsv1.CustomResourceDefinition
	for i, m := range manifests {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(m), 4096)
		for {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			err := dec.Decode(crd)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("decoding manifest %d: %w", i, err)
			}
			if crd.Kind == "" && crd.Name == "" {
				continue // an empty document
			}
			if crd.Kind != "CustomResourceDefinition" {
				return nil, fmt.Errorf("manifest %d: got kind %q, want CustomResourceDefinition", i, crd.Kind)
			}
			crds = append(crds, crd)
		}
	}
	return crds, nil
}

// Stop shuts the control plane down.
func (e *Env) Stop() error { return e.env.Stop() }

// Namespace creates a fresh namespace named after the test and returns its name.
func (e *Env) Namespace(ctx context.Context, t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: nsPrefix(t.Name())}}
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// nsPrefix turns a test name into a valid GenerateName prefix.
func nsPrefix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	p := strings.Trim(b.String(), "-")
	if len(p) > 40 {
		p = strings.TrimRight(p[:40], "-")
	}
	return p + "-"
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
