package chaos

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

// Operators starts the real operator binary as its ServiceAccount, as the load harness does.
type Operators struct {
	Binary, Kubeconfig, WorkDir string
	// MetricsToken authenticates the harness to a replica's metrics endpoint (leader status).
	MetricsToken string
	mu           sync.Mutex
	started      int
	procs        []*load.OperatorProcess
}

// Start runs one operator process logging to WorkDir/operator-<name>-<n>.log. Without
// leaderElect it runs with --leader-elect=false (one process at a time, which the harness
// guarantees by killing the previous one first); metricsAddr "0" turns metrics off.
func (o *Operators) Start(name string, leaderElect bool, metricsAddr string) (*load.OperatorProcess, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
	args := load.OperatorArgs(o.Kubeconfig, metricsAddr, 0, "")
	if !leaderElect {
		args = append(args, "--leader-elect=false")
	}
	log := filepath.Join(o.WorkDir, fmt.Sprintf("operator-%s-%03d.log", name, o.started))
	p, err := load.StartOperator(o.Binary, args, metricsAddr, o.MetricsToken, log)
	if err == nil {
		o.procs = append(o.procs, p)
	}
	return p, err
}

// KillAll SIGKILLs every operator process still running: whatever ended the run, none outlives
// the harness.
func (o *Operators) KillAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.procs {
		select {
		case <-p.Exited():
		default:
			p.Kill()
		}
	}
	o.procs = nil
}

// ControlPlane is the test bed's control plane as kwokctl's binary runtime runs it: each
// component's PID in <cluster dir>/pids/<binary>.pid, its output in logs/<binary>.log. Command
// lines, directories and environments are captured while the components run, so that the
// harness can start them again as they were: the kube-apiserver when the run restarts it, and
// (as a kubelet restarts static Pods) kube-scheduler, kube-controller-manager and kwok when they
// exit on their own, which they do when they cannot renew their leader Lease while the API
// server is down.
type ControlPlane struct {
	dir    string
	binDir string
	mu     sync.Mutex
	procs  map[string]process
	// Revived counts restarts of components that exited on their own.
	revived map[string]int
}

// supervised are the components Supervise starts again (etcd is never touched; the
// kube-apiserver only by RestartAPIServer).
var supervised = []string{"kube-controller-manager", "kube-scheduler", "kwok"}

// NewControlPlane captures the running components of the kwokctl cluster in clusterDir
// ($TESTBED_DIR/kwok/clusters/<name>) whose binaries are in binDir.
func NewControlPlane(clusterDir, binDir string) (*ControlPlane, error) {
	cp := &ControlPlane{dir: clusterDir, binDir: binDir, procs: map[string]process{}, revived: map[string]int{}}
	for _, name := range append([]string{"kube-apiserver"}, supervised...) {
		p, err := cp.current(name)
		if err != nil {
			return nil, err
		}
		cp.procs[name] = p
	}
	return cp, nil
}

// process is a running process's command line, working directory and environment.
type process struct {
	pid  int
	argv []string
	dir  string
	env  []string
}

// pidFile is where kwokctl keeps the PID of the component run from binary name ("kwok" runs
// as kwok-controller).
func (cp *ControlPlane) pidFile(name string) string {
	if name == "kwok" {
		name = "kwok-controller"
	}
	return filepath.Join(cp.dir, "pids", name+".pid")
}

func (cp *ControlPlane) logFile(name string) string {
	if name == "kwok" {
		name = "kwok-controller"
	}
	return filepath.Join(cp.dir, "logs", name+".log")
}

func (cp *ControlPlane) pid(name string) (int, error) {
	raw, err := os.ReadFile(cp.pidFile(name))
	if err != nil {
		return 0, fmt.Errorf("reading the %s PID: %w", name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

func (cp *ControlPlane) current(name string) (process, error) {
	pid, err := cp.pid(name)
	if err != nil {
		return process{}, err
	}
	proc := fmt.Sprintf("/proc/%d", pid)
	want := filepath.Join(cp.binDir, name)
	if exe, err := os.Readlink(proc + "/exe"); err != nil || exe != want {
		return process{}, fmt.Errorf("PID %d in %s is not %s (%q, %v)", pid, cp.pidFile(name), want, exe, err)
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return process{}, err
	}
	environ, err := os.ReadFile(proc + "/environ")
	if err != nil {
		return process{}, err
	}
	dir, err := os.Readlink(proc + "/cwd")
	if err != nil {
		return process{}, err
	}
	split := func(b []byte) []string {
		var out []string
		for _, f := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
			out = append(out, string(f))
		}
		return out
	}
	return process{pid: pid, argv: split(cmdline), dir: dir, env: split(environ)}, nil
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// start runs the captured command of name again, appending to its log, in its own session (as
// kwokctl forks it: it outlives the harness until the teardown, which finds it by the PID file
// written here).
func (cp *ControlPlane) start(name string) error {
	p := cp.procs[name]
	logf, err := os.OpenFile(cp.logFile(name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening the %s log: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, p.env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s again: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	p.pid = cmd.Process.Pid
	cp.procs[name] = p
	if err := os.WriteFile(cp.pidFile(name), []byte(strconv.Itoa(p.pid)), 0o644); err != nil {
		return fmt.Errorf("recording the new %s PID: %w", name, err)
	}
	return nil
}

// RestartAPIServer stops the kube-apiserver (SIGTERM; SIGKILL after 5 s, shorter than its
// graceful drain of watches, so the outage stays a few seconds) and starts it again with the
// same command line, directory and environment. It returns once /readyz answers, with how long
// the API was down.
func (cp *ControlPlane) RestartAPIServer(ctx context.Context, kube kubernetes.Interface) (time.Duration, error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	pid := cp.procs["kube-apiserver"].pid
	if !alive(pid) {
		return 0, fmt.Errorf("the kube-apiserver (PID %d) is not running", pid)
	}
	start := time.Now()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		sleep(ctx, 100*time.Millisecond)
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for alive(pid) {
			sleep(ctx, 50*time.Millisecond)
		}
	}
	if err := cp.start("kube-apiserver"); err != nil {
		return 0, err
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		cancel()
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > 3*time.Minute || ctx.Err() != nil {
			return time.Since(start), fmt.Errorf("kube-apiserver not ready again after %s: %w", time.Since(start), err)
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// Supervise starts kube-scheduler, kube-controller-manager and kwok again whenever they exited,
// checking every second until ctx ends.
func (cp *ControlPlane) Supervise(ctx context.Context, log func(string, ...any)) {
	for ctx.Err() == nil {
		cp.mu.Lock()
		for _, name := range supervised {
			if alive(cp.procs[name].pid) {
				continue
			}
			if err := cp.start(name); err != nil {
				log("%v", err)
				continue
			}
			cp.revived[name]++
			log("%s had exited (lost its leader Lease while the API server was down?); started again", name)
		}
		cp.mu.Unlock()
		sleep(ctx, time.Second)
	}
}

// Revived returns how often each supervised component was started again.
func (cp *ControlPlane) Revived() map[string]int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return maps.Clone(cp.revived)
}
