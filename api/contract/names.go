package contract

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

const (
	// MaxNameLength is the length limit of a DNS label (RFC 1123) and of a label value.
	MaxNameLength = 63
	// HashLength is the number of characters of the identity hash appended to derived names:
	// 12 base32 characters, i.e. 60 bits of SHA-256.
	HashLength = 12
)

// IsCIdentifier reports whether s is a C identifier ([A-Za-z_][A-Za-z0-9_]*), the rule for
// environment variable names. It gives apimachinery's content.IsCIdentifier verdict (FuzzEnvName
// in podspec keeps the two equal) without a regular expression: podspec.Build checks every
// environment variable of every container, and the regular expression cost it about a tenth.
func IsCIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// IsDNSLabel reports whether s is an RFC 1123 label: 1 to 63 characters of [a-z0-9-], starting and
// ending with [a-z0-9]. The libraries use apimachinery's validation.IsDNS1123Label; this copy
// exists because the contract imports only the standard library, and FuzzLabelSyntax in podspec
// keeps the two equal.
func IsDNSLabel(s string) bool {
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

// lowerBase32 uses only characters that are valid in DNS labels.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DNSLabel derives a deterministic, collision-resistant DNS label (RFC 1123, at most 63
// characters) from a readable prefix and the parts of an identity.
//
// The result is the readable prefix reduced to [a-z0-9-] and shortened to 50 characters, then "-"
// and HashLength base32 characters of a SHA-256 over the readable prefix and every identity part,
// each length-prefixed (so ("ab", "c") and ("a", "bc") differ). The hash covers the exact input,
// so two different inputs give different labels even when their readable parts read the same
// (60-bit hash). When nothing readable is left, the label is the hash alone.
func DNSLabel(readable string, identity ...string) string {
	return derivedName(readable, false, readable, identity...)
}

// LabelValue returns v when it is already a valid label value of at most 63 characters, and
// otherwise a readable prefix of v plus "-" and a hash of v, which is always a valid label value.
// Object names can be up to 253 characters long; label values cannot.
func LabelValue(v string) string {
	if isLabelValue(v) {
		return v
	}
	return derivedName(v, true, v)
}

// derivedName returns the sanitized readable prefix, "-" and the identity hash of the parts, or
// the hash alone when nothing readable is left. It is built in one stack buffer, so the result is
// the only allocation (the libraries derive names on their hot paths).
func derivedName(readable string, labelValue bool, first string, rest ...string) string {
	var buf [MaxNameLength + 1]byte // + 1: AppendEncode writes a 13th hash character first
	name := appendSanitized(buf[:0], readable, MaxNameLength-1-HashLength, labelValue)
	if len(name) > 0 {
		name = append(name, '-')
	}
	return string(appendIdentityHash(name, first, rest...))
}

// appendIdentityHash appends HashLength base32 characters of the SHA-256 of the length-prefixed
// parts (first, then rest) to dst.
func appendIdentityHash(dst []byte, first string, rest ...string) []byte {
	var buf [512]byte // enough for typical identities; longer ones move to the heap
	msg := appendPart(buf[:0], first)
	for _, p := range rest {
		msg = appendPart(msg, p)
	}
	sum := sha256.Sum256(msg)
	return lowerBase32.AppendEncode(dst, sum[:8])[:len(dst)+HashLength]
}

func appendPart(msg []byte, p string) []byte {
	return append(binary.BigEndian.AppendUint64(msg, uint64(len(p))), p...)
}

// appendSanitized appends at most max characters of s that are valid in a DNS label (or, with
// labelValue, in a label value) to dst, replacing every run of other characters by one '-' and
// trimming separators at both ends.
func appendSanitized(dst []byte, s string, max int, labelValue bool) []byte {
	start := len(dst)
	sep := false
	for i := 0; i < len(s) && len(dst)-start < max; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			if !labelValue {
				c += 'a' - 'A'
			}
		case labelValue && (c == '.' || c == '_'):
			if len(dst) == start {
				continue
			}
		default:
			sep = len(dst) > start
			continue
		}
		if sep {
			if len(dst)-start+1 >= max {
				break
			}
			dst = append(dst, '-')
			sep = false
		}
		dst = append(dst, c)
	}
	for len(dst) > start && strings.IndexByte("-._", dst[len(dst)-1]) >= 0 {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// isLabelValue reports whether v is a valid label value: empty, or at most 63 characters from
// [-A-Za-z0-9_.] that start and end with an alphanumeric character.
// IsLabelValue reports whether v is a label value: empty, or 1 to 63 characters of
// [A-Za-z0-9-_.] starting and ending with [A-Za-z0-9]. It gives apimachinery's content.IsLabelValue
// verdict without a regular expression (FuzzLabelKeySyntax in podspec keeps them equal).
func IsLabelValue(v string) bool { return isLabelValue(v) }

// IsLabelKey reports whether k is a label key: a name (a non-empty label value) optionally
// preceded by a lowercase DNS subdomain prefix and "/". It gives apimachinery's
// content.IsLabelKey verdict without a regular expression (FuzzLabelKeySyntax in podspec keeps
// them equal): podspec.Build checks every label and annotation key, and the regular expressions
// cost it about a tenth. Callers ask apimachinery for the messages once this says no.
func IsLabelKey(k string) bool {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name = prefix
	} else if !IsDNSSubdomain(prefix) {
		return false
	}
	return name != "" && isLabelValue(name)
}

// IsDNSSubdomain reports whether s is a lowercase RFC 1123 subdomain: at most 253 characters of
// dot-separated labels, each [a-z0-9] at both ends and [a-z0-9-] between (apimachinery's
// content.IsDNS1123Subdomain verdict).
func IsDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || !isAlnumLower(label[0]) || !isAlnumLower(label[len(label)-1]) {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnumLower(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnumLower(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isLabelValue(v string) bool {
	if v == "" {
		return true
	}
	if len(v) > MaxNameLength || !isAlnum(v[0]) || !isAlnum(v[len(v)-1]) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
