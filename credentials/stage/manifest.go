package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kubeopencode/kubeopencode/api/contract"
)

// ManifestEnv is the environment variable through which the staging container receives its
// Manifest as JSON.
const ManifestEnv = "KUBEOPENCODE_STAGE_MANIFEST"

// MaxFileSize is the largest file Run copies: a Secret holds at most 1 MiB.
const MaxFileSize = 1 << 20

// Manifest says what to stage. It contains paths and modes only.
type Manifest struct {
	// UID the staging process must run as: the agent's UID, which will own the copies.
	UID int `json:"uid"`
	// Source is the directory holding one sub-directory per mounted Secret volume.
	Source string `json:"source"`
	// Dest is the memory-backed emptyDir that receives one directory per Item.
	Dest  string `json:"dest"`
	Items []Item `json:"items"`
}

// Item copies one key of a Secret volume, or all of its keys, into a new directory under Dest.
type Item struct {
	// Volume is the Secret volume's directory under Source (a single path element).
	Volume string `json:"volume"`
	// Key is the file to copy (it keeps its name); empty copies every key of the volume.
	Key string `json:"key,omitempty"`
	// Dir is the directory created under Dest (a single path element), unique per Item.
	Dir string `json:"dir"`
	// Mode is the exact permission of every copied file: at most 0777, without group or other
	// write bits.
	Mode uint32 `json:"mode"`
}

// ErrManifest is wrapped by every error about an invalid manifest.
var ErrManifest = errors.New("invalid staging manifest")

// ParseManifest decodes a JSON manifest strictly (unknown fields are an error) and validates it.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%w: trailing data after the JSON object", ErrManifest)
	}
	return m, m.Validate()
}

// Marshal encodes the manifest as JSON; the output is deterministic.
func (m Manifest) Marshal() (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// Validate checks the manifest without touching the file system.
func (m Manifest) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrManifest, field, fmt.Sprintf(format, args...))
	}
	if m.UID < 0 {
		return bad("uid", "%d is negative", m.UID)
	}
	for field, p := range map[string]string{"source": m.Source, "dest": m.Dest} {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return bad(field, "%q is not a clean absolute directory other than /", p)
		}
	}
	if contract.Overlaps(m.Source, m.Dest) {
		return bad("dest", "%q and source %q overlap", m.Dest, m.Source)
	}
	if len(m.Items) == 0 {
		return bad("items", "is empty")
	}
	dirs := make(map[string]bool, len(m.Items))
	for i, it := range m.Items {
		f := fmt.Sprintf("items[%d]", i)
		if why := CheckName(it.Volume); why != "" {
			return bad(f+".volume", "%q %s", it.Volume, why)
		}
		if it.Key != "" {
			if why := CheckName(it.Key); why != "" {
				return bad(f+".key", "%q %s", it.Key, why)
			}
		}
		if why := CheckName(it.Dir); why != "" {
			return bad(f+".dir", "%q %s", it.Dir, why)
		}
		if dirs[it.Dir] {
			return bad(f+".dir", "%q is used by two items", it.Dir)
		}
		dirs[it.Dir] = true
		if it.Mode > 0o777 || it.Mode&0o022 != 0 {
			return bad(f+".mode", "%#o is not a permission without group or other write bits", it.Mode)
		}
	}
	return nil
}

// CheckName returns "" when name is a single, local path element: not empty, at most 253 bytes,
// no "/" or NUL, not starting with ".." (the kubelet's ..data bookkeeping) and not ".".
func CheckName(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case len(name) > 253:
		return "must be at most 253 bytes"
	case name == ".":
		return `must not be "."`
	case strings.HasPrefix(name, ".."):
		return `must not start with ".."`
	case strings.ContainsAny(name, "/\\\x00"):
		return `must be a single path element (no "/", "\" or NUL)`
	}
	return ""
}
