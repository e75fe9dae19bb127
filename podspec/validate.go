package podspec

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// maxAnnotationBytes is the API server's limit on the total size of a Pod's annotations.
const maxAnnotationBytes = 256 * 1024

// IsReservedKey reports whether a label or annotation key is reserved for the platform: any key
// whose prefix is kubeopencode.io or a subdomain of it, and app.kubernetes.io/managed-by. The
// comparison ignores case, because the API server validates annotation keys case-insensitively.
func IsReservedKey(key string) bool {
	key = strings.ToLower(key)
	if key == LabelManagedBy {
		return true
	}
	prefix, _, ok := strings.Cut(key, "/")
	return ok && (prefix == "kubeopencode.io" || strings.HasSuffix(prefix, ".kubeopencode.io"))
}

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

func validateLabels(field string, labels map[string]string) error {
	for _, k := range sortedKeys(labels) {
		f := field + "[" + quote(k) + "]"
		if IsReservedKey(k) {
			return reserved(f, "label key %q is reserved for the platform", k)
		}
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			return invalid(f, "label key %q: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := content.IsLabelValue(labels[k]); len(msgs) > 0 {
			return invalid(f, "label value %q: %s", labels[k], strings.Join(msgs, "; "))
		}
	}
	return nil
}

func validateAnnotations(field string, annotations map[string]string) error {
	total := 0
	for _, k := range sortedKeys(annotations) {
		f := field + "[" + quote(k) + "]"
		if IsReservedKey(k) {
			return reserved(f, "annotation key %q is reserved for the platform", k)
		}
		if msgs := content.IsLabelKey(strings.ToLower(k)); len(msgs) > 0 {
			return invalid(f, "annotation key %q: %s", k, strings.Join(msgs, "; "))
		}
		total += len(k) + len(annotations[k])
	}
	if total > maxAnnotationBytes {
		return invalid(field, "annotations total %d bytes, more than %d", total, maxAnnotationBytes)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkImage refuses empty image references and ones with whitespace or control characters.
func checkImage(field, image string) error {
	if image == "" {
		return invalid(field, "is required")
	}
	for i := 0; i < len(image); i++ {
		if image[i] <= ' ' || image[i] == 0x7f {
			return invalid(field, "image reference %q contains whitespace or control characters", image)
		}
	}
	return nil
}
