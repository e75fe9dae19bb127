package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "key")
	if err := os.WriteFile(secret, []byte("k"), 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROBE_SET", "value-never-printed")
	r := Collect([]string{secret, filepath.Join(dir, "missing")}, []string{"PROBE_SET", "PROBE_UNSET"})

	if r.UID != os.Getuid() {
		t.Errorf("UID = %d, want %d", r.UID, os.Getuid())
	}
	if got := r.Files[secret]; !got.Exists || got.Mode != "0400" || got.UID != os.Getuid() || got.Size != 1 {
		t.Errorf("Files[%s] = %+v, want an existing 0400 file owned by us", secret, got)
	}
	if got := r.Files[filepath.Join(dir, "missing")]; got.Exists || got.Error == "" {
		t.Errorf("missing file reported as %+v", got)
	}
	if d := cmp.Diff(map[string]bool{"PROBE_SET": true, "PROBE_UNSET": false}, r.Env); d != "" {
		t.Errorf("Env (-want +got):\n%s", d)
	}
	if _, ok := r.Status["NoNewPrivs"]; !ok {
		t.Errorf("Status lacks NoNewPrivs: %v", r.Status)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "value-never-printed") {
		t.Error("report leaks an environment value")
	}
}

func TestParse(t *testing.T) {
	log := []byte("some noise\n{\"uid\":65532,\"status\":{\"NoNewPrivs\":\"1\"}}\n")
	r, err := Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	if r.UID != 65532 || r.Status["NoNewPrivs"] != "1" {
		t.Errorf("Parse() = %+v", r)
	}
	if _, err := Parse([]byte("nothing here\n")); err == nil {
		t.Error("Parse of a log without a report: want an error")
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, AgentBinaryName))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	want, _ := os.Stat(self)
	if st.Mode().Perm() != 0o555 || st.Size() != want.Size() {
		t.Errorf("installed %v, %d bytes; want 0555 and %d bytes", st.Mode().Perm(), st.Size(), want.Size())
	}
	if err := Install(filepath.Join(dir, "missing")); err == nil {
		t.Error("Install into a missing directory: want an error")
	}
}
