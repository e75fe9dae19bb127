package gitclone

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// maxFileSize bounds every file the clone reads (tokens, keys, known_hosts, CA bundles), like the
// credential staging step does.
const maxFileSize = 1 << 20

// readFile reads a credential or trust file named by an option. It follows symlinks (Secret
// volumes are symlink farms), then requires a regular file of at most maxFileSize bytes that no
// group or other user can write: the project's credential-mode rule (mode & 0o022 == 0). A
// writable known_hosts or CA bundle would let another user add a trusted key; a writable token or
// key could be swapped. Group- or other-readable files are accepted because kubelet Secret
// volumes are 0644 by default and group-readable under fsGroup; the Pod is the trust boundary.
//
// Errors name the option and the path, never the content.
func readFile(field, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: %q is not a regular file", field, path)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("%s: %q has mode %#o: it must not be writable by group or others", field, path, fi.Mode().Perm())
	case fi.Size() > maxFileSize:
		return nil, fmt.Errorf("%s: %q is larger than %d bytes", field, path, maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %q is larger than %d bytes", field, path, maxFileSize)
	}
	return data, nil
}

// readSingleLine reads a file holding one value (a token or a user name): one trailing newline
// (LF or CRLF) is removed; the rest must be non-empty printable ASCII without spaces, which is
// what may appear in an HTTP header. forbidden lists further bytes that are not allowed (":" in a
// basic-auth user name). The value itself never appears in an error.
func readSingleLine(field, path, forbidden string) (string, error) {
	data, err := readFile(field, path)
	if err != nil {
		return "", err
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return "", fmt.Errorf("%s: %q is empty", field, path)
	}
	for i, c := range data {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(forbidden), c) >= 0 {
			return "", fmt.Errorf("%s: %q has a forbidden character at byte %d (whitespace, control, non-ASCII%s)", field, path, i, describe(forbidden))
		}
	}
	return string(data), nil
}

func describe(forbidden string) string {
	if forbidden == "" {
		return ""
	}
	return fmt.Sprintf(" or one of %q", forbidden)
}
