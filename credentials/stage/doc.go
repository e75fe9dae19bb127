// Package stage is the program logic of the credential staging init container: it copies Secret
// files, mounted read-only into that container, into a memory-backed emptyDir, each with the exact
// mode requested and owned by the user it runs as (the agent's UID).
//
// This is the only package of the credentials module that does file I/O; it runs inside the Pod,
// never in the controller. The controller side (package credentials) only writes the [Manifest]:
// paths and modes, never Secret data.
//
// Guarantees of [Run]:
//
//   - it refuses to run unless the process UID is Manifest.UID, so the files it creates are owned
//     by the agent and not, say, by root (which would make a 0600 file unreadable to the agent);
//   - each destination directory is created fresh (an existing one is an error, never reused) with
//     mode 0700, and sealed to 0500 once its files are written, so no other UID can enter it;
//   - each file is created exclusively (O_EXCL: nothing is overwritten, no symlink is followed),
//     written, then chmod-ed on its descriptor to the exact mode, so the result does not depend on
//     the umask; file and directories are fsync-ed;
//   - sources are opened through [os.Root]: Secret volumes are symlink farms (key -> ..data/key),
//     and symlinks are followed only while they stay inside the volume directory; absolute or
//     escaping symlinks are refused, as are non-regular files and files over 1 MiB;
//   - names in the manifest are single path elements: no "/", no "..", nothing starting with "..";
//     when a whole volume is copied, entries whose names start with ".." (the kubelet's ..data
//     bookkeeping) are skipped.
//
// Error messages name paths and fields, never file contents.
package stage
