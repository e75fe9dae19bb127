package podspec

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The default label scheme is KubeOpenCode's: with a zero [LabelScheme], Build labels Pods exactly
// as the KubeOpenCode operator expects.
const (
	DefaultLabelDomain = "kubeopencode.io"
	DefaultManagedBy   = "kubeopencode"
	DefaultOwnerKind   = "task"
	DefaultGroupKind   = "agent"
)

// LabelScheme says which labels Build puts on a Pod and, so, which keys Spec.Labels and
// Spec.Annotations may not use. A controller other than KubeOpenCode sets its own Domain and
// ManagedBy, so that its Pods never look like KubeOpenCode's (whose operator caches, counts and
// selects Pods by these labels). Every field is optional; the zero value is KubeOpenCode's scheme.
//
// The Pod gets app.kubernetes.io/managed-by=ManagedBy and, under Domain, the keys of [LabelKeys]:
// <Domain>/<OwnerKind>-uid, -name and -namespace, and <Domain>/<GroupKind> and <GroupKind>-uid
// when the Identity names a group.
type LabelScheme struct {
	// Domain prefixes every label key Build sets. Keys with this prefix or a subdomain of it are
	// reserved. A lowercase DNS subdomain; default DefaultLabelDomain ("kubeopencode.io").
	Domain string
	// ManagedBy is the value of app.kubernetes.io/managed-by (a label value, not empty); default
	// DefaultManagedBy ("kubeopencode"), which only KubeOpenCode's own scheme (default Domain
	// and kinds) may use: KubeOpenCode's operator caches and lists Pods by it, so any other
	// scheme must name its own.
	ManagedBy string
	// OwnerKind and GroupKind name the owner and group labels (lowercase DNS labels of at most 53
	// characters); defaults DefaultOwnerKind ("task") and DefaultGroupKind ("agent").
	OwnerKind, GroupKind string
}

// LabelKeys are the label keys of one LabelScheme.
type LabelKeys struct {
	OwnerUID, OwnerName, OwnerNamespace string
	Group, GroupUID                     string
}

// WithDefaults returns l with every empty field set to its default.
func (l LabelScheme) WithDefaults() LabelScheme {
	if l.Domain == "" {
		l.Domain = DefaultLabelDomain
	}
	if l.ManagedBy == "" {
		l.ManagedBy = DefaultManagedBy
	}
	if l.OwnerKind == "" {
		l.OwnerKind = DefaultOwnerKind
	}
	if l.GroupKind == "" {
		l.GroupKind = DefaultGroupKind
	}
	return l
}

// Keys returns the label keys Build sets under this scheme (after defaults). With the default
// scheme they are LabelTaskUID, LabelTaskName, LabelTaskNamespace, LabelAgent and LabelAgentUID.
func (l LabelScheme) Keys() LabelKeys {
	l = l.WithDefaults()
	if l.Domain == DefaultLabelDomain && l.OwnerKind == DefaultOwnerKind && l.GroupKind == DefaultGroupKind {
		// Constants: no allocation on the default path (Build is a hot path).
		return LabelKeys{LabelTaskUID, LabelTaskName, LabelTaskNamespace, LabelAgent, LabelAgentUID}
	}
	owner, group := l.Domain+"/"+l.OwnerKind, l.Domain+"/"+l.GroupKind
	return LabelKeys{owner + "-uid", owner + "-name", owner + "-namespace", group, group + "-uid"}
}

// IsReserved reports whether a label or annotation key is reserved under this scheme (after
// defaults): app.kubernetes.io/managed-by, and any key whose prefix is Domain or a subdomain of
// it. The comparison ignores case, because the API server validates annotation keys
// case-insensitively.
func (l LabelScheme) IsReserved(key string) bool {
	domain := l.Domain
	if domain == "" {
		domain = DefaultLabelDomain
	}
	key = strings.ToLower(key)
	if key == LabelManagedBy {
		return true
	}
	prefix, _, ok := strings.Cut(key, "/")
	return ok && (prefix == domain || len(prefix) > len(domain) &&
		strings.HasSuffix(prefix, domain) && prefix[len(prefix)-len(domain)-1] == '.')
}

// Validate returns nil for a usable scheme (empty fields take their defaults), otherwise an
// [*Errors] (category ErrInvalid) naming every field under "LabelScheme" that is wrong.
func (l LabelScheme) Validate() error { return toError(l.validate()) }

// validate reports every problem of the scheme, for Build to report with the Spec's others.
func (l LabelScheme) validate() field.ErrorList {
	if l == (LabelScheme{}) {
		return nil // KubeOpenCode's defaults, valid by construction (TestDefaultLabelSchemeIsValid)
	}
	l = l.WithDefaults()
	var errs field.ErrorList
	if strings.ToLower(l.Domain) != l.Domain || len(content.IsDNS1123Subdomain(l.Domain)) > 0 {
		errs = append(errs, invalid(field.NewPath("LabelScheme", "Domain"), "%q is not a lowercase DNS subdomain", l.Domain))
	}
	switch {
	case len(content.IsLabelValue(l.ManagedBy)) > 0:
		errs = append(errs, invalid(field.NewPath("LabelScheme", "ManagedBy"), "%q is not a label value", l.ManagedBy))
	case l.ManagedBy == DefaultManagedBy && (l.Domain != DefaultLabelDomain || l.OwnerKind != DefaultOwnerKind || l.GroupKind != DefaultGroupKind):
		// KubeOpenCode's operator caches and lists Pods by this value alone: a controller that
		// set only its Domain or kinds would have its Pods look like KubeOpenCode's again.
		errs = append(errs, invalid(field.NewPath("LabelScheme", "ManagedBy"),
			"%q is KubeOpenCode's: a scheme other than KubeOpenCode's needs its own ManagedBy", l.ManagedBy))
	}
	for _, k := range []struct{ field, kind string }{{"OwnerKind", l.OwnerKind}, {"GroupKind", l.GroupKind}} {
		if !isDNSLabel(k.kind) || len(k.kind) > MaxNameLength-len("-namespace") {
			errs = append(errs, invalid(field.NewPath("LabelScheme", k.field), "%q is not a DNS label of at most %d characters", k.kind, MaxNameLength-len("-namespace")))
		}
	}
	return errs
}
