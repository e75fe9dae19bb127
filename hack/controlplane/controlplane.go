package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

// Env is a running control plane.
type Env struct {
	// Config authenticates as a cluster admin (system:masters).
	Config *rest.Config
	// Client is an uncached admin client with Scheme.
	Client client.Client
	// Scheme knows the built-in kinds and those of Options.AddToScheme.
	Scheme *runtime.Scheme

	env *envtest.Environment
}

// Options configure Start. The zero value starts a bare API server.
type Options struct {
	// CRDs are installed and established before Start returns (decode YAML manifests with
	// DecodeCRDs). Default: none.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// AddToScheme registers further kinds in Env.Scheme, after the built-in ones. Default: none.
	AddToScheme []func(*runtime.Scheme) error
}

// Run is the whole body of a package's TestMain: it starts a control plane with opts, stores it
// in *env, runs setup (when not nil), runs the tests, calls the teardown setup returned (when not
// nil), stops the control plane and returns the exit code for os.Exit. Failures to start are
// printed with the make target that fixes them.
func Run(m *testing.M, opts Options, env **Env, setup func(*Env) (teardown func(), err error)) int {
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}()
	*env = e
	if setup != nil {
		teardown, err := setup(e)
		if teardown != nil {
			defer teardown()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "setting up the test environment:", err)
			return 1
		}
	}
	return m.Run()
}

// Start launches etcd and kube-apiserver from the test-bed cache. When the binaries are missing
// the error says which make target builds them.
func Start(opts Options) (*Env, error) {
	assets, err := testbed.EnvtestAssets()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	for _, add := range append([]func(*runtime.Scheme) error{clientgoscheme.AddToScheme}, opts.AddToScheme...) {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	te := &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: opts.CRDs, ErrorIfCRDPathMissing: true}
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest from %s: %w", assets, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("creating the admin client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, env: te}, nil
}

// Stop shuts the control plane down.
func (e *Env) Stop() error { return e.env.Stop() }

// Namespace creates a fresh namespace named after the test and returns its name.
func (e *Env) Namespace(ctx context.Context, t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: NamespacePrefix(t.Name())}}
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// NamespacePrefix turns a test name into a valid GenerateName prefix: lower case, every other
// character a dash, at most 40 characters before the final dash, "test-" when nothing is left.
func NamespacePrefix(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
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
	if p == "" { // a name of nothing but punctuation
		p = "test"
	}
	return p + "-"
}

// DecodeCRDs decodes YAML manifests (each may hold several "---"-separated documents) into
// CustomResourceDefinitions. Empty documents are skipped; a document of any other kind is an
// error naming the manifest.
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
				return nil, fmt.Errorf("decoding CRD manifest %d: %w", i, err)
			}
			if crd.Kind == "" && crd.Name == "" {
				continue
			}
			if crd.Kind != "CustomResourceDefinition" {
				return nil, fmt.Errorf("CRD manifest %d: got kind %q, want CustomResourceDefinition", i, crd.Kind)
			}
			crds = append(crds, crd)
		}
	}
	return crds, nil
}
