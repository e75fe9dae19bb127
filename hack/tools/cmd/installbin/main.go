// Command installbin is the entrypoint of the agent image: it copies a program from the image
// into a directory shared with the agent container (podspec's /tools emptyDir), read-only and
// executable, so the executor image runs a binary it does not contain.
//
//	installbin SRC DIR     copies SRC to DIR/<base name of SRC>, mode 0555
//
// It is static (no libc) and reads nothing else, so the agent image needs no shell.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: installbin SRC DIR")
		os.Exit(2)
	}
	dst, err := install(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "installbin:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "installbin: installed", dst)
}

// install streams src into dir (the binary can be hundreds of MB) and returns the new path. The
// file is written under a temporary name and renamed, so the agent never sees half a binary.
func install(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	tmp, err := os.CreateTemp(dir, ".installbin-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}
