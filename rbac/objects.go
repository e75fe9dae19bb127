package rbac

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RoleSpec declares a Role or ClusterRole.
type RoleSpec struct {
	// Name of the role (required).
	Name string
	// Namespace of a Role (required); must be empty for a ClusterRole.
	Namespace string
	// Labels and Annotations are copied onto the object (optional).
	Labels, Annotations map[string]string
	// Rules are validated and normalized by [PolicyRules]; at least one is required.
	Rules []Rule
	// BuildOptions are the options for the rules; the zero value refuses wildcards.
	BuildOptions
}

// ClusterRole builds a ClusterRole from spec. spec.Namespace must be empty.
func ClusterRole(spec RoleSpec) (*rbacv1.ClusterRole, error) {
	meta, errs := objectMeta(spec.Name, spec.Namespace, false, spec.Labels, spec.Annotations)
	rules, ruleErrs := policyRules(field.NewPath("rules"), spec.Rules, spec.BuildOptions)
	if errs = append(errs, ruleErrs...); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: meta,
		Rules:      rules,
	}, nil
}

// Role builds a namespaced Role from spec. spec.Namespace is required.
func Role(spec RoleSpec) (*rbacv1.Role, error) {
	meta, errs := objectMeta(spec.Name, spec.Namespace, true, spec.Labels, spec.Annotations)
	rules, ruleErrs := policyRules(field.NewPath("rules"), spec.Rules, spec.BuildOptions)
	if errs = append(errs, ruleErrs...); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: meta,
		Rules:      rules,
	}, nil
}

// BindingSpec declares a RoleBinding or ClusterRoleBinding.
type BindingSpec struct {
	// Name of the binding (required).
	Name string
	// Namespace of a RoleBinding (required); must be empty for a ClusterRoleBinding.
	Namespace string
	// Labels and Annotations are copied onto the object (optional).
	Labels, Annotations map[string]string
	// RoleRef names the role; build it with [RoleRefToRole] or [RoleRefToClusterRole]. A
	// ClusterRoleBinding can only refer to a ClusterRole.
	RoleRef rbacv1.RoleRef
	// Subjects receive the role; at least one is required. Build them with
	// [ServiceAccountSubject], [UserSubject] or [GroupSubject]. They are sorted and deduplicated.
	Subjects []rbacv1.Subject
	// AllowBroadSubjects permits subjects that stand for whole populations: the groups
	// system:authenticated, system:unauthenticated, system:serviceaccounts and
	// system:serviceaccounts:<namespace>, and the user system:anonymous. Default false: such a
	// binding gives the role to everyone and is almost always a mistake.
	AllowBroadSubjects bool
}

// RoleBinding builds a RoleBinding from spec.
func RoleBinding(spec BindingSpec) (*rbacv1.RoleBinding, error) {
	meta, errs := objectMeta(spec.Name, spec.Namespace, true, spec.Labels, spec.Annotations)
	errs = append(errs, validateRoleRef(field.NewPath("roleRef"), spec.RoleRef, true)...)
	subjects, subjErrs := subjects(field.NewPath("subjects"), spec.Subjects, spec.AllowBroadSubjects)
	if errs = append(errs, subjErrs...); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: meta,
		RoleRef:    spec.RoleRef,
		Subjects:   subjects,
	}, nil
}

// ClusterRoleBinding builds a ClusterRoleBinding from spec.
func ClusterRoleBinding(spec BindingSpec) (*rbacv1.ClusterRoleBinding, error) {
	meta, errs := objectMeta(spec.Name, spec.Namespace, false, spec.Labels, spec.Annotations)
	errs = append(errs, validateRoleRef(field.NewPath("roleRef"), spec.RoleRef, false)...)
	subjects, subjErrs := subjects(field.NewPath("subjects"), spec.Subjects, spec.AllowBroadSubjects)
	if errs = append(errs, subjErrs...); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: meta,
		RoleRef:    spec.RoleRef,
		Subjects:   subjects,
	}, nil
}

// RoleRefToRole refers to the Role name in the binding's own namespace.
func RoleRefToRole(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
}

// RoleRefToClusterRole refers to the ClusterRole name.
func RoleRefToClusterRole(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

// ServiceAccountSubject is the ServiceAccount namespace/name.
func ServiceAccountSubject(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// UserSubject is the user name, as the authenticator reports it.
func UserSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}
}

// GroupSubject is the group name, as the authenticator reports it.
func GroupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

func objectMeta(name, namespace string, namespaced bool, labels, annotations map[string]string) (metav1.ObjectMeta, field.ErrorList) {
	var errs field.ErrorList
	p := field.NewPath("metadata")
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	for _, msg := range content.IsPathSegmentName(name) {
		errs = append(errs, field.Invalid(p.Child("name"), name, msg))
	}
	switch {
	case namespaced && namespace == "":
		errs = append(errs, field.Required(p.Child("namespace"), "a namespaced object needs a namespace"))
	case namespaced:
		for _, msg := range validation.IsDNS1123Label(namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), namespace, msg))
		}
	case namespace != "":
		errs = append(errs, field.Forbidden(p.Child("namespace"), "a cluster-scoped object has no namespace"))
	}
	errs = append(errs, metav1validation.ValidateLabels(labels, p.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(annotations, p.Child("annotations"))...)
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   namespace,
		Labels:      maps.Clone(labels),
		Annotations: maps.Clone(annotations),
	}, errs
}

func validateRoleRef(p *field.Path, ref rbacv1.RoleRef, fromRoleBinding bool) field.ErrorList {
	var errs field.ErrorList
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(p.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	switch {
	case ref.Kind == "ClusterRole":
	case ref.Kind == "Role" && fromRoleBinding:
	case fromRoleBinding:
		errs = append(errs, field.NotSupported(p.Child("kind"), ref.Kind, []string{"Role", "ClusterRole"}))
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), ref.Kind, []string{"ClusterRole"}))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	for _, msg := range content.IsPathSegmentName(ref.Name) {
		errs = append(errs, field.Invalid(p.Child("name"), ref.Name, msg))
	}
	return errs
}

// subjects validates, sorts and deduplicates binding subjects.
func subjects(p *field.Path, in []rbacv1.Subject, allowBroad bool) ([]rbacv1.Subject, field.ErrorList) {
	if len(in) == 0 {
		return nil, field.ErrorList{field.Required(p, "a binding without subjects grants nothing")}
	}
	var errs field.ErrorList
	for i, s := range in {
		errs = append(errs, validateSubject(p.Index(i), s, allowBroad)...)
	}
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b rbacv1.Subject) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Name, b.Name), strings.Compare(a.APIGroup, b.APIGroup))
	})
	return slices.Compact(out), errs
}

func validateSubject(p *field.Path, s rbacv1.Subject, allowBroad bool) field.ErrorList {
	var errs field.ErrorList
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if s.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), "a ServiceAccount subject needs its namespace"))
		}
		for _, msg := range validation.IsDNS1123Label(s.Namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), s.Namespace, msg))
		}
		for _, msg := range validation.IsDNS1123Subdomain(s.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), s.Name, msg))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
		if s.Namespace != "" {
			errs = append(errs, field.Forbidden(p.Child("namespace"), "users and groups have no namespace"))
		}
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if !allowBroad && isBroad(s) {
			errs = append(errs, field.Forbidden(p.Child("name"),
				s.Name+" stands for a whole population; set AllowBroadSubjects to bind it"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind,
			[]string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}

func isBroad(s rbacv1.Subject) bool {
	if s.Kind == rbacv1.UserKind {
		return s.Name == "system:anonymous"
	}
	return s.Name == "system:authenticated" || s.Name == "system:unauthenticated" ||
		s.Name == "system:serviceaccounts" || strings.HasPrefix(s.Name, "system:serviceaccounts:")
}
