// Command loadtest is the load generator behind `make bench` (see bench.sh, which brings up a
// kwok-only test bed and installs operator/config first). In one run it measures, per scenario
// and repetition, a bare client creating N Pods (the ceiling) and the operator, as a process with
// its production flags and ServiceAccount, turning N Tasks into Pods; then writes a Markdown
// table and the raw JSON under -out. It asserts nothing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeopencode/kubeopencode/e2e/load"
	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

type options struct {
	kubeconfig, operatorBinary, out, metricsAddr string
	pprofAddr                                    string
	profileSeconds                               int
	ns                                           []int
	reps, memoryN, memoryReps                    int
	maxSizeN                                     int
	crossN, crossNamespaces                      int
	steadyRate                                   float64
	steadyDuration                               time.Duration
	steadyReps                                   int
	workers, concurrency                         int
	complete                                     bool
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	var o options
	var ns string
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "admin kubeconfig of the test bed; empty: $TESTBED_DIR/kubeconfig (hack/testbed)")
	flag.StringVar(&o.operatorBinary, "operator-binary", "", "built `kubeopencode` binary; empty: build operator/cmd/kubeopencode (GOWORK=off)")
	flag.StringVar(&o.out, "out", "", "results directory (git-ignored); empty: <repo>/results")
	flag.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:18089", "operator metrics bind address (loopback)")
	flag.StringVar(&o.pprofAddr, "pprof-addr", "", "operator --pprof-bind-address (loopback); set: CPU and heap profiles of every operator phase in the results folder")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 15, "length of each CPU profile (from the first Task create)")
	flag.StringVar(&ns, "n", "1000,3000", "burst sizes (same-namespace Tasks)")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of every burst and cross-namespace scenario")
	flag.IntVar(&o.memoryN, "memory-n", 10000, "burst size for the memory scenario; 0 skips it")
	flag.IntVar(&o.memoryReps, "memory-reps", 1, "repetitions of the memory scenario")
	flag.IntVar(&o.maxSizeN, "max-size-n", 0, "maximum-size Tasks for the tenant-memory scenario (T24; needs a test bed whose etcd quota holds them, see bench.sh); 0 skips it")
	flag.IntVar(&o.crossN, "cross-n", 1000, "burst size of cross-namespace Tasks; 0 skips it")
	flag.IntVar(&o.crossNamespaces, "cross-namespaces", 4, "task namespaces of the cross-namespace scenario")
	flag.Float64Var(&o.steadyRate, "steady-rate", 10, "Tasks per second of the steady scenario; 0 skips it")
	flag.DurationVar(&o.steadyDuration, "steady-duration", 60*time.Second, "duration of the steady scenario")
	flag.IntVar(&o.steadyReps, "steady-reps", 3, "repetitions of the steady scenario")
	flag.IntVar(&o.workers, "workers", 32, "concurrent create calls (bare client and Tasks)")
	flag.IntVar(&o.concurrency, "concurrency", 0, "operator --concurrency; 0: the binary's default")
	flag.BoolVar(&o.complete, "complete", true, "let kwok finish every Pod and wait for every Task Completed (whole-lifecycle writes)")
	flag.Parse()
	var err error
	if o.ns, err = parseInts(ns); err != nil {
		fmt.Fprintln(os.Stderr, "-n:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func scenarios(o options) []load.Scenario {
	var out []load.Scenario
	for rep := 1; rep <= o.reps; rep++ {
		for _, n := range o.ns {
			out = append(out, load.Scenario{Kind: "burst", N: n, Rep: rep, Bare: true})
		}
		if o.crossN > 0 {
			out = append(out, load.Scenario{Kind: "burst", N: o.crossN, Rep: rep, Bare: true, CrossNamespace: true, TeamNamespaces: o.crossNamespaces})
		}
	}
	if o.steadyRate > 0 {
		n := int(o.steadyRate * o.steadyDuration.Seconds())
		for rep := 1; rep <= o.steadyReps; rep++ {
			out = append(out, load.Scenario{Kind: "steady", N: n, Rep: rep, Rate: o.steadyRate})
		}
	}
	for rep := 1; rep <= o.memoryReps && o.memoryN > 0; rep++ {
		// Memory: the operator alone (its ratio is the same-namespace bursts').
		out = append(out, load.Scenario{Kind: "burst", N: o.memoryN, Rep: rep})
	}
	return out
}

func run(ctx context.Context, o options) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := testbed.RepoRoot(wd)
	if err != nil {
		return err
	}
	if o.kubeconfig == "" {
		if o.kubeconfig, err = testbed.Kubeconfig(); err != nil {
			return err
		}
	}
	if o.out == "" {
		o.out = filepath.Join(root, "results")
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	work := filepath.Join(o.out, "load-"+stamp)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[loadtest %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if o.operatorBinary == "" {
		o.operatorBinary = filepath.Join(work, "kubeopencode")
		logf("building the operator into %s", o.operatorBinary)
		cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, "operator"), "-o", o.operatorBinary, "./cmd/kubeopencode")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building the operator: %w", err)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", o.kubeconfig, err)
	}
	clients, err := load.NewClients(cfg)
	if err != nil {
		return err
	}
	opKubeconfig, err := load.OperatorKubeconfig(ctx, clients, work)
	if err != nil {
		return err
	}
	metricsToken, err := load.MetricsToken(ctx, clients)
	if err != nil {
		return err
	}
	b := &load.Bench{Clients: clients, OperatorBinary: o.operatorBinary, OperatorKubeconfig: opKubeconfig, MetricsToken: metricsToken,
		Concurrency: o.concurrency, MetricsAddr: o.metricsAddr, Workers: o.workers, Complete: o.complete,
		PprofAddr: o.pprofAddr, ProfileSeconds: o.profileSeconds,
		WorkDir: work, Log: logf}
	machine := describeMachine(clients) + "; operator source: " + describeSource(root)
	logf("machine: %s", machine)
	var recs []load.Record
	var errs []error
	for _, s := range scenarios(o) {
		if ctx.Err() != nil {
			break
		}
		rec, err := b.Run(ctx, s)
		if err != nil {
			logf("%s N=%d rep %d FAILED: %v", s.Label(), s.N, s.Rep, err)
			errs = append(errs, fmt.Errorf("%s N=%d rep %d: %w", s.Label(), s.N, s.Rep, err))
			continue
		}
		recs = append(recs, rec)
		logf("%s N=%d rep %d: operator %.0f Pods/s (bare %.0f/s, ratio %.2f), p99 %s, %.2f writes/Task, %.2f events/Task, RSS %.0f MiB, load %s",
			s.Label(), s.N, s.Rep, rec.Tasks.Pods.PerSecond, perSec(rec.Bare), rec.Ratio, rec.Tasks.Pods.Latency.P99,
			rec.OperatorWrites/float64(s.N), rec.EventWrites/float64(s.N), float64(rec.PeakRSSBytes)/(1<<20), rec.LoadAvgAfter)
		if err := write(work, machine, o, recs); err != nil {
			return err
		}
	}
	if o.maxSizeN > 0 && ctx.Err() == nil {
		rec, err := b.RunMaxSize(ctx, o.maxSizeN)
		if err != nil {
			logf("max-size N=%d FAILED: %v", o.maxSizeN, err)
			errs = append(errs, fmt.Errorf("max-size N=%d: %w", o.maxSizeN, err))
		} else {
			js, err := json.MarshalIndent(map[string]any{"machine": machine, "maxSize": rec}, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(work, "maxsize.json"), js, 0o644); err != nil {
				return err
			}
			fmt.Printf("\n| max-size Tasks | KB each | create s | burst peak RSS | restart peak RSS | GOMEMLIMIT |\n|---|---|---|---|---|---|\n| %d | %d | %.0f | %d MiB | %d MiB | %s |\n",
				rec.N, rec.TaskBytes/1000, rec.CreateSeconds, rec.BurstPeakRSSBytes>>20, rec.RestartPeakRSSBytes>>20, rec.GOMEMLIMIT)
		}
	}
	if len(recs) > 0 {
		fmt.Println(load.Markdown(load.SummarizeRecords(recs)))
		logf("results: %s/results.md and results.json", work)
	}
	return errors.Join(errs...)
}

func perSec(r *load.Result) float64 {
	if r == nil {
		return 0
	}
	return r.PerSecond
}

func write(dir, machine string, o options, recs []load.Record) error {
	rows := load.SummarizeRecords(recs)
	concurrency := "the binary's default"
	if o.concurrency > 0 {
		concurrency = strconv.Itoa(o.concurrency)
	}
	md := fmt.Sprintf("# Load test %s\n\nMachine: %s\n\nOperator: --concurrency %s, leader election on, all namespaces; %d create workers; client-side rate limiting off; complete=%v.\n\n%s\n## Writes counted\n\nwrites/Task = %s from apiserver_request_total over the operator phase, divided by N. events/Task = the operator's own rest_client_requests_total POST+PATCH minus its attributed POST/PATCH writes.\n\n%s",
		time.Now().UTC().Format(time.RFC3339), machine, concurrency, o.workers, o.complete,
		load.Markdown(rows), strings.Join(load.OperatorWriteKeys, ", "), load.WritesBreakdown(recs))
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(map[string]any{"machine": machine, "rows": rows, "records": recs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), js, 0o644)
}

// describeMachine names the CPU, cores, memory, OS, Go and Kubernetes versions.
func describeMachine(c *load.Clients) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.0f GiB RAM", kb/(1<<20))
			}
		}
	}
	k8s := "?"
	if v, err := c.Kube.Discovery().ServerVersion(); err == nil {
		k8s = v.GitVersion
	}
	return fmt.Sprintf("%s, %d CPUs%s, %s/%s, %s, kube-apiserver %s (kwokctl binary runtime, kwok fake node)",
		cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version(), k8s)
}

// describeSource names the commit the operator was built from, and whether the working tree of
// the operator and its libraries differed from it.
func describeSource(root string) string {
	rev, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	out := strings.TrimSpace(string(rev))
	dirty, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", "operator", "api", "podspec", "credentials", "policy", "rbac").Output()
	if err == nil && len(strings.TrimSpace(string(dirty))) > 0 {
		out += " + uncommitted changes"
	}
	return out
}
