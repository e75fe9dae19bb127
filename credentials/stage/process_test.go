package stage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The test binary doubles as the staging program and as a reader, run as other users, so that the
// permission logic is exercised by unprivileged processes (as root, every check would pass).
const helperEnv = "STAGE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "stage":
		if err := RunFromEnv(os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "read":
		if _, err := os.ReadFile(os.Getenv("STAGE_TEST_PATH")); err != nil {
			fmt.Print("denied")
			os.Exit(0)
		}
		fmt.Print("read")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The agent and another user. As root the test switches to them; otherwise it can only be the
// current user, and checks what that allows (see TestStagingAsTheAgent).
var agent, other uint32 = 65532, 65533

// helper runs bin (a copy of the test binary) in the given mode as uid/gid with the given
// supplementary groups.
func helper(t *testing.T, bin, mode string, uid, gid uint32, groups []uint32, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append([]string{helperEnv + "=" + mode}, env...)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestStagingAsTheAgent reproduces the Pod on the local file system: a Secret volume of root-owned
// files with mode 0440 and group fsGroup (= agent GID), an emptyDir of mode 2777 owned by
// root:fsGroup, the staging program running as the agent UID/GID with fsGroup as supplementary
// group. The staged file must be readable by the agent UID, and by no other UID — not even one
// in the fsGroup.
//
// Switching users needs root. Without it the test runs everything as the current user: the
// staging program still runs unprivileged (the point of the test), but the other-UID readers
// cannot be checked and the test says so in its log.
func TestStagingAsTheAgent(t *testing.T) {
	root := os.Getuid() == 0
	if !root {
		agent, other = uint32(os.Getuid()), uint32(os.Getuid())+1
		t.Log("not root: the other-UID read checks need root and are not performed")
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The go build cache is private to root: copy the test binary where the other users can run it.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "helper")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	src, dst := filepath.Join(base, "secrets"), filepath.Join(base, "staged")
	vol := filepath.Join(src, "vol-ssh")
	secretVolume(t, vol, map[string]string{"id_ed25519": "PRIVATE"})
	ts, err := filepath.EvalSymlinks(filepath.Join(vol, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(ts, "id_ed25519"), 0, int(agent)); root && err != nil { // kubelet: root:fsGroup 0440
		t.Fatal(err)
	}
	if err := os.Mkdir(dst, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dst, 0, int(agent)); root && err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, 0o2777); err != nil { // kubelet: emptyDir with fsGroup
		t.Fatal(err)
	}
	raw, err := Manifest{UID: int(agent), Source: src, Dest: dst, Items: []Item{{Volume: "vol-ssh", Key: "id_ed25519", Dir: "ssh", Mode: 0o400}}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	manifest := ManifestEnv + "=" + raw

	// Staging as another user is refused (the files would not be the agent's).
	if root {
		if out, err := helper(t, bin, "stage", other, agent, []uint32{agent}, manifest); err == nil || !strings.Contains(out, "requires UID 65532") {
			t.Fatalf("staging as UID %d: err=%v out=%s", other, err, out)
		}
	}
	if out, err := helper(t, bin, "stage", agent, agent, []uint32{agent}, manifest); err != nil {
		t.Fatalf("staging as the agent: %v: %s", err, out)
	}
	staged := filepath.Join(dst, "ssh", "id_ed25519")
	if got := state(t, staged); got != (fileState{Mode: 0o400, UID: int(agent), Content: "PRIVATE"}) {
		t.Errorf("staged file = %+v", got)
	}
	readers := []struct {
		name     string
		uid, gid uint32
		groups   []uint32
		want     string
	}{
		{"the agent", agent, agent, []uint32{agent}, "read"},
		{"another UID", other, other, nil, "denied"},
		{"another UID in the fsGroup", other, agent, []uint32{agent}, "denied"},
	}
	if !root {
		readers = readers[:1]
	}
	for _, r := range readers {
		for _, p := range []string{staged, filepath.Join(vol, "id_ed25519")} {
			out, err := helper(t, bin, "read", r.uid, r.gid, r.groups, "STAGE_TEST_PATH="+p)
			want := r.want
			if p != staged && r.gid == agent {
				want = "read" // the Secret volume itself is group-readable: it is mounted into the staging container only
			}
			if err != nil || out != want {
				t.Errorf("%s reading %s: got %q (%v), want %q", r.name, p, out, err, want)
			}
		}
	}
}
