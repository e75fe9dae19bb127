// Command kubeopencode is the reference operator's only binary, and its image is the only image
// the platform must trust besides the agent images:
//
//	kubeopencode controller          the manager (Task and Agent controllers)
//	kubeopencode stage-credentials   the credential staging init step of agent Pods
//	kubeopencode git-clone           the clone init step of a Git context (pure Go, no git or ssh)
//	kubeopencode version             the version this binary was built as
//	kubeopencode migrate check       what our CRDs refuse or read differently in an upstream install
//	kubeopencode log-server          serves Task logs to whoever may get tasks/log (T23)
//	kubeopencode run|list|describe|logs|stop   the task author's commands (also kubectl-kubeopencode)
//
// Run "kubeopencode <command> --help" for the flags of each.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubeopencode/kubeopencode/credentials/stage"
	"github.com/kubeopencode/kubeopencode/operator/internal/cli"
	"github.com/kubeopencode/kubeopencode/operator/internal/controller"
	"github.com/kubeopencode/kubeopencode/operator/internal/logserver"
	"github.com/kubeopencode/kubeopencode/operator/internal/migrate"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	"github.com/kubeopencode/kubeopencode/taskpod/gitclone"
)

// version is stamped at build time (-ldflags "-X main.version=v0.1.0": the Makefile and the
// image builds use the repository's VERSION file); see versionString for the fallbacks.
var version string

// versionString is the stamped version, else the module version Go recorded (go install of a
// tagged module), else "devel".
func versionString() string {
	if bi, ok := debug.ReadBuildInfo(); version == "" && ok && bi.Main.Version != "(devel)" {
		return cmp.Or(bi.Main.Version, "devel")
	}
	return cmp.Or(version, "devel")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `kubeopencode runs AI coding agents as Kubernetes Pods, declared with Agent and Task.

Usage:
  kubeopencode controller [flags]         run the operator (leader-elected manager)
  kubeopencode stage-credentials          stage credential files in an agent Pod (init step)
  kubeopencode git-clone [flags]          clone a Git context in an agent Pod (init step)
  kubeopencode version                    print the version and exit
  kubeopencode migrate check [flags]      list stored upstream objects our CRDs refuse or read differently
  kubeopencode log-server [flags]         serve Task logs to whoever may get tasks/log on the Task
  kubeopencode run|list|describe|logs|stop   a task author's commands, with your kubeconfig
  kubeopencode <command> --help           flags of a command
`

// run executes one command and returns the process exit code: 0 success, 1 failure, 2 usage.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "controller":
		return runController(args[1:], stdout, stderr)
	case "stage-credentials":
		return runStage(args[1:], stdout, stderr, getenv)
	case "git-clone":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return gitclone.Main(ctx, args[1:], stdout, stderr)
	case "migrate":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return migrate.Main(ctx, args[1:], stdout, stderr, restConfig)
	case "run", "list", "describe", "logs", "stop":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return cli.Main(ctx, "kubeopencode", args, cli.Env{Stdout: stdout, Stderr: stderr, Getenv: getenv})
	case "log-server":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return logserver.Main(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return 2
}

// controllerFlags are the flags of "kubeopencode controller".
type controllerFlags struct {
	kubeconfig              string
	metricsAddr, probeAddr  string
	metricsCertDir          string
	pprofAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	leaderElectionID        string
	namespaces              string
	concurrency             int
	logFormat, logLevel     string
	systemImage             string
	systemImagePullPolicy   string
	agentImage              string
	executorImage           string
	podStartTimeout         time.Duration
	stopGrace               time.Duration
	egressPolicyGrace       time.Duration
}

func (f *controllerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file; empty: $KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount")
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", `address of the metrics endpoint (HTTPS; a bearer token the API server authenticates and authorizes for get /metrics); "0" disables it`)
	fs.StringVar(&f.metricsCertDir, "metrics-cert-dir", "", "directory with tls.crt and tls.key for the metrics endpoint; empty: a self-signed certificate")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "0", `loopback address (127.0.0.1:port or [::1]:port) of net/http/pprof, for profiling; plain HTTP without authentication, so any other host is refused; "0" disables it`)
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", `address of /healthz and /readyz; "0" disables them`)
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "elect one active operator (required for exact maxConcurrentTasks and quota with several replicas)")
	fs.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease; empty: the operator's own namespace (in cluster)")
	fs.StringVar(&f.leaderElectionID, "leader-election-id", setup.DefaultLeaderElectionID, "name of the leader-election Lease")
	fs.StringVar(&f.namespaces, "namespaces", "", "comma-separated namespaces to watch (Tasks, Agents, agent Pods); empty: all")
	fs.IntVar(&f.concurrency, "concurrency", setup.DefaultConcurrency, "parallel Task reconciles")
	fs.StringVar(&f.logFormat, "log-format", "json", "log format: json or console")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: info or debug")
	fs.StringVar(&f.systemImage, "system-image", controller.DefaultSystemImage,
		"this operator's image, run by agent Pods for init steps such as credential staging (KubeOpenCodeConfig spec.systemImage overrides it)")
	fs.StringVar(&f.systemImagePullPolicy, "system-image-pull-policy", "", "pull policy of the system image: Always, IfNotPresent, Never; empty: the API default")
	fs.StringVar(&f.agentImage, "default-agent-image", controller.DefaultAgentImage, "agent image (copies OpenCode into /tools) for Agents without spec.agentImage")
	fs.StringVar(&f.executorImage, "default-executor-image", controller.DefaultExecutorImage, "executor image for Agents without spec.executorImage")
	fs.DurationVar(&f.podStartTimeout, "pod-start-timeout", controller.DefaultPodStartTimeout, "how long an agent Pod may stay unschedulable before its Task fails")
	fs.DurationVar(&f.stopGrace, "stop-grace", controller.DefaultStopGrace, "how long a stopped or timed-out agent Pod may take to terminate (kept for its logs) before it is deleted")
	fs.DurationVar(&f.egressPolicyGrace, "egress-policy-grace", controller.DefaultEgressPolicyGrace, "how long a Task of an Agent with spec.networkPolicy waits for that Agent's egress NetworkPolicy before it fails (EgressPolicyNotInForce)")
}

func (f *controllerFlags) validate() error {
	var errs []error
	if f.concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency must be at least 1, got %d", f.concurrency))
	}
	if f.logFormat != "json" && f.logFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format must be json or console, got %q", f.logFormat))
	}
	if f.logLevel != "info" && f.logLevel != "debug" {
		errs = append(errs, fmt.Errorf("--log-level must be info or debug, got %q", f.logLevel))
	}
	switch corev1.PullPolicy(f.systemImagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, fmt.Errorf("--system-image-pull-policy must be Always, IfNotPresent or Never, got %q", f.systemImagePullPolicy))
	}
	if err := checkLoopback(f.pprofAddr); err != nil {
		errs = append(errs, fmt.Errorf("--pprof-bind-address: %w", err))
	}
	if f.podStartTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--pod-start-timeout must be positive, got %s", f.podStartTimeout))
	}
	if f.stopGrace <= 0 {
		errs = append(errs, fmt.Errorf("--stop-grace must be positive, got %s", f.stopGrace))
	}
	if f.egressPolicyGrace <= 0 {
		errs = append(errs, fmt.Errorf("--egress-policy-grace must be positive, got %s", f.egressPolicyGrace))
	}
	for _, img := range []string{f.systemImage, f.agentImage, f.executorImage} {
		if img == "" || strings.ContainsAny(img, " \t\n") {
			errs = append(errs, fmt.Errorf("image %q must be non-empty and contain no whitespace", img))
		}
	}
	return errors.Join(errs...)
}

// checkLoopback accepts "0", "" and host:port addresses whose host is a loopback IP or
// "localhost": the pprof endpoint has no authentication.
func checkLoopback(addr string) error {
	if addr == "" || addr == "0" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%q must bind a loopback address (the profiling endpoint has no authentication)", addr)
}

func (f *controllerFlags) watched() []string {
	var out []string
	for _, ns := range strings.Split(f.namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

func runController(args []string, stdout, stderr io.Writer) int {
	var f controllerFlags
	fs := flag.NewFlagSet("kubeopencode controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kubeopencode controller [flags]\n\nRuns the Task and Agent controllers.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return 2
	}
	if err := f.validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log := newLogger(f.logFormat, f.logLevel, stderr)
	ctrl.SetLogger(log)
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		log.Error(err, "loading the Kubernetes client configuration")
		return 1
	}
	ctx := ctrl.SetupSignalHandler()
	mgr, err := setup.New(ctx, setup.Options{
		Config:                  cfg,
		Logger:                  log,
		MetricsAddr:             f.metricsAddr,
		MetricsCertDir:          f.metricsCertDir,
		PprofAddr:               f.pprofAddr,
		ProbeAddr:               f.probeAddr,
		DisableLeaderElection:   !f.leaderElect,
		LeaderElectionNamespace: f.leaderElectionNamespace,
		LeaderElectionID:        f.leaderElectionID,
		ReleaseLeaseOnCancel:    true,
		Namespaces:              f.watched(),
		Concurrency:             f.concurrency,
		Controller: controller.Options{
			DefaultAgentImage:     f.agentImage,
			DefaultExecutorImage:  f.executorImage,
			SystemImage:           f.systemImage,
			SystemImagePullPolicy: corev1.PullPolicy(f.systemImagePullPolicy),
			PodStartTimeout:       f.podStartTimeout,
			StopGrace:             f.stopGrace,
			EgressPolicyGrace:     f.egressPolicyGrace,
		},
	})
	if err != nil {
		log.Error(err, "setting up the manager")
		return 1
	}
	log.Info("starting the manager", "namespaces", f.watched(), "leaderElection", f.leaderElect, "concurrency", f.concurrency)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		return 1
	}
	return 0
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return ctrlconfig.GetConfig()
}

func newLogger(format, level string, w io.Writer) logr.Logger {
	opts := []zap.Opts{zap.WriteTo(w), zap.UseDevMode(false)}
	if format == "console" {
		opts = append(opts, zap.ConsoleEncoder())
	}
	if level == "debug" {
		opts = append(opts, zap.Level(zapcore.DebugLevel))
	}
	return zap.New(opts...)
}

func runStage(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("kubeopencode stage-credentials", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: kubeopencode stage-credentials

Stages credential files for the agent: reads the manifest (paths and modes, never Secret data)
from $%s, copies each Secret file from its read-only volume into a memory-backed
emptyDir with the exact mode, owned by the agent UID, and refuses to run as any other UID.
It is the init container the operator adds to agent Pods that have file credentials.
`, stage.ManifestEnv)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return 2
	}
	if err := stage.RunFromEnv(getenv); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
