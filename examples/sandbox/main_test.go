package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/hack/controlplane"
)

// env is the package's control plane; the controller runs against it for every test.
var env *controlplane.Env

// stagingImage is what the controller under test is configured with.
const stagingImage = "example.com/stage-credentials:v1"

// controllerUser is the identity the controller runs as: its ServiceAccount, holding exactly the
// RBAC of config/rbac.yaml, so every test also proves that RBAC is enough.
var controllerUser = rest.ImpersonationConfig{
	UserName: "system:serviceaccount:" + sandbox.DefaultNamespace + ":" + sandbox.DefaultServiceAccount,
	Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + sandbox.DefaultNamespace, "system:authenticated"},
}

// TestMain installs the Sandbox CRDs, the controller's namespace, ServiceAccount and RBAC from
// config/, starts the controller in a manager as that ServiceAccount, and applies the sample.
func TestMain(m *testing.M) {
	var manifests [][]byte
	paths, _ := filepath.Glob("config/crd/*.yaml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		manifests = append(manifests, b)
	}
	crds, err := controlplane.DecodeCRDs(manifests...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts := controlplane.Options{CRDs: crds, AddToScheme: []func(*runtime.Scheme) error{v1alpha1.AddToScheme}}
	os.Exit(controlplane.Run(m, opts, &env, startController))
}

func startController(e *controlplane.Env) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, f := range []string{"config/controller.yaml", "config/rbac.yaml", "config/samples/sandbox.yaml"} {
		if err := applyFile(ctx, e.Client, f); err != nil {
			return nil, err
		}
	}
	ctrl.SetLogger(logr.Discard())
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = controllerUser
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: sandbox.NewScheme(), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, err
	}
	r, err := sandbox.NewReconciler(mgr.GetClient(), sandbox.Options{StagingImage: stagingImage})
	if err != nil {
		return nil, err
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(runCtx) }()
	return func() {
		stop()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}, nil
}

// applyFile creates every document of a YAML file, as kubectl create -f would.
func applyFile(ctx context.Context, c client.Client, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if u.Object == nil {
			continue
		}
		if err := c.Create(ctx, u, client.FieldValidation("Strict")); err != nil {
			return fmt.Errorf("%s: creating %s %s: %w", path, u.GetKind(), u.GetName(), err)
		}
	}
}
