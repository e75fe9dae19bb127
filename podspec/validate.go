package podspec

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// maxAnnotationBytes is the API server's limit on the total size of a Pod's annotations.
const maxAnnotationBytes = 256 * 1024

// IsReservedKey reports whether a label or annotation key is reserved under the default
// [LabelScheme] (KubeOpenCode's): any key whose prefix is kubeopencode.io or a subdomain of it,
// and app.kubernetes.io/managed-by. The comparison ignores case, because the API server validates
// annotation keys case-insensitively. [LabelScheme.IsReserved] answers for another scheme.
func IsReservedKey(key string) bool { return LabelScheme{}.IsReserved(key) }

// IsEnvName reports whether name is a C identifier ([A-Za-z_][A-Za-z0-9_]*).
func IsEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validateLabels(field string, labels map[string]string, scheme LabelScheme) error {
	return firstKeyError(labels, func(k, v string) error {
		if scheme.IsReserved(k) {
			return reserved(keyField(field, k), "label key %q is reserved for the platform", k)
		}
		if !isLabelKey(k) {
			return invalid(keyField(field, k), "label key %q: %s", k, strings.Join(content.IsLabelKey(k), "; "))
		}
		if !isLabelValue(v) {
			return invalid(keyField(field, k), "label value %q: %s", v, strings.Join(content.IsLabelValue(v), "; "))
		}
		return nil
	})
}

func validateAnnotations(field string, annotations map[string]string, scheme LabelScheme) error {
	err := firstKeyError(annotations, func(k, _ string) error {
		if scheme.IsReserved(k) {
			return reserved(keyField(field, k), "annotation key %q is reserved for the platform", k)
		}
		if lower := strings.ToLower(k); !isLabelKey(lower) {
			return invalid(keyField(field, k), "annotation key %q: %s", k, strings.Join(content.IsLabelKey(lower), "; "))
		}
		return nil
	})
	if err != nil {
		return err
	}
	total := 0
	for k, v := range annotations {
		total += len(k) + len(v)
	}
	if total > maxAnnotationBytes {
		return invalid(field, "annotations total %d bytes, more than %d", total, maxAnnotationBytes)
	}
	return nil
}

// firstKeyError returns check's error for the first key of m, in sorted order, that has one.
// Sorting only makes the reported error deterministic, so it is skipped while no key fails.
func firstKeyError(m map[string]string, check func(k, v string) error) error {
	failed := false
	for k, v := range m {
		if check(k, v) != nil {
			failed = true
			break
		}
	}
	if !failed {
		return nil
	}
	for _, k := range sortedKeys(m) {
		if err := check(k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// keyField is the field path of one key of a map field, e.g. Labels["team"].
func keyField(field, key string) string { return field + "[" + quote(key) + "]" }

// isLabelKey reports whether k is a valid label key, i.e. content.IsLabelKey(k) finds nothing
// (FuzzLabelSyntax checks this against apimachinery), without its regular expressions and
// allocations: an optional DNS subdomain prefix and "/", then a name of 1..63 characters.
func isLabelKey(k string) bool {
	prefix, name, ok := strings.Cut(k, "/")
	if !ok {
		name = prefix
	} else if !isDNSSubdomain(prefix) {
		return false
	}
	return name != "" && isLabelValue(name)
}

// isLabelValue reports whether v is a valid label value, i.e. content.IsLabelValue(v) finds nothing
// (FuzzLabelSyntax): empty, or at most 63 characters from [-A-Za-z0-9_.] that start and end with
// an alphanumeric character.
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

// isDNSSubdomain reports whether s is a lowercase RFC 1123 subdomain of at most 253 characters,
// i.e. content.IsDNS1123Subdomain(s) finds nothing (FuzzLabelSyntax): DNS labels joined by dots,
// where the labels themselves have no length limit.
func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isDNSLabelSyntax(label) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkImage returns "" for an acceptable image reference, otherwise the reason it is not:
// empty references and ones with whitespace or control characters are refused.
func checkImage(image string) string {
	if image == "" {
		return "is required"
	}
	for i := 0; i < len(image); i++ {
		if image[i] <= ' ' || image[i] == 0x7f {
			return fmt.Sprintf("image reference %q contains whitespace or control characters", image)
		}
	}
	return ""
}
