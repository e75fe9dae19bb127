package audit

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

const op = "system:serviceaccount:kubeopencode-system:kubeopencode-operator"

func line(user, stage, verb, group, resource, sub, ns string, code int, decision string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"` + stage + `","verb":"` + verb +
		`","requestURI":"/x","user":{"username":"` + user + `"},"objectRef":{"resource":"` + resource + `","namespace":"` + ns +
		`","apiGroup":"` + group + `","subresource":"` + sub + `"},"responseStatus":{"code":` + strconv.Itoa(code) +
		`},"annotations":{"authorization.k8s.io/decision":"` + decision + `"}}`
}

func TestParseAndCompare(t *testing.T) {
	log := strings.Join([]string{
		line(op, "ResponseComplete", "create", "", "pods", "", "platform", 201, "allow"),
		line(op, "RequestReceived", "create", "", "pods", "", "platform", 0, "allow"),
		line(op, "ResponseComplete", "update", "kubeopencode.io", "tasks", "status", "team-a", 200, "allow"),
		line(op, "ResponseComplete", "get", "", "secrets", "", "platform", 403, "forbid"),
		line("admin", "ResponseComplete", "delete", "", "pods", "", "platform", 200, "allow"),
		"",
	}, "\n")
	reqs, err := Parse(strings.NewReader(log), op)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("Parse kept %d requests, want the operator's 3 completed ones: %+v", len(reqs), reqs)
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "delete"}},
		{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"tasks/status"}, Verbs: []string{"update"}},
	}
	rep := Compare(rules, reqs)
	if d := cmp.Diff([]Grant{{"", "pods", "delete"}}, rep.Unused); d != "" {
		t.Errorf("unused (-want +got):\n%s", d)
	}
	if len(rep.Denied) != 1 || rep.Denied[0].Resource != "secrets" {
		t.Errorf("denied = %+v, want the secrets get", rep.Denied)
	}
	if rep.Used[Grant{"kubeopencode.io", "tasks/status", "update"}] != 1 {
		t.Errorf("used = %v", rep.Used)
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	if _, err := Parse(strings.NewReader("not json\n"), ""); err == nil {
		t.Error("want an error for a line that is not an audit event")
	}
}
