package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestInstall(t *testing.T) {
	src := filepath.Join(t.TempDir(), "opencode")
	content := bytes.Repeat([]byte("ELF"), 100000)
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst, err := install(src, dir)
	if err != nil {
		t.Fatal(err)
	}
	if dst != filepath.Join(dir, "opencode") {
		t.Errorf("installed at %s", dst)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("content differs (err %v)", err)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("mode %v (err %v), want 0555", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the binary", len(entries))
	}
}

func TestInstallMissingSource(t *testing.T) {
	dir := t.TempDir()
	if _, err := install(filepath.Join(dir, "absent"), dir); err == nil {
		t.Error("installing a missing file succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d entries behind", len(entries))
	}
}
