package gitclone

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-logr/logr"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// remoteName is the name of the remote in the clone, as git clone names it.
const remoteName = "origin"

// commitRef is where a commit fetched by SHA is held until HEAD points at it; it is removed
// afterwards.
const commitRef = plumbing.ReferenceName("refs/kubeopencode/fetch")

// Clone clones opts.Repository into opts.Dest and checks out opts.Ref. See the package
// documentation for its guarantees. Errors name the option at fault and never contain secret
// data. On failure Dest is left empty (or removed, if Clone created it).
func Clone(ctx context.Context, opts Options) (Result, error) {
	v, err := opts.validate()
	if err != nil {
		return Result{}, err
	}
	log := opts.Log.WithValues("repository", opts.Repository)
	auth, err := v.loadAuth(log)
	if err != nil {
		return Result{}, err
	}
	var caBundle []byte
	if opts.CABundleFile != "" && v.ep.Scheme == SchemeHTTPS {
		if caBundle, err = readFile("caBundleFile", opts.CABundleFile); err != nil {
			return Result{}, err
		}
		if !x509.NewCertPool().AppendCertsFromPEM(caBundle) {
			return Result{}, fmt.Errorf("caBundleFile: %q holds no PEM certificate", opts.CABundleFile)
		}
	}
	created, err := prepareDest(opts.Dest)
	if err != nil {
		return Result{}, err
	}
	res, err := v.clone(ctx, auth, caBundle, log)
	if err != nil {
		if cerr := cleanDest(opts.Dest, created); cerr != nil {
			log.Error(cerr, "could not clean dest after a failed clone")
		}
		return Result{}, err
	}
	log.Info("cloned", "commit", res.Commit, "ref", res.Ref, "shallow", res.Shallow, "dir", res.Dir)
	return res, nil
}

// loadAuth reads the credential files the repository's transport uses. Files of the other
// transport are not read.
func (v validated) loadAuth(log logr.Logger) (transport.AuthMethod, error) {
	a := v.Auth
	if v.ep.Scheme == SchemeHTTPS {
		if a.SSHKeyFile != "" {
			log.Info("auth.sshKeyFile is not used for an https repository")
		}
		if !a.hasHTTPCredentials() {
			log.Info("cloning anonymously: no token configured")
			return nil, nil
		}
		token, err := readSingleLine("auth.tokenFile", a.TokenFile, "")
		if err != nil {
			return nil, err
		}
		user := a.Username
		if a.UsernameFile != "" {
			if user, err = readSingleLine("auth.usernameFile", a.UsernameFile, ":"); err != nil {
				return nil, err
			}
		}
		if user == "" {
			user = DefaultHTTPUsername
		}
		log.Info("using a token", "host", v.ep.Authority(), "bearer", a.Bearer)
		return &httpAuth{host: v.ep.Host, port: v.ep.Port, username: user, token: token, bearer: a.Bearer}, nil
	}

	if a.TokenFile != "" {
		log.Info("auth.tokenFile is not used for an ssh repository")
	}
	key, err := readFile("auth.sshKeyFile", a.SSHKeyFile)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	clear(key)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("auth.sshKeyFile: %q is encrypted: only unencrypted keys are supported", a.SSHKeyFile)
		}
		return nil, fmt.Errorf("auth.sshKeyFile: %q is not a private key the SSH client can read: %w", a.SSHKeyFile, err)
	}
	// Checked for mode and size by readFile; knownhosts reads it by name.
	if _, err := readFile("knownHostsFile", v.KnownHostsFile); err != nil {
		return nil, err
	}
	known, err := knownhosts.New(v.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("knownHostsFile: %w", err)
	}
	hostPort := v.ep.HostPort()
	algos, err := knownHostAlgorithms(known, hostPort)
	if err != nil {
		return nil, err
	}
	timeout := v.DialTimeout
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}
	log.Info("using an SSH key", "host", v.ep.Authority(), "user", v.ep.User, "hostKeyAlgorithms", algos)
	return &sshAuth{user: v.ep.User, signer: signer, hostPort: hostPort, known: known, algos: algos, timeout: timeout}, nil
}

// prepareDest checks that dest is an empty directory (not a symlink), or creates it when it does
// not exist. It reports whether it created it.
func prepareDest(dest string) (bool, error) {
	fi, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(dest, 0o755); err != nil {
			return false, fmt.Errorf("dest: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("dest: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, fmt.Errorf("dest: %q must not be a symlink", dest)
	case !fi.IsDir():
		return false, fmt.Errorf("dest: %q is not a directory", dest)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return false, fmt.Errorf("dest: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("dest: %q is not empty", dest)
	}
	return false, nil
}

// cleanDest undoes a failed clone: everything in dest was created by it (dest was empty).
// RemoveAll removes symlinks, never what they point to.
func cleanDest(dest string, created bool) error {
	if created {
		return os.RemoveAll(dest)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dest, e.Name())))
	}
	return errors.Join(errs...)
}

// worktreeFS is the file system the checkout writes through. BoundOS resolves every path,
// symlinks included, as if dest were "/": a link to /etc or ../../x leads to dest/etc or dest/x,
// never out of dest. go-git's own path checks come first; this holds even if they miss a case.
func worktreeFS(dest string) billy.Filesystem {
	return osfs.New(dest, osfs.WithBoundOS())
}

// target is what Options.Ref resolved to on the remote.
type target struct {
	// name is the remote ref to fetch; empty for a commit fetched by SHA.
	name plumbing.ReferenceName
	// hash is the commit SHA when name is empty.
	hash plumbing.Hash
}

func (v validated) clone(ctx context.Context, auth transport.AuthMethod, caBundle []byte, log logr.Logger) (Result, error) {
	wt := worktreeFS(v.Dest)
	dot, err := wt.Chroot(git.GitDirName)
	if err != nil {
		return Result{}, fmt.Errorf("dest: %w", err)
	}
	repo, err := git.Init(filesystem.NewStorage(dot, cache.NewObjectLRUDefault()), wt)
	if err != nil {
		return Result{}, fmt.Errorf("dest: initializing the repository: %w", err)
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{v.Repository}})
	if err != nil {
		return Result{}, fmt.Errorf("repository: %w", err)
	}

	log.V(1).Info("listing remote refs")
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, CABundle: caBundle})
	if err != nil {
		return Result{}, fmt.Errorf("repository: listing refs of %s: %w", v.Repository, err)
	}
	tgt, err := resolveRef(refs, v.Ref)
	if err != nil {
		return Result{}, err
	}

	local, err := v.fetch(ctx, repo, remote, tgt, auth, caBundle, log)
	if err != nil {
		return Result{}, err
	}
	h, err := repo.Reference(local, true)
	if err != nil {
		return Result{}, fmt.Errorf("ref: %q was not fetched: %w", v.Ref, err)
	}
	commit, err := peelToCommit(repo, h.Hash())
	if err != nil {
		return Result{}, fmt.Errorf("ref: %q: %w", v.Ref, err)
	}

	res := Result{Commit: commit.Hash.String()}
	if err := checkout(repo, tgt, commit.Hash); err != nil {
		return Result{}, err
	}
	if tgt.hash.IsZero() && tgt.name != plumbing.HEAD {
		res.Ref = tgt.name.String()
	}
	if local == commitRef {
		if err := repo.Storer.RemoveReference(commitRef); err != nil {
			return Result{}, fmt.Errorf("dest: %w", err)
		}
	}
	if res.Shallow, err = truncated(repo); err != nil {
		return Result{}, fmt.Errorf("dest: %w", err)
	}
	if res.Dir, err = resolveSubPath(v.Dest, v.Path); err != nil {
		return Result{}, err
	}
	return res, nil
}

// resolveRef finds Options.Ref among the remote's refs: empty means the remote's HEAD; a full
// name (refs/...) must exist as written; a short name is a branch, else a tag; a full 40-digit
// hex SHA is a commit (fetched through a ref that points at it when there is one, so it works
// on servers that refuse fetching arbitrary SHAs). Abbreviated SHAs are refused: resolving them
// would need the whole history.
func resolveRef(refs []*plumbing.Reference, ref string) (target, error) {
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name()] = r
	}
	if ref == "" {
		head, ok := byName[plumbing.HEAD]
		switch {
		case !ok:
			return target{}, fmt.Errorf("ref: the remote has no default branch (HEAD); set ref")
		case head.Type() == plumbing.SymbolicReference:
			if _, ok := byName[head.Target()]; !ok {
				return target{}, fmt.Errorf("ref: the remote's HEAD points to %s, which does not exist; set ref", head.Target())
			}
			return target{name: head.Target()}, nil
		default:
			return target{name: plumbing.HEAD}, nil
		}
	}
	candidates := []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
	if strings.HasPrefix(ref, "refs/") {
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	}
	for _, name := range candidates {
		if r, ok := byName[name]; ok && r.Type() == plumbing.HashReference {
			return target{name: name}, nil
		}
	}
	if !isFullSHA(ref) {
		if isHex(ref) && len(ref) < 40 {
			return target{}, fmt.Errorf("ref: %q is not a branch or tag of the remote; abbreviated commit SHAs are not supported, use all 40 characters", ref)
		}
		return target{}, fmt.Errorf("ref: %q is not a branch, tag or ref of the remote", ref)
	}
	hash := plumbing.NewHash(strings.ToLower(ref))
	// Prefer a branch, then a tag, whose tip is the commit: fetching a ref works everywhere.
	var tips []plumbing.ReferenceName
	for _, r := range refs {
		// Peeled entries (refs/tags/x^{}) are not names that can be fetched.
		if r.Type() == plumbing.HashReference && r.Hash() == hash && (r.Name().IsBranch() || r.Name().IsTag()) && !strings.HasSuffix(r.Name().String(), "^{}") {
			tips = append(tips, r.Name())
		}
	}
	slices.SortFunc(tips, func(a, b plumbing.ReferenceName) int {
		if a.IsBranch() != b.IsBranch() {
			if a.IsBranch() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.String(), b.String())
	})
	if len(tips) > 0 {
		return target{name: tips[0], hash: hash}, nil
	}
	return target{hash: hash}, nil
}

// fetch fetches the target with the requested depth and returns the local ref that holds it.
func (v validated) fetch(ctx context.Context, repo *git.Repository, remote *git.Remote, tgt target, auth transport.AuthMethod, caBundle []byte, log logr.Logger) (plumbing.ReferenceName, error) {
	var local plumbing.ReferenceName
	switch {
	case tgt.name == plumbing.HEAD:
		local = plumbing.NewRemoteHEADReferenceName(remoteName)
	case tgt.name.IsBranch():
		local = plumbing.NewRemoteReferenceName(remoteName, tgt.name.Short())
	case tgt.name != "":
		local = tgt.name
	default:
		local = commitRef
	}
	spec := config.RefSpec(tgt.hash.String() + ":" + local.String())
	if tgt.name != "" {
		spec = config.RefSpec("+" + tgt.name.String() + ":" + local.String())
	}
	opts := &git.FetchOptions{
		RemoteName: remoteName,
		RemoteURL:  v.Repository,
		RefSpecs:   []config.RefSpec{spec},
		Depth:      v.Depth,
		Auth:       auth,
		CABundle:   caBundle,
		Tags:       git.NoTags,
	}
	log.V(1).Info("fetching", "refspec", spec.String(), "depth", v.Depth)
	err := remote.FetchContext(ctx, opts)
	if errors.Is(err, git.ErrExactSHA1NotSupported) {
		// The server does not let clients ask for a SHA that no ref points at. Fetch every
		// branch and tag with full history (a shallow fetch could miss the commit) and look.
		log.Info("the server does not allow fetching a commit by SHA: fetching all branches and tags with full history (depth is not honoured)",
			"commit", tgt.hash.String())
		opts.RefSpecs = []config.RefSpec{
			config.RefSpec("+refs/heads/*:refs/remotes/" + remoteName + "/*"),
			config.RefSpec("+refs/tags/*:refs/tags/*"),
		}
		opts.Depth = 0
		if err = remote.FetchContext(ctx, opts); err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
			if _, cerr := repo.CommitObject(tgt.hash); cerr != nil {
				return "", fmt.Errorf("ref: commit %s is not reachable from any branch or tag of the remote", tgt.hash)
			}
			if err := repo.Storer.SetReference(plumbing.NewHashReference(local, tgt.hash)); err != nil {
				return "", fmt.Errorf("dest: %w", err)
			}
			return local, nil
		}
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", fmt.Errorf("repository: fetching %s from %s: %w", describeTarget(tgt), v.Repository, err)
	}
	return local, nil
}

func describeTarget(t target) string {
	if t.name != "" {
		return t.name.String()
	}
	return "commit " + t.hash.String()
}

// peelToCommit returns the commit h names, following annotated tags.
func peelToCommit(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("points to a %s, not a commit", obj.Type())
		}
	}
	return nil, fmt.Errorf("too many nested tags")
}

// checkout points HEAD at the commit, on a local branch when a branch was cloned (as git clone
// does) and detached otherwise, then writes the worktree.
func checkout(repo *git.Repository, tgt target, commit plumbing.Hash) error {
	head := plumbing.NewHashReference(plumbing.HEAD, commit)
	if tgt.name.IsBranch() && tgt.hash.IsZero() {
		branch := tgt.name
		if err := repo.Storer.SetReference(plumbing.NewHashReference(branch, commit)); err != nil {
			return fmt.Errorf("dest: %w", err)
		}
		if err := repo.CreateBranch(&config.Branch{Name: branch.Short(), Remote: remoteName, Merge: branch}); err != nil {
			return fmt.Errorf("dest: %w", err)
		}
		head = plumbing.NewSymbolicReference(plumbing.HEAD, branch)
	}
	if err := repo.Storer.SetReference(head); err != nil {
		return fmt.Errorf("dest: %w", err)
	}
	w, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("dest: %w", err)
	}
	if err := w.Reset(&git.ResetOptions{Commit: commit, Mode: git.HardReset}); err != nil {
		return fmt.Errorf("dest: checking out %s: %w", commit, err)
	}
	return nil
}

// truncated reports whether the history was cut: some commit on the shallow boundary has
// parents that were not fetched. (A root commit on the boundary cuts nothing.)
func truncated(repo *git.Repository) (bool, error) {
	shallow, err := repo.Storer.Shallow()
	if err != nil {
		return false, err
	}
	for _, h := range shallow {
		c, err := repo.CommitObject(h)
		if err != nil {
			return false, err
		}
		if c.NumParents() > 0 {
			return true, nil
		}
	}
	return false, nil
}

func isFullSHA(s string) bool { return len(s) == 40 && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}
