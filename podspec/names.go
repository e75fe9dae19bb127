package podspec

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

const (
	// MaxNameLength is the length limit of a DNS label (RFC 1123) and of a label value.
	MaxNameLength = 63
	// HashLength is the number of characters of the identity hash appended to derived names:
	// 12 base32 characters, i.e. 60 bits of SHA-256.
	HashLength = 12
)

// lowerBase32 uses only characters that are valid in DNS labels.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// identityHash hashes the parts unambiguously: each part is length-prefixed, so ("ab", "c") and
// ("a", "bc") hash differently.
func identityHash(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return lowerBase32.EncodeToString(h.Sum(sum[:0])[:8])[:HashLength]
}

// DNSLabel derives a deterministic, collision-resistant DNS label (RFC 1123, at most 63
// characters) from a readable prefix and the parts of an identity.
//
// The result is the readable prefix reduced to [a-z0-9-] and shortened, then "-" and a hash of
// the readable prefix and every identity part. The hash covers the exact input, so two different
// inputs give different labels even when their readable parts read the same (60-bit hash).
// When nothing readable is left, the label is the hash alone.
func DNSLabel(readable string, identity ...string) string {
	parts := make([]string, 0, len(identity)+1)
	parts = append(parts, readable)
	parts = append(parts, identity...)
	hash := identityHash(parts...)
	prefix := sanitize(readable, MaxNameLength-1-HashLength, false)
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

// LabelValue returns v when it is already a valid label value of at most 63 characters, and
// otherwise a readable prefix of v plus "-" and a hash of v, which is always a valid label value.
//
// Task, namespace and Agent names can be up to 253 characters long; label values cannot.
func LabelValue(v string) string {
	if len(v) <= MaxNameLength && len(content.IsLabelValue(v)) == 0 {
		return v
	}
	hash := identityHash(v)
	prefix := sanitize(v, MaxNameLength-1-HashLength, true)
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

// sanitize keeps at most max characters of s that are valid in a DNS label (or, with
// labelValue, in a label value), replacing every run of other characters by one '-' and trimming
// separators at both ends.
func sanitize(s string, max int, labelValue bool) string {
	var b strings.Builder
	b.Grow(min(len(s), max))
	sep := false
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			if !labelValue {
				c += 'a' - 'A'
			}
		case labelValue && (c == '.' || c == '_'):
			if b.Len() == 0 {
				continue
			}
		default:
			sep = b.Len() > 0
			continue
		}
		if sep {
			if b.Len()+1 >= max {
				break
			}
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	return strings.TrimRight(b.String(), "-._")
}

// isDNSLabel reports whether s is a valid RFC 1123 label, without allocating.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

// volumeNameForPath derives a volume name from a kind ("file", ...) and a path, e.g.
// "/workspace/.kubeopencode/context.md" gives "file-workspace-kubeopencode-context-md-<hash>".
func volumeNameForPath(kind, p string) string {
	return DNSLabel(kind+"-"+p, kind, p)
}
