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
