package framework

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeopencode/kubeopencode/e2e/audit"
)

// Binding is a role as bound to the audited user: Rules apply in Namespace, or everywhere when
// Namespace is empty (a ClusterRole bound by a ClusterRoleBinding).
type Binding struct {
	// Name names the role in reports, e.g. "ClusterRole kubeopencode-operator".
	Name      string
	Namespace string
	Rules     []rbacv1.PolicyRule
}

// Scope says where a request acted: ScopeCluster for a cluster-scoped object or a list/watch
// across all namespaces, ScopeNamespace for one namespace.
const (
	ScopeCluster   = "cluster-wide"
	ScopeNamespace = "namespaced"
)

// Grant is one (verb, group, resource) of one binding.
type Grant struct {
	Binding string
	audit.Grant
}

// Use is how often a grant was used, per scope.
type Use struct {
	Grant
	ByScope map[string]int
}

// Total is the number of requests over every scope.
func (u Use) Total() int {
	n := 0
	for _, c := range u.ByScope {
		n += c
	}
	return n
}

// Proof compares the audited requests of one user with the bindings it holds.
type Proof struct {
	// Uses has one entry per granted (binding, verb, group, resource), in the bindings' order,
	// with how often allowed requests used it.
	Uses []Use
	// Denied are the requests authorization refused (decision other than "allow").
	Denied []audit.Request
	// Refused are requests that authorization allowed but that ended 403 anyway (refused by
	// admission, e.g. a create in a namespace being deleted): not an RBAC denial.
	Refused []audit.Request
	// Outside are allowed resource requests that no binding's rule covers: the user acted through
	// some other role (for example the defaults every authenticated user holds), or through a rule
	// limited by resourceNames, which the proof does not count as a grant.
	Outside []audit.Request
	// NonResource counts allowed non-resource requests (discovery) by URL.
	NonResource map[string]int
}

// Unused are the grants no request used.
func (p Proof) Unused() []Grant {
	var out []Grant
	for _, u := range p.Uses {
		if u.Total() == 0 {
			out = append(out, u.Grant)
		}
	}
	return out
}

// Prove attributes each request to the first binding whose rules allow it (list namespaced
// bindings first: they are the more specific).
func Prove(bindings []Binding, reqs []audit.Request) Proof {
	p := Proof{NonResource: map[string]int{}}
	index := map[Grant]int{}
	for _, b := range bindings {
		for _, g := range audit.Expand(withoutResourceNames(b.Rules)) {
			k := Grant{Binding: b.Name, Grant: g}
			if _, ok := index[k]; !ok {
				index[k] = len(p.Uses)
				p.Uses = append(p.Uses, Use{Grant: k, ByScope: map[string]int{}})
			}
		}
	}
	for _, r := range reqs {
		switch {
		case !r.Allowed:
			p.Denied = append(p.Denied, r)
			continue
		case r.Code == 403:
			p.Refused = append(p.Refused, r)
			continue
		case r.NonResource != "":
			p.NonResource[r.NonResource]++
			continue
		}
		matched := false
		for _, b := range bindings {
			if b.Namespace != "" && b.Namespace != r.Namespace {
				continue
			}
			if !rulesAllow(withoutResourceNames(b.Rules), r) {
				continue
			}
			scope := ScopeNamespace
			if r.Namespace == "" {
				scope = ScopeCluster
			}
			p.Uses[index[Grant{Binding: b.Name, Grant: audit.Grant{Group: r.Group, Resource: r.Resource, Verb: r.Verb}}]].ByScope[scope]++
			matched = true
			break
		}
		if !matched {
			p.Outside = append(p.Outside, r)
		}
	}
	return p
}

// withoutResourceNames keeps rules that apply to every object of their resources; the generated
// operator roles have no resourceNames, and a named rule cannot be "used" as a whole.
func withoutResourceNames(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		if len(r.ResourceNames) == 0 {
			out = append(out, r)
		}
	}
	return out
}

func rulesAllow(rules []rbacv1.PolicyRule, r audit.Request) bool {
	for _, rule := range rules {
		if has(rule.APIGroups, r.Group) && has(rule.Resources, r.Resource) && has(rule.Verbs, r.Verb) {
			return true
		}
	}
	return false
}

func has(list []string, v string) bool {
	return slices.Contains(list, v) || slices.Contains(list, "*")
}

// Table renders the uses as a fixed-width table: binding, verb, group, resource, count per scope.
func (p Proof) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-60s %-9s %-6s %-6s\n", "grant (binding: verb group/resource)", ScopeCluster, "ns", "total")
	for _, u := range p.Uses {
		fmt.Fprintf(&b, "%-60s %-9d %-6d %-6d\n", u.Binding+": "+u.Grant.Grant.String(), u.ByScope[ScopeCluster], u.ByScope[ScopeNamespace], u.Total())
	}
	return b.String()
}
