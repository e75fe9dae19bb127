package stage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
)

// Run stages the manifest's files. See the package documentation for its guarantees. It stops at
// the first error; the Pod then fails to start, which is the intended outcome.
func Run(m Manifest) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if uid := os.Getuid(); uid != m.UID {
		return fmt.Errorf("stage: running as UID %d, but the manifest requires UID %d (the agent's): "+
			"the staged files would not be owned by the agent", uid, m.UID)
	}
	src, err := os.OpenRoot(m.Source)
	if err != nil {
		return fmt.Errorf("stage: source: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenRoot(m.Dest)
	if err != nil {
		return fmt.Errorf("stage: dest: %w", err)
	}
	defer dst.Close()
	for i, it := range m.Items {
		if err := stageItem(src, dst, it); err != nil {
			return fmt.Errorf("stage: items[%d] (volume %q, dir %q): %w", i, it.Volume, it.Dir, err)
		}
	}
	return syncDir(dst, ".")
}

// RunFromEnv parses the manifest in the ManifestEnv variable and runs it.
func RunFromEnv(getenv func(string) string) error {
	raw := getenv(ManifestEnv)
	if raw == "" {
		return fmt.Errorf("stage: %s is not set", ManifestEnv)
	}
	m, err := ParseManifest([]byte(raw))
	if err != nil {
		return fmt.Errorf("stage: %s: %w", ManifestEnv, err)
	}
	return Run(m)
}

func stageItem(src, dst *os.Root, it Item) error {
	vol, err := src.OpenRoot(it.Volume)
	if err != nil {
		return err
	}
	defer vol.Close()
	keys := []string{it.Key}
	if it.Key == "" {
		if keys, err = listKeys(vol); err != nil {
			return err
		}
	}
	// Mkdir fails when the directory exists: a staged directory is never reused.
	if err := dst.Mkdir(it.Dir, 0o700); err != nil {
		return err
	}
	dir, err := dst.Open(it.Dir)
	if err != nil {
		return err
	}
	defer dir.Close()
	// Chmod on the descriptor: exact, independent of the umask, and not racing a symlink swap.
	if err := dir.Chmod(0o700); err != nil {
		return err
	}
	for _, key := range keys {
		if err := copyFile(vol, key, dst, path.Join(it.Dir, key), fs.FileMode(it.Mode)); err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
	}
	// Seal the directory: the agent can read it, nobody can add or rename files in it.
	if err := dir.Chmod(0o500); err != nil {
		return err
	}
	return fsyncDir(dir)
}

// listKeys returns the keys of a Secret volume: its entries except the ..data bookkeeping.
func listKeys(vol *os.Root) ([]string, error) {
	d, err := vol.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	keys := names[:0]
	for _, n := range names {
		if !strings.HasPrefix(n, "..") {
			keys = append(keys, n)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func copyFile(vol *os.Root, key string, dst *os.Root, to string, mode fs.FileMode) error {
	if why := CheckName(key); why != "" {
		return fmt.Errorf("%w: key %q %s", ErrManifest, key, why)
	}
	in, err := vol.Open(key) // follows key -> ..data/key, refuses anything leaving the volume
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("source is not a regular file (%s)", st.Mode().Type())
	}
	if st.Size() > MaxFileSize {
		return fmt.Errorf("source is larger than %d bytes", MaxFileSize)
	}
	out, err := dst.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, MaxFileSize+1))
	if err == nil && n > MaxFileSize {
		err = fmt.Errorf("source is larger than %d bytes", MaxFileSize)
	}
	if err == nil {
		err = out.Chmod(mode)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	got, err := dst.Lstat(to)
	if err != nil {
		return err
	}
	if got.Mode() != mode {
		return fmt.Errorf("staged file has mode %v, want %v", got.Mode(), mode)
	}
	return nil
}

func syncDir(r *os.Root, name string) error {
	d, err := r.Open(name)
	if err != nil {
		return err
	}
	err = fsyncDir(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// fsyncDir flushes a directory; file systems that cannot sync directories (EINVAL) are accepted.
func fsyncDir(d *os.File) error {
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
