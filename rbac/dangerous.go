package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
)

// DangerousGrant is a permission that lets its holder read or mint credentials, run code inside
// other workloads, or raise its own privileges.
type DangerousGrant struct {
	// Name is "<resource>:<verb>" for the core group and "<resource>.<group>:<verb>" otherwise,
	// e.g. "secrets:get", "pods/exec:create", "roles.rbac.authorization.k8s.io:escalate".
	Name string
	// Reason says in one line why the grant is dangerous.
	Reason string
	// Rule is the grant as a policy rule with one group, one resource and one verb.
	Rule rbacv1.PolicyRule
}

// Names reported by [FindDangerous] for wildcards. A wildcard grants whatever the cluster serves,
// now and in future, so it is dangerous whatever it is combined with.
const (
	WildcardAPIGroups       = "wildcard:apiGroups"
	WildcardResources       = "wildcard:resources" // "*" or "*/<subresource>"
	WildcardVerbs           = "wildcard:verbs"
	WildcardNonResourceURLs = "wildcard:nonResourceURLs"
)

// DangerousGrants returns the grants [FindDangerous] looks for, in the order it reports them.
// Each call returns a fresh slice.
func DangerousGrants() []DangerousGrant {
	var out []DangerousGrant
	add := func(group, resource, reason string, verbs ...string) {
		for _, v := range verbs {
			name := resource
			if group != CoreGroup {
				base, sub, hasSub := strings.Cut(resource, "/")
				name = base + "." + group
				if hasSub {
					name = base + "." + group + "/" + sub
				}
			}
			out = append(out, DangerousGrant{
				Name:   name + ":" + v,
				Reason: reason,
				Rule:   rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{v}},
			})
		}
	}
	const rbacGroup, authnGroup = rbacv1.GroupName, "authentication.k8s.io"
	add(CoreGroup, "secrets", "reads credentials", "get", "list", "watch")
	add(CoreGroup, "secrets", "mints ServiceAccount tokens (service-account-token Secrets) or tampers with credentials",
		"create", "update", "patch", "delete", "deletecollection")
	add(rbacGroup, "roles", "grants permissions the holder does not have", "escalate", "bind")
	add(rbacGroup, "clusterroles", "grants permissions the holder does not have", "escalate", "bind")
	add(CoreGroup, "users", "acts as another user", "impersonate")
	add(CoreGroup, "groups", "acts as a member of another group", "impersonate")
	add(CoreGroup, "serviceaccounts", "acts as another ServiceAccount", "impersonate")
	add(authnGroup, "uids", "acts as another user", "impersonate")
	add(authnGroup, "users", "acts as another user (constrained impersonation)", "impersonate:user-info")
	add(authnGroup, "groups", "acts as a member of another group (constrained impersonation)", "impersonate:user-info")
	add(authnGroup, "serviceaccounts", "acts as another ServiceAccount (constrained impersonation)", "impersonate:serviceaccount")
	add(authnGroup, "nodes", "acts as a node (constrained impersonation)", "impersonate:arbitrary-node", "impersonate:associated-node")
	// get is listed besides create because websocket upgrades were authorized as get before
	// Kubernetes 1.31 and still are where AuthorizePodWebsocketUpgradeCreatePermission is off.
	add(CoreGroup, "pods", "runs a Pod as any ServiceAccount of the namespace and mounts any of its Secrets", "create")
	add(CoreGroup, "pods", "replaces a running Pod's container images, so any code runs with that Pod's ServiceAccount and Secrets", "update", "patch")
	add(CoreGroup, "pods/exec", "runs commands in other Pods and reads their mounted Secrets", "create", "get")
	add(CoreGroup, "pods/attach", "attaches to other Pods' processes", "create", "get")
	add(CoreGroup, "pods/portforward", "reaches other Pods' private ports", "create", "get")
	add(CoreGroup, "pods/ephemeralcontainers", "injects a container into a running Pod (like exec)", "update", "patch")
	add(CoreGroup, "nodes/proxy", "reaches the kubelet API, which can exec into any Pod on the node", "get", "create", "update", "patch", "delete")
	add(CoreGroup, "serviceaccounts/token", "mints tokens for any ServiceAccount in scope", "create")
	return out
}

// FindDangerous reports the dangerous grants rules contain: every [DangerousGrants] entry the
// rules cover, then the wildcard names (WildcardAPIGroups, ...) that apply. An empty result means
// the rules are clean.
//
// Containment is decided by k8s.io/component-helpers' Covers, the function the API server uses
// to prevent privilege escalation, not by matching strings. A grant limited to resourceNames is
// still reported: it is dangerous for those objects.
//
// Wildcards are found the same way: for every (group, resource, verb) or (URL, verb) the rules
// mention, FindDangerous asks whether the rules also cover that tuple with the verb, the group,
// the resource or the URL replaced by a name nobody can have listed. Only a wildcard covers it.
func FindDangerous(rules []rbacv1.PolicyRule) []string {
	anyName := make([]rbacv1.PolicyRule, 0, len(rules))
	for _, r := range rules {
		r.ResourceNames = nil
		anyName = append(anyName, r)
	}
	covers := func(probe rbacv1.PolicyRule) bool {
		ok, _ := validation.Covers(anyName, []rbacv1.PolicyRule{probe})
		return ok
	}
	var found []string
	for _, g := range DangerousGrants() {
		if covers(g.Rule) {
			found = append(found, g.Name)
		}
	}

	const probeName = "kubeopencode-unlisted-probe"
	var groups, resources, verbs, urls bool
	for _, r := range anyName {
		for _, atom := range validation.BreakdownRule(r) {
			probe := atom
			probe.Verbs = []string{probeName}
			verbs = verbs || covers(probe)
			if len(atom.NonResourceURLs) > 0 {
				probe = atom
				probe.NonResourceURLs = []string{atom.NonResourceURLs[0] + probeName}
				urls = urls || covers(probe)
				continue
			}
			probe = atom
			probe.APIGroups = []string{probeName + ".invalid"}
			groups = groups || covers(probe)
			probe = atom
			probe.Resources = []string{probeName}
			resources = resources || covers(probe)
			if _, sub, ok := strings.Cut(atom.Resources[0], "/"); ok {
				probe.Resources = []string{probeName + "/" + sub}
				resources = resources || covers(probe)
			}
		}
	}
	for _, w := range []struct {
		hit  bool
		name string
	}{{groups, WildcardAPIGroups}, {resources, WildcardResources}, {verbs, WildcardVerbs}, {urls, WildcardNonResourceURLs}} {
		if w.hit {
			found = append(found, w.name)
		}
	}
	return found
}
