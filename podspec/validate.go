package podspec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubeopencode/kubeopencode/api/contract"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxAnnotationBytes is the API server's limit on the total size of a Pod's annotations.
const maxAnnotationBytes = 256 * 1024

// IsReservedKey reports whether a label or annotation key is reserved under the default
// [LabelScheme] (KubeOpenCode's): any key whose prefix is kubeopencode.io or a subdomain of it,
// and app.kubernetes.io/managed-by. The comparison ignores case, because the API server validates
// annotation keys case-insensitively. [LabelScheme.IsReserved] answers for another scheme.
func IsReservedKey(key string) bool { return LabelScheme{}.IsReserved(key) }

// IsEnvName reports whether name is a C identifier ([A-Za-z_][A-Za-z0-9_]*): apimachinery's
// content.IsCIdentifier verdict, by the contract's regexp-free check (FuzzEnvName proves them equal).
func IsEnvName(name string) bool { return contract.IsCIdentifier(name) }

// isDNSLabel reports whether s is an RFC 1123 label. It is the contract's check, which
// FuzzLabelSyntax proves equal to apimachinery's content.IsDNS1123Label: Build checks every volume
// and container name, and the regular expression behind content.IsDNS1123Label made Build about
// a third slower.
func isDNSLabel(s string) bool { return contract.IsDNSLabel(s) }

// validateLabels checks Spec.Labels; name is the field's name (its path is built only on the error
// path: Build is a hot path).
func validateLabels(name string, labels map[string]string, scheme LabelScheme) field.ErrorList {
	p := func() *field.Path { return field.NewPath(name) }
	return keyErrors(labels, func(k, v string) *field.Error {
		if scheme.IsReserved(k) {
			return reserved(p().Key(k), "label key %q is reserved for the platform", k)
		}
		// The contract's checks give apimachinery's verdict without its regular expressions
		// (FuzzLabelKeySyntax); apimachinery words the refusal.
		if !contract.IsLabelKey(k) {
			return invalid(p().Key(k), "label key %q: %s", k, strings.Join(content.IsLabelKey(k), "; "))
		}
		if !contract.IsLabelValue(v) {
			return invalid(p().Key(k), "label value %q: %s", v, strings.Join(content.IsLabelValue(v), "; "))
		}
		return nil
	})
}

func validateAnnotations(name string, annotations map[string]string, scheme LabelScheme) field.ErrorList {
	p := func() *field.Path { return field.NewPath(name) }
	errs := keyErrors(annotations, func(k, _ string) *field.Error {
		if scheme.IsReserved(k) {
			return reserved(p().Key(k), "annotation key %q is reserved for the platform", k)
		}
		// The API server checks annotation keys case-insensitively.
		if lower := strings.ToLower(k); !contract.IsLabelKey(lower) {
			return invalid(p().Key(k), "annotation key %q: %s", k, strings.Join(content.IsLabelKey(lower), "; "))
		}
		return nil
	})
	total := 0
	for k, v := range annotations {
		total += len(k) + len(v)
	}
	if total > maxAnnotationBytes {
		errs = append(errs, invalid(p(), "annotations total %d bytes, more than %d", total, maxAnnotationBytes))
	}
	return errs
}

// keyErrors returns check's error for every key of m that has one, in sorted key order. Sorting
// only makes the report deterministic, so it is skipped while no key fails.
func keyErrors(m map[string]string, check func(k, v string) *field.Error) field.ErrorList {
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
	var errs field.ErrorList
	for _, k := range sortedKeys(m) {
		if err := check(k, m[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
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
