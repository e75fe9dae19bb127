// Command mkimage builds a single-layer linux/amd64 container image from local files, offline,
// and writes it as a docker-archive tarball that `ctr images import` loads. Nothing is pulled or
// pushed: the base is empty, so the image holds exactly the files named on the command line plus
// /etc/passwd, /etc/group and an empty /tmp.
//
//	mkimage -tag example.local/probe:v1 -out probe.tar -entrypoint /probe ./probe:/probe
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch keeps layers byte-identical across builds of the same files.
var epoch = time.Unix(0, 0)

func main() {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	tag := fs.String("tag", "", "image reference to record in the tarball (required)")
	out := fs.String("out", "", "output tarball path (required)")
	entrypoint := fs.String("entrypoint", "", "comma-separated entrypoint, e.g. /probe,pause (required)")
	user := fs.String("user", "65532:65532", "numeric uid:gid the image runs as by default")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mkimage -tag REF -out FILE -entrypoint CMD[,ARG...] SRC:DST...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *tag == "" || *out == "" || *entrypoint == "" || fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	if err := run(*tag, *out, strings.Split(*entrypoint, ","), *user, fs.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(tag, out string, entrypoint []string, user string, files []string) error {
	layer, err := buildLayer(files)
	if err != nil {
		return err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer)), nil
	})
	if err != nil {
		return fmt.Errorf("creating layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return fmt.Errorf("appending layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{Entrypoint: entrypoint, WorkingDir: "/", User: user, Env: []string{"PATH=/"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return fmt.Errorf("setting config: %w", err)
	}
	ref, err := name.ParseReference(tag)
	if err != nil {
		return fmt.Errorf("parsing -tag: %w", err)
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// buildLayer writes a tar with the base files and each SRC:DST pair as an executable file.
func buildLayer(files []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(n string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch})
	}
	file := func(n string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := errors.Join(
		dir("etc/", 0o755), dir("tmp/", 0o1777),
		file("etc/passwd", 0o644, []byte("root:x:0:0:root:/:/nonexistent\nnonroot:x:65532:65532:nonroot:/home/nonroot:/nonexistent\n")),
		file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")),
	); err != nil {
		return nil, fmt.Errorf("writing base files: %w", err)
	}
	for _, a := range files {
		src, dst, ok := strings.Cut(a, ":")
		if !ok || !path.IsAbs(dst) || path.Clean(dst) != dst {
			return nil, fmt.Errorf("file %q: want SRC:/clean/absolute/DST", a)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("file %q: %w", a, err)
		}
		if err := file(strings.TrimPrefix(dst, "/"), 0o755, b); err != nil {
			return nil, fmt.Errorf("file %q: %w", a, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing layer: %w", err)
	}
	return buf.Bytes(), nil
}
