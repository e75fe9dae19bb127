// Package probe is the report that the e2e workload image (cmd/probe) prints from inside a running
// container, so tests assert what a container can really see and do rather than what its spec says.
package probe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ServiceAccountTokenPath is where the kubelet mounts the default service-account token.
const ServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// Report is what `probe report` prints as one JSON line.
type Report struct {
	UID    int   `json:"uid"`
	GID    int   `json:"gid"`
	Groups []int `json:"groups"`
	// Status holds CapEff, CapPrm, CapBnd, NoNewPrivs and Seccomp from /proc/self/status.
	Status map[string]string `json:"status"`
	// RootFSWritable is true when creating a file in / succeeded.
	RootFSWritable bool `json:"rootfsWritable"`
	// ServiceAccountToken is true when the default token file exists.
	ServiceAccountToken bool                `json:"serviceAccountToken"`
	Files               map[string]FileInfo `json:"files"`
	// Env maps each requested variable to whether it is set; values are never reported.
	Env map[string]bool `json:"env"`
}

// FileInfo describes one requested file after following symlinks (Secret volumes use them).
type FileInfo struct {
	Exists   bool   `json:"exists"`
	Mode     string `json:"mode,omitempty"` // permission bits in octal, e.g. "0400"
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Readable bool   `json:"readable"`
	Size     int64  `json:"size"`
	Error    string `json:"error,omitempty"`
}

// Collect builds the report for the calling process.
func Collect(files, envs []string) Report {
	r := Report{UID: os.Getuid(), GID: os.Getgid(), Status: map[string]string{},
		Files: map[string]FileInfo{}, Env: map[string]bool{}}
	r.Groups, _ = os.Getgroups()
	if f, err := os.Open("/proc/self/status"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			k, v, ok := strings.Cut(s.Text(), ":")
			switch k {
			case "CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp":
				if ok {
					r.Status[k] = strings.TrimSpace(v)
				}
			}
		}
		f.Close()
	}
	if f, err := os.CreateTemp("/", ".probe-"); err == nil {
		r.RootFSWritable = true
		f.Close()
		os.Remove(f.Name())
	}
	_, err := os.Stat(ServiceAccountTokenPath)
	r.ServiceAccountToken = err == nil
	for _, p := range files {
		r.Files[p] = describe(p)
	}
	for _, e := range envs {
		_, r.Env[e] = os.LookupEnv(e)
	}
	return r
}

func describe(p string) FileInfo {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return FileInfo{Error: err.Error()}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(real, &st); err != nil {
		return FileInfo{Error: err.Error()}
	}
	fi := FileInfo{Exists: true, Mode: fmt.Sprintf("%04o", st.Mode&0o7777), UID: int(st.Uid), GID: int(st.Gid), Size: st.Size}
	if f, err := os.Open(real); err == nil {
		fi.Readable = true
		f.Close()
	} else {
		fi.Error = err.Error()
	}
	return fi
}

// Parse finds the report in a container log: the last line that decodes as a Report.
func Parse(log []byte) (Report, error) {
	lines := bytes.Split(bytes.TrimSpace(log), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var r Report
		if err := json.Unmarshal(lines[i], &r); err == nil && r.Status != nil {
			return r, nil
		}
	}
	return Report{}, errors.New("no probe report in the log")
}

// AgentBinaryName is the file Install writes, the name the operator's default command runs
// (/tools/opencode).
const AgentBinaryName = "opencode"

// Install copies the running executable to dir/opencode with mode 0555, as an agent image's init
// container copies the agent binary into the shared tools volume.
func Install(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating myself: %w", err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return fmt.Errorf("reading %s: %w", self, err)
	}
	dst := filepath.Join(dir, AgentBinaryName)
	if err := os.WriteFile(dst, b, 0o555); err != nil {
		return fmt.Errorf("installing %s: %w", dst, err)
	}
	return os.Chmod(dst, 0o555)
}
