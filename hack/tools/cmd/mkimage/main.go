// Command mkimage builds a container image from local files, offline, and writes it as a
// docker-archive tarball that `ctr images import`, `docker load`, `crane push` and
// `skopeo copy docker-archive:` accept. Nothing is pulled or pushed: the base is empty, so the
// image holds exactly
//
//   - one layer per -layer DIR, in order: the tree under DIR (e.g. Debian packages unpacked with
//     dpkg-deb -x), owned by root, symbolic links kept, set-user-ID and set-group-ID bits dropped;
//   - a last layer with /etc/passwd, /etc/group (root and the non-root user 65532), an empty /tmp,
//     and each SRC:DST file, executable.
//
// Every timestamp is the Unix epoch and entries are sorted, so the same inputs give the same
// image digest.
//
//	mkimage -tag example.local/probe:v1 -out probe.tar -entrypoint /probe ./probe:/probe
//	mkimage -tag example.local/executor:v1 -out executor.tar -arch amd64 -layer rootfs \
//	  -env PATH=/usr/local/bin:/usr/bin:/bin -workdir /workspace -entrypoint /bin/bash
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
	arch := fs.String("arch", "amd64", "architecture recorded in the image config (amd64, arm64)")
	workdir := fs.String("workdir", "/", "working directory of the image config")
	var layers, env multi
	fs.Var(&layers, "layer", "directory whose tree becomes one layer (repeatable, in order)")
	fs.Var(&env, "env", "K=V environment variable of the image config (repeatable; default PATH=/)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mkimage -tag REF -out FILE -entrypoint CMD[,ARG...] SRC:DST...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *tag == "" || *out == "" || *entrypoint == "" || (fs.NArg() == 0 && len(layers) == 0) {
		fs.Usage()
		os.Exit(2)
	}
	if len(env) == 0 {
		env = multi{"PATH=/"}
	}
	cfg := v1.Config{Entrypoint: strings.Split(*entrypoint, ","), WorkingDir: *workdir, User: *user, Env: env}
	if err := run(*tag, *out, *arch, cfg, layers, fs.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func run(tag, out, arch string, config v1.Config, dirs, files []string) error {
	if arch != "amd64" && arch != "arm64" {
		return fmt.Errorf("-arch %q: want amd64 or arm64", arch)
	}
	tmp, err := os.MkdirTemp("", "mkimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var ls []v1.Layer
	for i, d := range dirs {
		// Layers of unpacked packages can be hundreds of MB: spooled to disk, not memory.
		f := filepath.Join(tmp, fmt.Sprintf("layer-%d.tar", i))
		if err := writeDirLayer(d, f); err != nil {
			return fmt.Errorf("-layer %s: %w", d, err)
		}
		l, err := tarball.LayerFromFile(f)
		if err != nil {
			return fmt.Errorf("-layer %s: %w", d, err)
		}
		ls = append(ls, l)
	}
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
	img, err := mutate.AppendLayers(empty.Image, append(ls, l)...)
	if err != nil {
		return fmt.Errorf("appending layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = config
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

// writeDirLayer writes the tree under dir as a tar file at out: directories, regular files and
// symbolic links, in lexical order, owned by root, with the epoch as time and without
// set-user-ID, set-group-ID or sticky bits (except on directories, where sticky is kept). Any
// other file type (device, socket, FIFO) is an error.
func writeDirLayer(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: epoch, Format: tar.FormatPAX}
		perm := int64(info.Mode().Perm())
		switch m := info.Mode(); {
		case m.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
			h.Mode = perm
			if m&fs.ModeSticky != 0 {
				h.Mode |= 0o1000
			}
		case m.IsRegular():
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, perm, info.Size()
		case m&fs.ModeSymlink != 0:
			if h.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
			h.Typeflag, h.Mode = tar.TypeSymlink, 0o777
		default:
			return fmt.Errorf("%s: unsupported file type %s", p, m.Type())
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
