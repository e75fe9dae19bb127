package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Request is one completed API request of the audit log, reduced to what RBAC decides on.
type Request struct {
	User        string
	Verb        string
	Group       string
	Resource    string // with "/subresource" when there is one
	Namespace   string // empty for cluster-scoped requests and for lists/watches across namespaces
	Name        string
	Code        int
	Allowed     bool // authorization.k8s.io/decision == "allow"
	NonResource string
}

// event is the subset of audit.k8s.io/v1 Event this package reads.
type event struct {
	Kind       string `json:"kind"`
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Annotations map[string]string `json:"annotations"`
}

// Parse reads a JSON-lines audit log and returns the completed requests of user (all users when
// empty). Lines that are not audit events are an error: a truncated log must not pass silently.
func Parse(r io.Reader, user string) ([]Request, error) {
	var out []Request
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Kind != "Event" {
			return nil, fmt.Errorf("audit log line %d is not an audit event: %v", n, err)
		}
		if ev.Stage != "ResponseComplete" || (user != "" && ev.User.Username != user) {
			continue
		}
		req := Request{User: ev.User.Username, Verb: ev.Verb, Allowed: ev.Annotations["authorization.k8s.io/decision"] == "allow"}
		if ev.ResponseStatus != nil {
			req.Code = ev.ResponseStatus.Code
		}
		if ev.ObjectRef == nil {
			req.NonResource = ev.RequestURI
		} else {
			o := ev.ObjectRef
			req.Group, req.Resource, req.Namespace, req.Name = o.APIGroup, o.Resource, o.Namespace, o.Name
			if o.Subresource != "" {
				req.Resource += "/" + o.Subresource
			}
		}
		out = append(out, req)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return out, nil
}

// Grant is one (group, resource, verb) a role allows.
type Grant struct {
	Group, Resource, Verb string
}

func (g Grant) String() string {
	group := g.Group
	if group == "" {
		group = "core"
	}
	return fmt.Sprintf("%s %s/%s", g.Verb, group, g.Resource)
}

// Expand lists the grants of rules (resource rules only, no resourceNames), sorted.
func Expand(rules []rbacv1.PolicyRule) []Grant {
	seen := map[Grant]bool{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					seen[Grant{g, res, v}] = true
				}
			}
		}
	}
	out := make([]Grant, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Grant) int {
		return strings.Compare(a.String(), b.String())
	})
	return out
}

// Report compares requests with granted rules.
type Report struct {
	// Unused grants were never exercised by an allowed request.
	Unused []Grant
	// Denied requests were refused by authorization (403 or decision "forbid").
	Denied []Request
	// Used counts allowed requests per grant, for the table in the closing note.
	Used map[Grant]int
}

// Compare matches requests to grants. Verbs compare as the audit log spells them (get, list,
// watch, create, update, patch, delete, deletecollection), which are RBAC's verbs.
func Compare(rules []rbacv1.PolicyRule, reqs []Request) Report {
	rep := Report{Used: map[Grant]int{}}
	for _, r := range reqs {
		if !r.Allowed || r.Code == 403 {
			rep.Denied = append(rep.Denied, r)
			continue
		}
		if r.NonResource != "" {
			continue
		}
		rep.Used[Grant{r.Group, r.Resource, r.Verb}]++
	}
	for _, g := range Expand(rules) {
		if rep.Used[g] == 0 {
			rep.Unused = append(rep.Unused, g)
		}
	}
	return rep
}
