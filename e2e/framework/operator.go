package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildOperator builds the kubeopencode binary from repoRoot/operator into outDir, as its own
// module (GOWORK=off, the way CI and the image build it), and returns its path.
func BuildOperator(ctx context.Context, repoRoot, outDir string) (string, error) {
	bin := filepath.Join(outDir, "kubeopencode")
	cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(repoRoot, "operator"), "-o", bin, "./cmd/kubeopencode")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the operator: %w\n%s", err, out)
	}
	return bin, nil
}

// Operator is `kubeopencode controller` running as a child process of the test binary, with its
// output appended to LogPath (restarts keep the earlier output, separated by a header line).
type Operator struct {
	// Binary is the kubeopencode executable; Args follow it (starting with "controller").
	Binary string
	Args   []string
	// Env is added to the test process's environment for the operator.
	Env []string
	// LogPath receives stdout and stderr.
	LogPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit error, valid once done is closed
}

// Start runs the operator. It fails when it is already running.
func (o *Operator) Start() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cmd != nil {
		select {
		case <-o.done:
		default:
			return errors.New("the operator is already running")
		}
	}
	log, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the operator log: %w", err)
	}
	fmt.Fprintf(log, "=== e2e: starting %s %s at %s\n", o.Binary, strings.Join(o.Args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(o.Binary, o.Args...)
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttr()
	done := make(chan struct{})
	started := make(chan error, 1)
	// Start and Wait on one locked OS thread: the kernel's parent-death signal (childAttr) follows
	// the thread that forked, which must therefore live exactly as long as the child.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		log.Close()
		o.mu.Lock()
		o.err = err
		o.mu.Unlock()
		close(done)
	}()
	if err := <-started; err != nil {
		log.Close()
		return fmt.Errorf("starting the operator: %w", err)
	}
	o.cmd, o.done, o.err = cmd, done, nil
	return nil
}

// Exited reports whether a started operator has exited, and how.
func (o *Operator) Exited() (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cmd == nil {
		return false, nil
	}
	select {
	case <-o.done:
		return true, o.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM (the operator then releases its leader-election Lease) and waits up to
// grace for the process to exit before killing it. Stopping an operator that is not running is
// not an error.
func (o *Operator) Stop(grace time.Duration) error {
	o.mu.Lock()
	cmd, done := o.cmd, o.done
	o.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping the operator: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("the operator did not exit within %s of SIGTERM and was killed", grace)
	}
}

// Tail returns the last n lines of the operator's log.
func (o *Operator) Tail(n int) string {
	b, err := os.ReadFile(o.LogPath)
	if err != nil {
		return fmt.Sprintf("(no operator log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
