package stage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// secretVolume lays out dir the way the kubelet's atomic writer does: the payload in a
// timestamped directory, ..data pointing at it, and one relative symlink per key.
func secretVolume(t *testing.T, dir string, data map[string]string) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_01_02_03_04_05.000000001")
	if err := os.MkdirAll(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(ts, k), []byte(v), 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(dir, k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

type fixture struct{ src, dst string }

func newFixture(t *testing.T) fixture {
	t.Helper()
	root := t.TempDir()
	f := fixture{src: filepath.Join(root, "secrets"), dst: filepath.Join(root, "staged")}
	for _, d := range []string{f.src, f.dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secretVolume(t, filepath.Join(f.src, "vol-ssh"), map[string]string{"id_ed25519": "PRIVATE", "known_hosts": "HOSTS"})
	secretVolume(t, filepath.Join(f.src, "vol-gh"), map[string]string{"hosts.yml": "GH", ".npmrc": "NPM"})
	return f
}

func (f fixture) manifest(items ...Item) Manifest {
	return Manifest{UID: os.Getuid(), Source: f.src, Dest: f.dst, Items: items}
}

// withUmask runs fn under a umask and restores the previous one; the umask is process-wide, so
// tests that use it do not run in parallel.
func withUmask(mask int, fn func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	fn()
}

type fileState struct {
	Mode    fs.FileMode
	UID     int
	Content string
}

func state(t *testing.T, p string) fileState {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	s := fileState{Mode: st.Mode(), UID: int(st.Sys().(*syscall.Stat_t).Uid)}
	if st.Mode().IsRegular() {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s.Content = string(b)
	}
	return s
}

func TestRunExactModesWhateverTheUmask(t *testing.T) {
	for _, umask := range []int{0o000, 0o022, 0o077, 0o777} {
		for _, mode := range []uint32{0o400, 0o600, 0o440, 0o644, 0o000, 0o755} {
			f := newFixture(t)
			m := f.manifest(
				Item{Volume: "vol-ssh", Key: "id_ed25519", Dir: "ssh", Mode: mode},
				Item{Volume: "vol-gh", Dir: "gh", Mode: mode},
			)
			var err error
			withUmask(umask, func() { err = Run(m) })
			if err != nil {
				t.Fatalf("umask %#o mode %#o: %v", umask, mode, err)
			}
			uid := os.Getuid()
			want := map[string]fileState{
				"ssh":            {Mode: fs.ModeDir | 0o500, UID: uid},
				"ssh/id_ed25519": {Mode: fs.FileMode(mode), UID: uid, Content: "PRIVATE"},
				"gh":             {Mode: fs.ModeDir | 0o500, UID: uid},
				"gh/.npmrc":      {Mode: fs.FileMode(mode), UID: uid, Content: "NPM"},
				"gh/hosts.yml":   {Mode: fs.FileMode(mode), UID: uid, Content: "GH"},
			}
			got := map[string]fileState{}
			err = filepath.WalkDir(f.dst, func(p string, d fs.DirEntry, err error) error {
				if err != nil || p == f.dst {
					return err
				}
				rel, _ := filepath.Rel(f.dst, p)
				got[rel] = state(t, p)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("umask %#o mode %#o: staged tree (-want +got):\n%s", umask, mode, diff)
			}
		}
	}
}

func TestRunRefuses(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, f fixture, m *Manifest)
		want    string // substring of the error
	}{
		{"symlink escaping the volume", func(t *testing.T, f fixture, m *Manifest) {
			if err := os.WriteFile(filepath.Join(f.src, "outside"), []byte("NOT A SECRET OF THIS VOLUME"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../outside", filepath.Join(f.src, "vol-ssh", "evil")); err != nil {
				t.Fatal(err)
			}
			m.Items[0].Key = "evil"
		}, "path escapes from parent"},
		{"absolute symlink", func(t *testing.T, f fixture, m *Manifest) {
			if err := os.Symlink("/etc/passwd", filepath.Join(f.src, "vol-ssh", "abs")); err != nil {
				t.Fatal(err)
			}
			m.Items[0].Key = "abs"
		}, "path escapes from parent"},
		{"escaping symlink in a whole-volume copy", func(t *testing.T, f fixture, m *Manifest) {
			if err := os.Symlink("../../..", filepath.Join(f.src, "vol-ssh", "up")); err != nil {
				t.Fatal(err)
			}
			m.Items[0].Key = ""
		}, "path escapes from parent"},
		{"directory as key", func(t *testing.T, f fixture, m *Manifest) {
			if err := os.Mkdir(filepath.Join(f.src, "vol-ssh", "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			m.Items[0].Key = "sub"
		}, "source is not a regular file"},
		{"file too large", func(t *testing.T, f fixture, m *Manifest) {
			big := filepath.Join(f.src, "vol-ssh", "big")
			if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o400); err != nil {
				t.Fatal(err)
			}
			m.Items[0].Key = "big"
		}, "source is larger than 1048576 bytes"},
		{"missing key", func(t *testing.T, f fixture, m *Manifest) { m.Items[0].Key = "absent" }, "no such file or directory"},
		{"destination exists", func(t *testing.T, f fixture, m *Manifest) {
			if err := os.Mkdir(filepath.Join(f.dst, "ssh"), 0o777); err != nil {
				t.Fatal(err)
			}
		}, "file exists"},
		{"destination is a symlink", func(t *testing.T, f fixture, m *Manifest) {
			if err := os.Symlink("/tmp", filepath.Join(f.dst, "ssh")); err != nil {
				t.Fatal(err)
			}
		}, "file exists"},
		{"wrong uid", func(t *testing.T, f fixture, m *Manifest) { m.UID = os.Getuid() + 1 }, "the manifest requires UID"},
		{"traversal in dir", func(t *testing.T, f fixture, m *Manifest) { m.Items[0].Dir = "../escape" }, `items[0].dir: "../escape" must not start with ".."`},
		{"traversal in key", func(t *testing.T, f fixture, m *Manifest) { m.Items[0].Key = "a/../../b" }, `items[0].key: "a/../../b" must be a single path element`},
		{"traversal in volume", func(t *testing.T, f fixture, m *Manifest) { m.Items[0].Volume = ".." }, `items[0].volume: ".." must not start with ".."`},
		{"group-writable mode", func(t *testing.T, f fixture, m *Manifest) { m.Items[0].Mode = 0o620 }, "items[0].mode: 0620 is not a permission"},
		{"setuid mode", func(t *testing.T, f fixture, m *Manifest) { m.Items[0].Mode = 0o4500 }, "items[0].mode: 04500 is not a permission"},
		{"duplicate dir", func(t *testing.T, f fixture, m *Manifest) {
			m.Items = append(m.Items, Item{Volume: "vol-gh", Dir: "ssh", Mode: 0o400})
		}, `items[1].dir: "ssh" is used by two items`},
		{"overlapping roots", func(t *testing.T, f fixture, m *Manifest) { m.Dest = filepath.Join(m.Source, "x") }, "overlap"},
		{"relative source", func(t *testing.T, f fixture, m *Manifest) { m.Source = "secrets" }, `source: "secrets" is not a clean absolute directory`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.manifest(Item{Volume: "vol-ssh", Key: "id_ed25519", Dir: "ssh", Mode: 0o400})
			tc.prepare(t, f, &m)
			err := Run(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run() = %v, want an error containing %q", err, tc.want)
			}
			for _, secret := range []string{"PRIVATE", "HOSTS", "NOT A SECRET"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error discloses file content: %v", err)
				}
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(`{"uid":65532,"source":"/s","dest":"/d","items":[{"volume":"v","key":"k","dir":"d","mode":256}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Manifest{UID: 65532, Source: "/s", Dest: "/d", Items: []Item{{Volume: "v", Key: "k", Dir: "d", Mode: 0o400}}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	s, err := m.Marshal()
	if err != nil || s != `{"uid":65532,"source":"/s","dest":"/d","items":[{"volume":"v","key":"k","dir":"d","mode":256}]}` {
		t.Errorf("Marshal() = %s, %v", s, err)
	}
	for _, bad := range []string{
		`{"uid":1,"source":"/s","dest":"/d","items":[{"volume":"v","dir":"d","mode":256,"data":"x"}]}`,
		`{"uid":1,"source":"/s","dest":"/d","items":[]}`,
		`{"uid":1,"source":"/s","dest":"/d","items":[{"volume":"v","dir":"d","mode":256}]} {}`,
		`not json`,
	} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrManifest) {
			t.Errorf("ParseManifest(%s) = %v, want ErrManifest", bad, err)
		}
	}
}

func TestRunFromEnv(t *testing.T) {
	f := newFixture(t)
	raw, err := f.manifest(Item{Volume: "vol-ssh", Key: "known_hosts", Dir: "ssh", Mode: 0o444}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{ManifestEnv: raw}
	if err := RunFromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if got := state(t, filepath.Join(f.dst, "ssh", "known_hosts")); got.Mode != 0o444 || got.Content != "HOSTS" {
		t.Errorf("staged file = %+v", got)
	}
	if err := RunFromEnv(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), ManifestEnv+" is not set") {
		t.Errorf("RunFromEnv without manifest = %v", err)
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"id_rsa", ".npmrc", "..data", "..", ".", "a/b", "", "a\x00b", `a\b`, "...", ". ."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckName(name) != "" {
			return
		}
		// An accepted name is one local element: joined under a directory it stays directly inside it.
		if !filepath.IsLocal(name) || filepath.Base(name) != name || filepath.Join("/d", name) != "/d/"+name ||
			strings.HasPrefix(name, "..") {
			t.Fatalf("CheckName accepted %q", name)
		}
	})
}
