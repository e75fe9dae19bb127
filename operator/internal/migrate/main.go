package migrate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Exit codes of Main.
const (
	ExitClean    = 0 // no findings: nothing to do
	ExitFindings = 1 // at least one finding
	ExitUsage    = 2 // bad arguments
	ExitError    = 3 // the check could not run (configuration, cluster unreachable, forbidden)
)

const usage = `Usage: kubeopencode migrate check [flags]

Lists every stored Agent, Task and KubeOpenCodeConfig that our CRDs would refuse (Refused) or
interpret differently from upstream KubeOpenCode v0.0.3 (Changed): the object, the field path and
why. Run it while upstream's CRDs are still installed: once ours replace them, the API server
drops upstream-only fields whenever it reads an object, and they can no longer be seen.

It needs list on agents, tasks and kubeopencodeconfigs.kubeopencode.io in all namespaces, and
reads the CRD agents.kubeopencode.io when allowed, to warn when ours are installed already.
Exit status: 0 nothing to do, 1 findings, 2 usage, 3 the check could not run.
See docs/migrating-from-upstream.md.

Flags:
`

// Main runs "kubeopencode migrate <args>" and returns the exit code. config loads the client
// configuration from the --kubeconfig flag ("" means the usual lookup).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, config func(kubeconfig string) (*rest.Config, error)) int {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, usage)
			return ExitClean
		}
		fmt.Fprint(stderr, "kubeopencode migrate: the only command is check\n\n"+usage)
		return ExitUsage
	}
	fs := flag.NewFlagSet("kubeopencode migrate check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file; empty: $KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount")
	output := fs.String("o", "table", "output format: table or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return ExitClean
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return ExitUsage
	}
	write := map[string]func(io.Writer, []Finding) error{"table": WriteTable, "json": WriteJSON}[*output]
	if write == nil {
		fmt.Fprintf(stderr, "-o must be table or json, got %q\n", *output)
		return ExitUsage
	}
	cfg, err := config(*kubeconfig)
	if err != nil {
		fmt.Fprintf(stderr, "loading the Kubernetes client configuration: %v\n", err)
		return ExitError
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "creating the client: %v\n", err)
		return ExitError
	}
	checker, err := NewChecker()
	if err != nil {
		fmt.Fprintf(stderr, "compiling our CRDs: %v\n", err)
		return ExitError
	}
	findings, notes, err := checker.Check(ctx, dc)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	for _, n := range notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	if err := write(stdout, findings); err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	if len(findings) > 0 {
		return ExitFindings
	}
	return ExitClean
}
