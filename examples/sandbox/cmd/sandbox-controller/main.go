// Command sandbox-controller runs the example Sandbox controller, or prints its RBAC.
//
//	sandbox-controller --staging-image=example.com/stage-credentials:v1
//	sandbox-controller --print-rbac [--namespace=sandbox-system --service-account=sandbox-controller]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubeopencode/kubeopencode/examples/sandbox"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-controller:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox-controller", flag.ContinueOnError)
	printRBAC := fs.Bool("print-rbac", false, "print the controller's ClusterRole and ClusterRoleBinding as YAML and exit")
	namespace := fs.String("namespace", sandbox.DefaultNamespace, "namespace of the controller's ServiceAccount (for --print-rbac)")
	serviceAccount := fs.String("service-account", sandbox.DefaultServiceAccount, "the controller's ServiceAccount (for --print-rbac)")
	stagingImage := fs.String("staging-image", "", "image with the stage-credentials program (needed for file credentials)")
	stagingCommand := fs.String("staging-command", "/stage-credentials", "command of the staging image, space-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printRBAC {
		return sandbox.WriteRBAC(stdout, *namespace, *serviceAccount)
	}

	ctrl.SetLogger(zap.New())
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{Scheme: sandbox.NewScheme()})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	r, err := sandbox.NewReconciler(mgr.GetClient(), sandbox.Options{StagingImage: *stagingImage,
		StagingCommand: strings.Fields(*stagingCommand)})
	if err != nil {
		return err
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
