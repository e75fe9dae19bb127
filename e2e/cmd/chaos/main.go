// Command chaos is the fault run behind `make chaos` (see chaos.sh, which brings up a kwok-only
// test bed and installs operator/config first). It runs Tasks on three Agents while the operator
// is SIGKILLed and restarted, the kube-apiserver restarted and a leader of two replicas killed,
// with the task-author escapes of issue 14 mixed in; then it checks the observed timeline
// (package chaos), prints the figures as Markdown and writes results/chaos.json (and the whole
// timeline to results/chaos-timeline.json). It exits 1 when an invariant failed, 2 when the
// harness itself failed.
package main

import (
	"context"
	"encoding/json"
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

	"github.com/kubeopencode/kubeopencode/e2e/chaos"
	"github.com/kubeopencode/kubeopencode/e2e/load"
	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

func main() {
	cfg := chaos.DefaultConfig()
	var kubeconfig, operatorBinary, out, clusterDir, binDir string
	flag.StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig of the test bed; empty: $TESTBED_DIR/kubeconfig")
	flag.StringVar(&operatorBinary, "operator-binary", "", "built `kubeopencode` binary; empty: build operator/cmd/kubeopencode (GOWORK=off)")
	flag.StringVar(&out, "out", "", "results directory (git-ignored); empty: <repo>/results")
	flag.StringVar(&clusterDir, "cluster-dir", "", "kwokctl cluster directory (pids/, logs/); empty: $TESTBED_DIR/kwok/clusters/$TESTBED_CLUSTER")
	flag.StringVar(&binDir, "bin-dir", "", "the test bed's binaries (kube-apiserver, ...); empty: $TESTBED_BIN or the cache")
	flag.IntVar(&cfg.Tasks, "n", cfg.Tasks, "Tasks of phase 1 (operator SIGKILLed every 3–5 s, API server restarts)")
	flag.Float64Var(&cfg.Rate, "rate", cfg.Rate, "Task creates per second in phase 1")
	flag.IntVar(&cfg.Phase2Tasks, "n2", cfg.Phase2Tasks, "Tasks of phase 2 (two replicas, leader killed mid-burst); 0 skips phase 2")
	flag.IntVar(&cfg.EscapesPerKind, "escapes", cfg.EscapesPerKind, "victims of each escape in phase 1")
	flag.IntVar(&cfg.Phase2EscapesPerKind, "escapes2", cfg.Phase2EscapesPerKind, "victims of each escape in phase 2")
	flag.DurationVar(&cfg.KillMin, "kill-min", cfg.KillMin, "shortest operator lifetime in phase 1")
	flag.DurationVar(&cfg.KillMax, "kill-max", cfg.KillMax, "longest operator lifetime in phase 1")
	flag.IntVar(&cfg.APIServerRestarts, "apiserver-restarts", cfg.APIServerRestarts, "kube-apiserver restarts in phase 1")
	flag.IntVar(&cfg.LeaderKills, "leader-kills", cfg.LeaderKills, "leader SIGKILLs in phase 2")
	flag.DurationVar(&cfg.PodMin, "pod-min", cfg.PodMin, "shortest agent run (Pod Running to Succeeded)")
	flag.DurationVar(&cfg.PodMax, "pod-max", cfg.PodMax, "longest agent run")
	flag.DurationVar(&cfg.FaultCap, "fault-cap", cfg.FaultCap, "longest fault window of a phase")
	flag.DurationVar(&cfg.SettleTimeout, "settle-timeout", cfg.SettleTimeout, "longest wait for convergence after a phase's last fault")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of every random choice (Agents, victims, kill intervals, run times)")
	recheck := flag.String("recheck", "", "a results/chaos-<time> directory: judge its timeline.json again with this checker and print the figures (no test bed)")
	flag.Parse()
	if *recheck != "" {
		ok, err := recheckDir(*recheck)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			os.Exit(2)
		}
		if !ok {
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, cfg, kubeconfig, operatorBinary, out, clusterDir, binDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg chaos.Config, kubeconfig, operatorBinary, out, clusterDir, binDir string) (bool, error) {
	wd, err := os.Getwd()
	if err != nil {
		return false, err
	}
	root, err := testbed.RepoRoot(wd)
	if err != nil {
		return false, err
	}
	if kubeconfig == "" {
		if kubeconfig, err = testbed.Kubeconfig(); err != nil {
			return false, err
		}
	}
	if out == "" {
		out = filepath.Join(root, "results")
	}
	if clusterDir == "" {
		clusterDir = filepath.Join(filepath.Dir(kubeconfig), "kwok", "clusters", envOr("TESTBED_CLUSTER", testbed.ClusterName))
	}
	if binDir == "" {
		if binDir, err = testbed.BinDir(); err != nil {
			return false, err
		}
	}
	work := filepath.Join(out, "chaos-"+time.Now().UTC().Format("20060102-150405"))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return false, err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[chaos %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	given := operatorBinary != ""
	if !given {
		operatorBinary = filepath.Join(work, "kubeopencode")
		logf("building the operator into %s", operatorBinary)
		cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, "operator"), "-o", operatorBinary, "./cmd/kubeopencode")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return false, fmt.Errorf("building the operator: %w", err)
		}
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return false, fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	c, err := load.NewClients(rc)
	if err != nil {
		return false, err
	}
	opKubeconfig, err := load.OperatorKubeconfig(ctx, c, work)
	if err != nil {
		return false, err
	}
	token, err := load.MetricsToken(ctx, c)
	if err != nil {
		return false, err
	}
	cfg.Operators = &chaos.Operators{Binary: operatorBinary, Kubeconfig: opKubeconfig, WorkDir: work, MetricsToken: token}
	defer cfg.Operators.KillAll()
	if cfg.ControlPlane, err = chaos.NewControlPlane(clusterDir, binDir); err != nil {
		return false, err
	}
	cfg.Log = logf
	machine := describeMachine(c)
	source := describeSource(root)
	if given {
		source = "the binary " + operatorBinary + " (harness at " + source + ")"
	}
	logf("machine: %s; operator source: %s; logs in %s", machine, source, work)
	res, tl, runErr := chaos.Run(ctx, c, cfg)
	res.Machine, res.Source = machine, source
	md := chaos.Markdown(res)
	fmt.Println(md)
	if err := writeJSON(filepath.Join(out, "chaos.json"), res); err != nil {
		return false, err
	}
	if err := writeJSON(filepath.Join(work, "chaos.json"), res); err != nil {
		return false, err
	}
	if err := writeJSON(filepath.Join(work, "timeline.json"), tl); err != nil {
		return false, err
	}
	header := fmt.Sprintf("# Chaos run %s\n\nMachine: %s\n\nOperator source: %s; seed %d\n\n", res.Date.Format(time.RFC3339), machine, source, cfg.Seed)
	if err := os.WriteFile(filepath.Join(work, "chaos.md"), []byte(header+md), 0o644); err != nil {
		return false, err
	}
	logf("results: %s/chaos.json (also %s: chaos.md, timeline.json, operator logs)", out, work)
	if runErr != nil {
		return false, runErr
	}
	return res.Report.OK() && allConverged(res), nil
}

// recheckDir judges a recorded run's timeline again and prints its figures.
func recheckDir(dir string) (bool, error) {
	var res chaos.Results
	var tl chaos.Timeline
	for name, v := range map[string]any{"chaos.json": &res, "timeline.json": &tl} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
	}
	res.Report = chaos.Check(tl, res.Config.Spec.Limits())
	fmt.Println(chaos.Markdown(res))
	return res.Report.OK() && allConverged(res), nil
}

func allConverged(r chaos.Results) bool {
	for _, p := range r.Phases {
		if !p.Converged {
			return false
		}
	}
	return true
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
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

// describeSource names the commit the operator was built from, and whether the operator and its
// libraries had uncommitted changes.
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
