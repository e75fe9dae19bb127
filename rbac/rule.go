package rbac

import (
	"fmt"
	"regexp"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CoreGroup is the API group of the built-in core resources (pods, configmaps, secrets, ...). It
// is the empty string, as in RBAC; it never means "every group".
const CoreGroup = ""

// Wildcard is the RBAC token that matches every verb, group or resource. Builders refuse it
// unless [BuildOptions.AllowWildcards] is set.
const Wildcard = "*"

// Rule declares one permission: Verbs on Resources of one API Group, optionally limited to
// ResourceNames.
//
// Empty fields mean nothing, never everything: a Rule without Resources or without Verbs grants
// nothing and is refused as a mistake. The only optional field is ResourceNames: when it is empty
// the rule is not limited by name, which is what RBAC means by an absent resourceNames.
type Rule struct {
	// Group is the API group; [CoreGroup] ("") is the core group. "core" is accepted as an alias
	// of "", as controller-gen does.
	Group string
	// Resources are plural resource names ("pods") or resource/subresource ("pods/log").
	Resources []string
	// ResourceNames, when set, limit the rule to objects with these names. They cannot be combined
	// with create or deletecollection, which RBAC never matches by name.
	ResourceNames []string
	// Verbs are the lowercase API verbs ("get", "list", ...) or custom verbs ("use").
	Verbs []string
}

// BuildOptions tune how rules are checked. The zero value is the strict default.
type BuildOptions struct {
	// AllowWildcards permits "*" as a group, resource ("*" or "*/subresource") or verb.
	// Default false: wildcards are refused, because a wildcard grants whatever the cluster will
	// ever serve, including resources that do not exist yet.
	AllowWildcards bool
}

// verbPattern accepts plain verbs ("get", "use") and the colon/dash forms of constrained
// impersonation ("impersonate:user-info", "impersonate-on:user-info:get").
var verbPattern = regexp.MustCompile(`^[a-z]+([:-][a-z]+)*$`)

// PolicyRules validates rules and returns them as normalized RBAC policy rules (see [Normalize]).
// Every problem is reported, each naming its field (for example rules[2].verbs[0]).
func PolicyRules(rules []Rule, opts BuildOptions) ([]rbacv1.PolicyRule, error) {
	policy, errs := policyRules(field.NewPath("rules"), rules, opts)
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return policy, nil
}

func policyRules(path *field.Path, rules []Rule, opts BuildOptions) ([]rbacv1.PolicyRule, field.ErrorList) {
	if len(rules) == 0 {
		return nil, field.ErrorList{field.Required(path, "a role without rules grants nothing")}
	}
	var errs field.ErrorList
	policy := make([]rbacv1.PolicyRule, 0, len(rules))
	for i, r := range rules {
		p, ruleErrs := r.validate(path.Index(i), opts)
		errs = append(errs, ruleErrs...)
		policy = append(policy, p)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return Normalize(policy), nil
}

// validate checks one rule and converts it to a PolicyRule (not yet normalized).
func (r Rule) validate(path *field.Path, opts BuildOptions) (rbacv1.PolicyRule, field.ErrorList) {
	var errs field.ErrorList
	group := r.Group
	if group == "core" {
		group = CoreGroup
	}
	switch {
	case group == Wildcard:
		if !opts.AllowWildcards {
			errs = append(errs, wildcardRefused(path.Child("group")))
		}
	case strings.Contains(group, Wildcard):
		errs = append(errs, field.Invalid(path.Child("group"), group, "RBAC has no partial group wildcard"))
	case group != CoreGroup:
		for _, msg := range validation.IsDNS1123Subdomain(group) {
			errs = append(errs, field.Invalid(path.Child("group"), group, msg))
		}
	}

	if len(r.Resources) == 0 {
		errs = append(errs, field.Required(path.Child("resources"), "a rule without resources grants nothing"))
	}
	for i, res := range r.Resources {
		errs = append(errs, validateResource(path.Child("resources").Index(i), res, opts)...)
	}

	if len(r.Verbs) == 0 {
		errs = append(errs, field.Required(path.Child("verbs"), "a rule without verbs grants nothing"))
	}
	for i, verb := range r.Verbs {
		p := path.Child("verbs").Index(i)
		switch {
		case verb == Wildcard:
			if !opts.AllowWildcards {
				errs = append(errs, wildcardRefused(p))
			}
		case !verbPattern.MatchString(verb):
			errs = append(errs, field.Invalid(p, verb, "a verb is lowercase letters, optionally joined by ':' or '-'"))
		case len(r.ResourceNames) > 0 && (verb == "create" || verb == "deletecollection"):
			errs = append(errs, field.Invalid(p, verb, "RBAC never matches "+verb+" by resourceNames; the rule would grant nothing"))
		}
	}

	for i, name := range r.ResourceNames {
		p := path.Child("resourceNames").Index(i)
		switch {
		case name == "":
			errs = append(errs, field.Invalid(p, name, "an empty resource name matches no object"))
		case strings.Contains(name, Wildcard):
			errs = append(errs, field.Invalid(p, name, "resourceNames have no wildcards: '*' would match only an object literally named so"))
		case strings.ContainsAny(name, "/%"):
			errs = append(errs, field.Invalid(p, name, "an object name cannot contain '/' or '%'"))
		}
	}

	return rbacv1.PolicyRule{
		APIGroups:     []string{group},
		Resources:     append([]string(nil), r.Resources...),
		ResourceNames: append([]string(nil), r.ResourceNames...),
		Verbs:         append([]string(nil), r.Verbs...),
	}, errs
}

// validateResource accepts "res", "res/sub", and (with AllowWildcards) "*" and "*/sub".
func validateResource(p *field.Path, res string, opts BuildOptions) field.ErrorList {
	base, sub, hasSub := strings.Cut(res, "/")
	var errs field.ErrorList
	switch {
	case base == Wildcard:
		if !opts.AllowWildcards {
			errs = append(errs, wildcardRefused(p))
		}
	default:
		for _, msg := range validation.IsDNS1123Label(base) {
			errs = append(errs, field.Invalid(p, res, "resource: "+msg))
		}
	}
	if hasSub {
		switch {
		case sub == "":
			errs = append(errs, field.Invalid(p, res, "empty subresource"))
		case strings.Contains(sub, Wildcard):
			errs = append(errs, field.Invalid(p, res, "RBAC has no subresource wildcard; list the subresources"))
		case strings.ContainsAny(sub, " \t\n%"):
			errs = append(errs, field.Invalid(p, res, "a subresource cannot contain whitespace or '%'"))
		}
	}
	return errs
}

func wildcardRefused(p *field.Path) *field.Error {
	return field.Forbidden(p, fmt.Sprintf("%q is a wildcard; set BuildOptions.AllowWildcards to permit it", Wildcard))
}
