package podspec

import "github.com/kubeopencode/kubeopencode/api/contract"

const (
	// MaxNameLength is the length limit of a DNS label (RFC 1123) and of a label value.
	MaxNameLength = contract.MaxNameLength
	// HashLength is the number of characters of the identity hash appended to derived names:
	// 12 base32 characters, i.e. 60 bits of SHA-256.
	HashLength = contract.HashLength
)

// DNSLabel derives a deterministic, collision-resistant DNS label (RFC 1123, at most 63
// characters) from a readable prefix and the parts of an identity.
//
// The result is the readable prefix reduced to [a-z0-9-] and shortened, then "-" and a hash of
// the readable prefix and every identity part. The hash covers the exact input, so two different
// inputs give different labels even when their readable parts read the same (60-bit hash).
// When nothing readable is left, the label is the hash alone. It is [contract.DNSLabel], which
// credentials uses too, so both libraries derive the same names.
func DNSLabel(readable string, identity ...string) string {
	return contract.DNSLabel(readable, identity...)
}

// LabelValue returns v when it is already a valid label value of at most 63 characters, and
// otherwise a readable prefix of v plus "-" and a hash of v, which is always a valid label value
// ([contract.LabelValue]).
//
// Task, namespace and Agent names can be up to 253 characters long; label values cannot.
func LabelValue(v string) string { return contract.LabelValue(v) }

// volumeNameForPath derives a volume name from a kind ("file", ...) and a path, e.g.
// "/workspace/.kubeopencode/context.md" gives "file-workspace-kubeopencode-context-md-<hash>".
func volumeNameForPath(kind, p string) string {
	return DNSLabel(kind+"-"+p, kind, p)
}
