package framework

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// helperEnv makes the test binary act as a "test binary that starts an operator and is killed".
const helperEnv = "E2E_FRAMEWORK_OPERATOR_HELPER_DIR"

func TestHelperStartsOperatorThenHangs(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return // only meaningful as the helper process of TestOperatorDiesWithTheTestBinary
	}
	o := &Operator{Binary: "/bin/sh", Args: []string{"-c", "echo $$ > " + filepath.Join(dir, "pid") + "; exec sleep 120"}, LogPath: filepath.Join(dir, "log")}
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	select {} // until killed
}

// TestOperatorDiesWithTheTestBinary kills (SIGKILL, no cleanup runs) a process that started an
// operator, and checks that the operator goes too.
func TestOperatorDiesWithTheTestBinary(t *testing.T) {
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperStartsOperatorThenHangs$")
	helper.Env = append(os.Environ(), helperEnv+"="+dir)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false, nil
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil, err
	})
	if err != nil {
		_ = helper.Process.Kill()
		t.Fatalf("the helper's operator did not start: %v", err)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	err = wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return !alive(pid), nil
	})
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("operator process %d outlived the process that started it", pid)
	}
}

// alive reports whether pid runs (a zombie waiting for its new parent to reap it does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
