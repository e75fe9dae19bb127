package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeELF is a 64-bit little-endian ELF executable header for machine with one program header,
// PT_INTERP naming interp when it is not empty: what readELF reads of a real program.
func fakeELF(t *testing.T, machine elf.Machine, interp string) []byte {
	t.Helper()
	return fakeELFAt(t, machine, interp, 0)
}

// fakeELFAt puts the interpreter's name pad bytes after the program header.
func fakeELFAt(t *testing.T, machine elf.Machine, interp string, pad int) []byte {
	t.Helper()
	var b bytes.Buffer
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: 1, Phoff: 64, Ehsize: 64, Phentsize: 56}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	var progs []elf.Prog64
	if interp != "" {
		h.Phnum = 1
		progs = append(progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: uint64(64 + 56 + pad), Filesz: uint64(len(interp) + 1)})
	}
	if err := binary.Write(&b, binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if err := binary.Write(&b, binary.LittleEndian, p); err != nil {
			t.Fatal(err)
		}
	}
	if interp != "" {
		b.Write(make([]byte, pad))
		b.WriteString(interp + "\x00")
	}
	b.WriteString("code")
	return b.Bytes()
}

// file is one tar entry of a test layer.
type file struct {
	name string
	typ  byte
	mode int64
	body []byte
	link string
}

func reg(name string, mode int64, body []byte) file { return file{name, tar.TypeReg, mode, body, ""} }
func dir(name string) file                          { return file{name + "/", tar.TypeDir, 0o755, nil, ""} }
func sym(name, target string) file                  { return file{name, tar.TypeSymlink, 0o777, nil, target} }

func layer(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Size: int64(len(f.body)), Linkname: f.link}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// image writes an image of the layers as a docker-archive tarball, as mkimage does, and returns
// its path.
func image(t *testing.T, arch, user string, entrypoint []string, layers ...v1.Layer) string {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config = v1.Config{User: user, Entrypoint: entrypoint}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(out, name.MustParseReference("example.local/test:v1"), img); err != nil {
		t.Fatal(err)
	}
	return out
}

const nonroot = "65532:65532"

func TestCheck(t *testing.T) {
	arm := func(interp string) []byte { return fakeELF(t, elf.EM_AARCH64, interp) }
	ld := "/lib/ld-linux-aarch64.so.1"
	// A small arm64 system as Debian's packages lay it out: a dynamically linked shell, the
	// dynamic linker behind a symbolic link, /bin a directory.
	base := []file{
		dir("bin"), reg("bin/sh", 0o755, arm(ld)), dir("lib"), dir("lib/aarch64-linux-gnu"),
		reg("lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", 0o755, arm("")),
		sym("lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu/ld-linux-aarch64.so.1"),
		reg("etc-passwd", 0o644, []byte("root:x:0:0::/:/nonexistent\n")),
	}
	with := func(extra ...file) v1.Layer { return layer(t, append(append([]file{}, base...), extra...)...) }
	sh := []string{"/bin/sh", "-c"}
	tests := []struct {
		name   string
		images []string // checked together
		want   [][]string
	}{{
		name:   "a correct arm64 image",
		images: []string{image(t, "arm64", nonroot, sh, with())},
		want:   [][]string{nil},
	}, {
		name: "the entrypoint through a directory link (merged /usr)",
		images: []string{image(t, "arm64", nonroot, []string{"/sbin/sh"}, with(
			dir("usr"), dir("usr/bin"), reg("usr/bin/sh", 0o755, arm(ld)), sym("sbin", "usr/bin")))},
		want: [][]string{nil},
	}, {
		// mkimage writes usr/local/bin/kubeopencode without entries for its directories.
		name:   "an entrypoint whose directories no entry names",
		images: []string{image(t, "arm64", nonroot, []string{"/usr/local/bin/tool"}, layer(t, reg("usr/local/bin/tool", 0o755, arm(""))))},
		want:   [][]string{nil},
	}, {
		// glibc's libc.so.6 is executable, and its interpreter's name sits far into the file.
		name:   "an interpreter named far into the file",
		images: []string{image(t, "arm64", nonroot, sh, with(reg("lib/libc.so.6", 0o755, fakeELFAt(t, elf.EM_AARCH64, "/lib/ld-gone.so", 2*headLen))))},
		want:   [][]string{{"program interpreter /lib/ld-gone.so is an ELF file of no image checked"}},
	}, {
		name:   "an x86-64 program in an arm64 image",
		images: []string{image(t, "arm64", nonroot, sh, with(reg("bin/stray", 0o755, fakeELF(t, elf.EM_X86_64, ""))))},
		want:   [][]string{{"bin/stray: ELF for EM_X86_64, want EM_AARCH64 (arm64)"}},
	}, {
		name:   "a 32-bit ELF file",
		images: []string{image(t, "arm64", nonroot, sh, with(reg("bin/old", 0o755, append([]byte("\x7fELF\x01\x01\x01"), make([]byte, 64)...))))},
		want:   [][]string{{"bin/old: ELF class ELFCLASS32, want ELFCLASS64"}},
	}, {
		name:   "set-user-ID and set-group-ID files",
		images: []string{image(t, "arm64", nonroot, sh, with(reg("bin/su", 0o4755, arm(ld)), reg("bin/wall", 0o2755, []byte("#!/bin/sh\n"))))},
		want: [][]string{{
			"bin/su: mode 04755 has the set-user-ID or set-group-ID bit",
			"bin/wall: mode 02755 has the set-user-ID or set-group-ID bit",
		}},
	}, {
		name: "a set-user-ID file a later layer deletes is gone",
		images: []string{image(t, "arm64", nonroot, sh, with(reg("bin/su", 0o4755, arm(ld))),
			layer(t, file{"bin/.wh.su", tar.TypeReg, 0o644, nil, ""}))},
		want: [][]string{nil},
	}, {
		name:   "config for another architecture, running as root",
		images: []string{image(t, "amd64", "", sh, with())},
		want:   [][]string{{`config platform linux/amd64, want linux/arm64`, `config user "", want "65532:65532"`}},
	}, {
		name:   "a missing, a non-executable and a dangling entrypoint",
		images: []string{image(t, "arm64", nonroot, []string{"/bin/bash"}, with()), image(t, "arm64", nonroot, []string{"/etc-passwd"}, with()), image(t, "arm64", nonroot, []string{"/bin/loop"}, with(sym("bin/loop", "loop")))},
		want: [][]string{
			{"entrypoint /bin/bash: /bin/bash does not exist"},
			{"entrypoint /etc-passwd: mode 0644 is not executable"},
			{"entrypoint /bin/loop: too many links at /bin/loop"},
		},
	}, {
		name:   "an interpreter no image has",
		images: []string{image(t, "arm64", nonroot, sh, with(reg("bin/musl", 0o755, arm("/lib/ld-musl-aarch64.so.1"))))},
		want:   [][]string{{"program interpreter /lib/ld-musl-aarch64.so.1 is an ELF file of no image checked"}},
	}, {
		// The agent image's OpenCode runs in the executor image, which has its interpreter.
		name: "an interpreter in another image checked together",
		images: []string{
			image(t, "arm64", nonroot, []string{"/install"}, layer(t, reg("install", 0o755, arm("")), reg("opencode", 0o555, arm(ld)))),
			image(t, "arm64", nonroot, sh, with()),
		},
		want: [][]string{nil, nil},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reports, err := checkFiles("arm64", nonroot, tc.images)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, r := range reports {
				got = append(got, r.Problems)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestCheckTheOtherArchitecture: the same arm64 image checked as amd64 is wrong everywhere.
func TestCheckTheOtherArchitecture(t *testing.T) {
	img := image(t, "arm64", nonroot, []string{"/sh"}, layer(t, reg("sh", 0o755, fakeELF(t, elf.EM_AARCH64, ""))))
	reports, err := checkFiles("amd64", nonroot, []string{img})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"config platform linux/arm64, want linux/amd64", "sh: ELF for EM_AARCH64, want EM_X86_64 (amd64)"}
	if d := cmp.Diff(want, reports[0].Problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if _, err := checkFiles("riscv64", nonroot, []string{img}); err == nil {
		t.Error("-arch riscv64: want an error")
	}
}

func TestSummary(t *testing.T) {
	img := image(t, "arm64", nonroot, []string{"/sh"}, layer(t,
		reg("sh", 0o755, fakeELF(t, elf.EM_AARCH64, "/ld.so")), reg("ld.so", 0o755, fakeELF(t, elf.EM_AARCH64, "")), reg("README", 0o644, []byte("hi"))))
	reports, err := checkFiles("arm64", nonroot, []string{img})
	if err != nil {
		t.Fatal(err)
	}
	want := img + ": linux/arm64, user 65532:65532, 3 files, 2 ELF, interpreters /ld.so: ok"
	if got := reports[0].Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// TestReadELFOfARealProgram: the test binary itself, written by the Go linker, is an ELF file
// for the architecture it runs on.
func TestReadELFOfARealProgram(t *testing.T) {
	want, ok := machines[runtime.GOARCH]
	if !ok || runtime.GOOS != "linux" {
		t.Skipf("%s/%s: not an architecture the images are built for", runtime.GOOS, runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := readELF(f)
	if err != nil {
		t.Fatal(err)
	}
	if info.machine != want {
		t.Errorf("machine %v, want %v", info.machine, want)
	}
	if _, err := readELF(bytes.NewReader([]byte("#!/bin/sh\n"))); err != errNotELF {
		t.Errorf("a script: err %v, want errNotELF", err)
	}
}
