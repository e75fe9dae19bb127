package gitclone

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// newHostileRepo writes a bare repository (root/repo.git) whose only commit has a tree that git
// itself would never produce: a symlink "evil" pointing at linkTarget and, under the same name, a
// directory holding "pwned". A naive checkout creates the symlink, then writes evil/pwned
// through it.
func newHostileRepo(t *testing.T, linkTarget string, dirFirst bool) string {
	t.Helper()
	root := t.TempDir()
	repo, err := git.PlainInit(filepath.Join(root, "repo.git"), true)
	if err != nil {
		t.Fatal(err)
	}
	st := repo.Storer
	blob := func(content string) plumbing.Hash {
		obj := st.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return store(t, st, obj)
	}
	// tree encodes the entries in the order given: go-git's Tree.Encode would refuse an order
	// git does not produce.
	tree := func(entries ...object.TreeEntry) plumbing.Hash {
		obj := st.NewEncodedObject()
		obj.SetType(plumbing.TreeObject)
		w, err := obj.Writer()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			fmt.Fprintf(w, "%o %s\x00", e.Mode, e.Name)
			w.Write(e.Hash[:])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return store(t, st, obj)
	}
	inner := tree(object.TreeEntry{Name: "pwned", Mode: filemode.Regular, Hash: blob("pwned\n")})
	link := object.TreeEntry{Name: "evil", Mode: filemode.Symlink, Hash: blob(linkTarget)}
	dir := object.TreeEntry{Name: "evil", Mode: filemode.Dir, Hash: inner}
	readme := object.TreeEntry{Name: "README", Mode: filemode.Regular, Hash: blob("hostile\n")}
	top := tree(readme, link, dir)
	if dirFirst {
		top = tree(readme, dir, link)
	}
	sig := object.Signature{Name: "x", Email: "x@example.com", When: time.Unix(1767323045, 0).UTC()}
	obj := st.NewEncodedObject()
	if err := (&object.Commit{Author: sig, Committer: sig, Message: "hostile\n", TreeHash: top}).Encode(obj); err != nil {
		t.Fatal(err)
	}
	commit := store(t, st, obj)
	if err := st.SetReference(plumbing.NewHashReference("refs/heads/main", commit)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, "refs/heads/main")); err != nil {
		t.Fatal(err)
	}
	return root
}

func store(t *testing.T, st storage.Storer, obj plumbing.EncodedObject) plumbing.Hash {
	t.Helper()
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestCloneNeverWritesOutsideDest: a hostile tree that routes a file through a symlink to a
// directory outside the clone must not write there, whether the link is absolute or climbs out
// with "..". The clone may fail or succeed; nothing may appear outside Dest.
func TestCloneNeverWritesOutsideDest(t *testing.T) {
	ca := newTestCA(t)
	caFile := ca.file(t)
	for _, tc := range []struct {
		kind     string
		dirFirst bool
	}{{"absolute", false}, {"relative", false}, {"absolute", true}, {"relative", true}} {
		kind := tc.kind
		t.Run(fmt.Sprintf("%s,dirFirst=%v", tc.kind, tc.dirFirst), func(t *testing.T) {
			outside := t.TempDir()
			base := t.TempDir()
			dest := filepath.Join(base, "a", "b", "repo")
			if err := os.MkdirAll(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			target := outside
			if kind == "relative" {
				rel, err := filepath.Rel(dest, outside)
				if err != nil {
					t.Fatal(err)
				}
				target = rel
			}
			srv := newHTTPSServer(t, ca, newHostileRepo(t, target, tc.dirFirst))
			_, err := Clone(context.Background(), Options{Repository: srv.url("127.0.0.1"), Depth: 1, Dest: dest, CABundleFile: caFile})
			t.Logf("Clone error (either outcome is acceptable): %v", err)
			if auths, _ := srv.seen(); len(auths) == 0 {
				t.Fatal("the server saw no request: the test proves nothing")
			}
			_ = filepath.WalkDir(outside, func(p string, d fs.DirEntry, err error) error {
				if p != outside {
					t.Errorf("the clone wrote %s outside dest", p)
				}
				return nil
			})
			_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if rel, _ := filepath.Rel(dest, p); !filepath.IsLocal(rel) && rel != "." && !d.IsDir() {
					t.Errorf("the clone wrote %s outside dest", p)
				}
				return nil
			})
		})
	}
}

// TestWorktreeFSStaysInsideDest: the file system the checkout writes through never follows a
// symlink out of dest, whatever go-git asks of it.
func TestWorktreeFSStaysInsideDest(t *testing.T) {
	tests := []struct {
		name string
		op   func(fs billy.Filesystem) error
	}{
		{"create a file through the link", func(fs billy.Filesystem) error {
			f, err := fs.OpenFile("evil/pwned", os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				_, err = f.Write([]byte("x"))
				f.Close()
			}
			return err
		}},
		{"create a directory through the link", func(fs billy.Filesystem) error { return fs.MkdirAll("evil/sub/dir", 0o755) }},
		{"create a symlink through the link", func(fs billy.Filesystem) error { return fs.Symlink("/etc/passwd", "evil/link") }},
		{"rename into the link", func(fs billy.Filesystem) error {
			if err := util.WriteFile(fs, "inside", []byte("x"), 0o644); err != nil {
				return err
			}
			return fs.Rename("inside", "evil/moved")
		}},
		{"create through a climbing path", func(fs billy.Filesystem) error { return util.WriteFile(fs, "../escaped", []byte("x"), 0o644) }},
	}
	for _, tc := range tests {
		for _, kind := range []string{"absolute", "relative"} {
			t.Run(tc.name+","+kind, func(t *testing.T) {
				outside := t.TempDir()
				dest := filepath.Join(t.TempDir(), "repo")
				if err := os.Mkdir(dest, 0o755); err != nil {
					t.Fatal(err)
				}
				target := outside
				if kind == "relative" {
					target, _ = filepath.Rel(dest, outside)
				}
				if err := os.Symlink(target, filepath.Join(dest, "evil")); err != nil {
					t.Fatal(err)
				}
				err := tc.op(worktreeFS(dest))
				t.Logf("operation error (either outcome is acceptable): %v", err)
				entries, rerr := os.ReadDir(outside)
				if rerr != nil {
					t.Fatal(rerr)
				}
				for _, e := range entries {
					t.Errorf("%s was written outside dest", filepath.Join(outside, e.Name()))
				}
				if _, err := os.Lstat(filepath.Join(filepath.Dir(dest), "escaped")); err == nil {
					t.Error("a file was written next to dest")
				}
			})
		}
	}
}
