package rbac

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Normalize returns rules in the canonical form controller-gen writes for kubebuilder RBAC
// markers, so the YAML looks familiar, and grants exactly what the input grants.
//
// Steps, as in controller-gen: every field is deduplicated and sorted; rules that differ only in
// their verbs are merged by unioning verbs; then rules that differ only in resources are merged
// (resources unioned), then those that differ only in API groups, then those that differ only in
// non-resource URLs; finally rules are ordered by the string
// "<groups> + <resources> + <resourceNames> + <urls>" (each list joined with "&"), so core-group
// rules come first. A verb list containing "*" becomes just "*".
//
// Two deliberate differences from controller-gen: rules are first split into one API group, one
// resource and one URL each (controller-gen splits only resources), which makes the result
// independent of how the input was grouped and means overlapping inputs can never overwrite one
// another; and rules that grant nothing (no verbs, or neither group+resource nor URL) are dropped.
// Normalize does not validate and does not refuse wildcards; [PolicyRules] does.
func Normalize(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	// 1. Split into atoms and union the verbs of identical atoms.
	atoms := map[string]*rbacv1.PolicyRule{}
	add := func(r rbacv1.PolicyRule) {
		k := key(r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs)
		if prev, ok := atoms[k]; ok {
			prev.Verbs = append(prev.Verbs, r.Verbs...)
			return
		}
		atoms[k] = &r
	}
	for _, r := range rules {
		verbs := set(r.Verbs)
		if len(verbs) == 0 {
			continue
		}
		names := set(r.ResourceNames)
		for _, g := range set(r.APIGroups) {
			for _, res := range set(r.Resources) {
				add(rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, ResourceNames: slices.Clone(names), Verbs: slices.Clone(verbs)})
			}
		}
		for _, u := range set(r.NonResourceURLs) {
			add(rbacv1.PolicyRule{NonResourceURLs: []string{u}, Verbs: slices.Clone(verbs)})
		}
	}
	merged := make([]*rbacv1.PolicyRule, 0, len(atoms))
	for _, r := range atoms {
		r.Verbs = set(r.Verbs)
		if slices.Contains(r.Verbs, rbacv1.VerbAll) {
			r.Verbs = []string{rbacv1.VerbAll}
		}
		merged = append(merged, r)
	}

	// 2. Merge rules equal in everything but one field, one field at a time.
	merged = mergeOn(merged, func(r *rbacv1.PolicyRule) *[]string { return &r.Resources })
	merged = mergeOn(merged, func(r *rbacv1.PolicyRule) *[]string { return &r.APIGroups })
	merged = mergeOn(merged, func(r *rbacv1.PolicyRule) *[]string { return &r.NonResourceURLs })

	// 3. Order like controller-gen; the collision-free key breaks ties between rules whose
	// values contain the separators.
	slices.SortFunc(merged, func(a, b *rbacv1.PolicyRule) int {
		return cmp.Or(
			strings.Compare(sortKey(a), sortKey(b)),
			strings.Compare(key(a.APIGroups, a.Resources, a.ResourceNames, a.NonResourceURLs),
				key(b.APIGroups, b.Resources, b.ResourceNames, b.NonResourceURLs)),
		)
	})
	out := make([]rbacv1.PolicyRule, 0, len(merged))
	for _, r := range merged {
		out = append(out, *r)
	}
	return out
}

// mergeOn unions the field selected by fieldOf across rules that are equal in every other field
// (verbs included).
func mergeOn(rules []*rbacv1.PolicyRule, fieldOf func(*rbacv1.PolicyRule) *[]string) []*rbacv1.PolicyRule {
	groups := map[string]*rbacv1.PolicyRule{}
	var order []string
	for _, r := range rules {
		saved := *fieldOf(r)
		*fieldOf(r) = nil
		k := key(r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs, r.Verbs)
		*fieldOf(r) = saved
		if prev, ok := groups[k]; ok {
			*fieldOf(prev) = set(append(*fieldOf(prev), saved...))
			continue
		}
		groups[k] = r
		order = append(order, k)
	}
	out := make([]*rbacv1.PolicyRule, 0, len(order))
	for _, k := range order {
		out = append(out, groups[k])
	}
	return out
}

// set returns the sorted distinct values of s, or nil when s is empty.
func set(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// key is an unambiguous identity for a tuple of string lists: every list and value is
// length-prefixed, so no choice of values can make two different tuples collide.
func key(lists ...[]string) string {
	var b strings.Builder
	for _, l := range lists {
		b.WriteString(strconv.Itoa(len(l)))
		b.WriteByte('[')
		for _, s := range l {
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteByte(':')
			b.WriteString(s)
		}
	}
	return b.String()
}

// sortKey is controller-gen's rule ordering key.
func sortKey(r *rbacv1.PolicyRule) string {
	return strings.Join([]string{
		strings.Join(r.APIGroups, "&"),
		strings.Join(r.Resources, "&"),
		strings.Join(r.ResourceNames, "&"),
		strings.Join(r.NonResourceURLs, "&"),
	}, " + ")
}
