package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildLayer(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(src, []byte("ELF"), 0o600); err != nil {
		t.Fatal(err)
	}
	layer, err := buildLayer([]string{src + ":/probe"})
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name string
		Mode int64
	}
	var got []entry
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{h.Name, h.Mode})
	}
	want := []entry{{"etc/", 0o755}, {"tmp/", 0o1777}, {"etc/passwd", 0o644}, {"etc/group", 0o644}, {"probe", 0o755}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("layer entries (-want +got):\n%s", d)
	}
	again, err := buildLayer([]string{src + ":/probe"})
	if err != nil || !bytes.Equal(layer, again) {
		t.Errorf("buildLayer is not deterministic (err=%v)", err)
	}
}

func TestBuildLayerRefusesBadDestinations(t *testing.T) {
	for _, arg := range []string{"a", "a:relative", "a:/x/../y", "a:/x/"} {
		if _, err := buildLayer([]string{arg}); err == nil {
			t.Errorf("buildLayer(%q): want an error", arg)
		}
	}
}

// TestWriteDirLayer: a tree with a set-user-ID file, a symbolic link and a sticky directory
// becomes a root-owned, sorted layer without the set-user-ID bit, and the same tree gives the same
// bytes.
func TestWriteDirLayer(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"usr/bin", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/bin/su"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "usr/bin/su"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "l.tar")
	if err := writeDirLayer(dir, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name, Link string
		Mode       int64
		UID, GID   int
	}
	var got []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{h.Name, h.Linkname, h.Mode, h.Uid, h.Gid})
	}
	want := []entry{
		{Name: "bin", Link: "usr/bin", Mode: 0o777},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "usr/", Mode: 0o755},
		{Name: "usr/bin/", Mode: 0o755},
		{Name: "usr/bin/su", Mode: 0o755},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("layer entries (-want +got):\n%s", d)
	}
	again := filepath.Join(t.TempDir(), "l.tar")
	if err := writeDirLayer(dir, again); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(again); !bytes.Equal(b, b2) {
		t.Error("writeDirLayer is not deterministic")
	}
}
