package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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
	// CRDs are YAML manifests of CustomResourceDefinitions (several "---"-separated documents
	// each is fine), installed and established before Start returns. Default none.
	CRDs [][]byte
	// AddToScheme registers further kinds in Env.Scheme, after the built-in ones. Default none.
	AddToScheme []func(*runtime.Scheme) error
}

// Run is the whole body of a package's TestMain: it starts a control plane, stores it in *env,
// runs setup (when not nil), runs the tests, calls the teardown setup returned (when not nil),
// stops the control plane and returns the exit code for os.Exit.
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
	crds, err := DecodeCRDs(opts.CRDs...)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	for _, add := range append([]func(*runtime.Scheme) error{clientgoscheme.AddToScheme}, opts.AddToScheme...) {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	te := &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: crds, ErrorIfCRDPathMissing: true}
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

// DecodeCRDs decodes YAML manifests into CustomResourceDefinitions. Empty documents are skipped;
// a document of any other kind is an error.
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
