// Command imagecheck checks docker-archive tarballs (what mkimage and `make image` write) for the
// promises docs/images.md makes, without running anything in them, so an image for another
// architecture is checked on this machine:
//
//   - the config says linux/ARCH and the default user (-user, 65532:65532);
//   - every ELF file in the flattened filesystem is a 64-bit ELF for ARCH (x86-64 or AArch64);
//   - no regular file has the set-user-ID or set-group-ID bit;
//   - the entrypoint resolves (following symbolic links inside the image) to an executable file;
//   - every program interpreter an ELF file names (PT_INTERP, e.g. /lib/ld-linux-aarch64.so.1)
//     resolves to an ELF file of ARCH in one of the images checked together. Together, because
//     the agent image's OpenCode binary runs in the executor image (see hack/images/build.sh).
//
// Usage, on what `ARCH=arm64 make image` wrote:
//
//	imagecheck -arch arm64 operator.tar agent-opencode.tar executor.tar
//
// It prints one summary line per image and every problem; the exit status is 1 if there is one.
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	fs := flag.NewFlagSet("imagecheck", flag.ContinueOnError)
	arch := fs.String("arch", "amd64", "architecture every image and ELF file must be for (amd64, arm64)")
	user := fs.String("user", "65532:65532", "the user every image must run as by default")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: imagecheck [-arch amd64|arm64] [-user UID:GID] IMAGE.tar...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	reports, err := checkFiles(*arch, *user, fs.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagecheck:", err)
		os.Exit(2)
	}
	failed := false
	for _, r := range reports {
		fmt.Println(r.Summary())
		for _, p := range r.Problems {
			fmt.Printf("  PROBLEM: %s\n", p)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// machines maps the architectures the project builds for to their ELF machine.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// Report is what checking one image found.
type Report struct {
	Name         string
	Platform     string // os/architecture of the config
	User         string
	Files        int      // regular files
	ELF          int      // of which ELF files
	Interpreters []string // program interpreters the ELF files name, sorted, unique
	Problems     []string
}

// Summary is the one-line description imagecheck prints.
func (r Report) Summary() string {
	interp := "none"
	if len(r.Interpreters) > 0 {
		interp = strings.Join(r.Interpreters, ",")
	}
	verdict := "ok"
	if len(r.Problems) > 0 {
		verdict = fmt.Sprintf("%d problem(s)", len(r.Problems))
	}
	return fmt.Sprintf("%s: %s, user %s, %d files, %d ELF, interpreters %s: %s",
		r.Name, r.Platform, r.User, r.Files, r.ELF, interp, verdict)
}

func checkFiles(arch, user string, files []string) ([]Report, error) {
	imgs := make([]namedImage, 0, len(files))
	for _, f := range files {
		img, err := tarball.ImageFromPath(f, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		imgs = append(imgs, namedImage{f, img})
	}
	return check(arch, user, imgs)
}

type namedImage struct {
	name string
	img  v1.Image
}

// check checks every image, then the program interpreters against all of them.
func check(arch, user string, imgs []namedImage) ([]Report, error) {
	machine, ok := machines[arch]
	if !ok {
		return nil, fmt.Errorf("-arch %q: want amd64 or arm64", arch)
	}
	reports := make([]Report, len(imgs))
	trees := make([]tree, len(imgs))
	for i, ni := range imgs {
		r, t, err := checkImage(ni, arch, machine, user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ni.name, err)
		}
		reports[i], trees[i] = r, t
	}
	for i := range reports {
		for _, interp := range reports[i].Interpreters {
			var found []string
			for j, t := range trees {
				if e, err := t.resolve(interp); err == nil && e.elf {
					found = append(found, imgs[j].name)
				}
			}
			if len(found) == 0 {
				reports[i].Problems = append(reports[i].Problems,
					fmt.Sprintf("program interpreter %s is an ELF file of no image checked", interp))
			}
		}
	}
	return reports, nil
}

// entry is what the checks need to know about one path of the flattened filesystem.
type entry struct {
	typ  byte
	mode int64
	link string // symbolic link target
	elf  bool
}

type tree map[string]entry

func checkImage(ni namedImage, arch string, machine elf.Machine, user string) (Report, tree, error) {
	r := Report{Name: ni.name}
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	cf, err := ni.img.ConfigFile()
	if err != nil {
		return r, nil, fmt.Errorf("reading config: %w", err)
	}
	r.Platform, r.User = cf.OS+"/"+cf.Architecture, cf.Config.User
	if want := "linux/" + arch; r.Platform != want {
		problem("config platform %s, want %s", r.Platform, want)
	}
	if r.User != user {
		problem("config user %q, want %q", r.User, user)
	}

	t := tree{}
	interps := map[string]bool{}
	rc := mutate.Extract(ni.img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, nil, fmt.Errorf("reading the flattened filesystem: %w", err)
		}
		p := clean(h.Name)
		e := entry{typ: h.Typeflag, mode: h.Mode, link: h.Linkname}
		switch h.Typeflag {
		case tar.TypeReg:
			r.Files++
			if h.Mode&(0o4000|0o2000) != 0 {
				problem("%s: mode %#o has the set-user-ID or set-group-ID bit", p, h.Mode)
			}
			info, err := readELF(tr)
			switch {
			case errors.Is(err, errNotELF):
			case err != nil:
				problem("%s: %v", p, err)
			default:
				r.ELF++
				e.elf = info.machine == machine
				if !e.elf {
					problem("%s: ELF for %v, want %v (%s)", p, info.machine, machine, arch)
				}
				if info.interp != "" {
					interps[info.interp] = true
				}
			}
		case tar.TypeLink:
			// A hard link shares its target's content: look it up when resolving.
			e.link = "/" + clean(h.Linkname)
		}
		t[p] = e
		// Runtimes create the directories of a path no entry names (mkimage writes
		// usr/local/bin/kubeopencode alone).
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := t[d]; !ok {
				t[d] = entry{typ: tar.TypeDir, mode: 0o755}
			}
		}
	}
	for i := range interps {
		r.Interpreters = append(r.Interpreters, i)
	}
	sort.Strings(r.Interpreters)

	if len(cf.Config.Entrypoint) == 0 {
		problem("no entrypoint")
	} else if ep := cf.Config.Entrypoint[0]; !path.IsAbs(ep) {
		problem("entrypoint %q is not an absolute path", ep)
	} else if e, err := t.resolve(ep); err != nil {
		problem("entrypoint %s: %v", ep, err)
	} else if e.mode&0o111 == 0 {
		problem("entrypoint %s: mode %#o is not executable", ep, e.mode)
	}
	return r, t, nil
}

// clean turns a tar name ("./usr/bin/", "usr/bin") into the tree's key ("usr/bin").
func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// resolve follows symbolic links (of the path and of its directories) and hard links inside the
// image, as the kernel would with the image as root, and returns the regular file at the end.
func (t tree) resolve(p string) (entry, error) {
	todo := strings.Split(clean(p), "/")
	var done []string
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := strings.Join(append(slices.Clone(done), c), "/")
		e, ok := t[cur]
		if !ok {
			return entry{}, fmt.Errorf("/%s does not exist", cur)
		}
		if e.typ == tar.TypeSymlink || e.typ == tar.TypeLink {
			if hops++; hops > 40 {
				return entry{}, fmt.Errorf("too many links at /%s", cur)
			}
			target := strings.Split(e.link, "/")
			if path.IsAbs(e.link) {
				done = nil
			}
			todo = append(target, todo...)
			continue
		}
		done = append(done, c)
		if len(todo) == 0 {
			if e.typ != tar.TypeReg {
				return entry{}, fmt.Errorf("/%s is not a regular file", cur)
			}
			return e, nil
		}
		if e.typ != tar.TypeDir {
			return entry{}, fmt.Errorf("/%s is not a directory", cur)
		}
	}
	return entry{}, fmt.Errorf("%s names a directory", p)
}

var errNotELF = errors.New("not an ELF file")

type elfInfo struct {
	machine elf.Machine
	interp  string
}

// headLen is how much of a file readELF reads first: the ELF header and the program headers sit
// at the start of every file the toolchains write, and so does the interpreter's name in programs.
const headLen = 64 << 10

// readELF reads the ELF header and the PT_INTERP segment from the start of a file. It does not
// use debug/elf.NewFile, which needs the whole file (section headers are at the end) and the
// files are streamed out of layers (OpenCode's is 185 MB).
func readELF(r io.Reader) (elfInfo, error) {
	head := make([]byte, headLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return elfInfo{}, err
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		return elfInfo{}, errNotELF
	}
	if len(head) < 64 {
		return elfInfo{}, errors.New("truncated ELF header")
	}
	if elf.Class(head[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return elfInfo{}, fmt.Errorf("ELF class %v, want %v", elf.Class(head[elf.EI_CLASS]), elf.ELFCLASS64)
	}
	var bo binary.ByteOrder
	switch elf.Data(head[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return elfInfo{}, fmt.Errorf("ELF data encoding %v", elf.Data(head[elf.EI_DATA]))
	}
	var h elf.Header64
	if err := binary.Read(bytes.NewReader(head), bo, &h); err != nil {
		return elfInfo{}, err
	}
	info := elfInfo{machine: elf.Machine(h.Machine)}
	for i := range uint64(h.Phnum) {
		off := h.Phoff + i*uint64(h.Phentsize)
		if h.Phentsize < 56 || off+56 > uint64(len(head)) {
			break // no (or far) program headers: a relocatable file or library with no interpreter
		}
		var ph elf.Prog64
		if err := binary.Read(bytes.NewReader(head[off:off+56]), bo, &ph); err != nil {
			return elfInfo{}, err
		}
		if elf.ProgType(ph.Type) != elf.PT_INTERP {
			continue
		}
		if ph.Filesz == 0 || ph.Filesz > 4096 {
			return elfInfo{}, fmt.Errorf("PT_INTERP of %d bytes", ph.Filesz)
		}
		name := make([]byte, ph.Filesz)
		if end := ph.Off + ph.Filesz; end <= uint64(len(head)) {
			copy(name, head[ph.Off:end])
		} else if ph.Off < uint64(len(head)) {
			return elfInfo{}, errors.New("PT_INTERP crosses the first bytes read")
		} else {
			// Far into the file (glibc's libc.so.6 is executable and has one): read on to it.
			if _, err := io.CopyN(io.Discard, r, int64(ph.Off)-int64(len(head))); err != nil {
				return elfInfo{}, fmt.Errorf("PT_INTERP at %d: %w", ph.Off, err)
			}
			if _, err := io.ReadFull(r, name); err != nil {
				return elfInfo{}, fmt.Errorf("PT_INTERP at %d: %w", ph.Off, err)
			}
		}
		info.interp = strings.TrimRight(string(name), "\x00")
		break
	}
	return info, nil
}
