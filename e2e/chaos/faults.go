package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	started      int
}

// Start runs one operator process logging to WorkDir/operator-<name>-<n>.log. Without
// leaderElect it runs with --leader-elect=false (one process at a time, which the harness
// guarantees by killing the previous one first); metricsAddr "0" turns metrics off.
func (o *Operators) Start(name string, leaderElect bool, metricsAddr string) (*load.OperatorProcess, error) {
	o.started++
	args := load.OperatorArgs(o.Kubeconfig, metricsAddr, 0, "")
	if !leaderElect {
		args = append(args, "--leader-elect=false")
	}
	log := filepath.Join(o.WorkDir, fmt.Sprintf("operator-%s-%03d.log", name, o.started))
	return load.StartOperator(o.Binary, args, metricsAddr, o.MetricsToken, log)
}

// APIServer is the test bed's kube-apiserver, started by kwokctl's binary runtime, which keeps
// its PID in <cluster dir>/pids/kube-apiserver.pid and its output in logs/kube-apiserver.log.
type APIServer struct {
	PIDFile, LogFile string
	// Binary is the expected executable: a PID file naming another process is refused.
	Binary string
}

// NewAPIServer locates the kube-apiserver of the kwokctl cluster in clusterDir
// ($TESTBED_DIR/kwok/clusters/<name>), run from binary.
func NewAPIServer(clusterDir, binary string) *APIServer {
	return &APIServer{PIDFile: filepath.Join(clusterDir, "pids", "kube-apiserver.pid"),
		LogFile: filepath.Join(clusterDir, "logs", "kube-apiserver.log"), Binary: binary}
}

// process is a running process's command line, working directory and environment.
type process struct {
	pid  int
	argv []string
	dir  string
	env  []string
}

func (a *APIServer) current() (process, error) {
	raw, err := os.ReadFile(a.PIDFile)
	if err != nil {
		return process{}, fmt.Errorf("reading the kube-apiserver PID: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return process{}, fmt.Errorf("%s: %w", a.PIDFile, err)
	}
	proc := fmt.Sprintf("/proc/%d", pid)
	if exe, err := os.Readlink(proc + "/exe"); err != nil || exe != a.Binary {
		return process{}, fmt.Errorf("PID %d in %s is not %s (%q, %v)", pid, a.PIDFile, a.Binary, exe, err)
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

// Restart stops the kube-apiserver (SIGTERM, SIGKILL after 30 s) and starts it again with the
// same command line, directory and environment, appending to its log and recording its new PID
// where kwokctl (and so the test bed's teardown) looks for it. It returns once the new process
// answers /readyz, with how long the API was down.
func (a *APIServer) Restart(ctx context.Context, kube kubernetes.Interface) (time.Duration, error) {
	p, err := a.current()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_ = syscall.Kill(p.pid, syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for alive(p.pid) && time.Now().Before(deadline) {
		sleep(ctx, 100*time.Millisecond)
	}
	if alive(p.pid) {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
		for alive(p.pid) {
			sleep(ctx, 100*time.Millisecond)
		}
	}
	logf, err := os.OpenFile(a.LogFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("opening the kube-apiserver log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, p.env, logf, logf
	// Its own session, as kwokctl forks it: it outlives the harness until the teardown.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	if err := os.WriteFile(a.PIDFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return 0, fmt.Errorf("recording the new kube-apiserver PID: %w", err)
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
