package framework

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kubeopencode/kubeopencode/e2e/audit"
)

func TestProve(t *testing.T) {
	bindings := []Binding{
		{Name: "Role ops/leader", Namespace: "ops", Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "update"}},
		}},
		{Name: "ClusterRole op", Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "watch"}},
			{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"tasks/status"}, Verbs: []string{"update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"one"}, Verbs: []string{"get"}},
		}},
	}
	reqs := []audit.Request{
		{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Namespace: "ops", Allowed: true, Code: 404},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "ops", Allowed: true, Code: 200},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "elsewhere", Allowed: true, Code: 200},
		{Verb: "create", Resource: "pods", Namespace: "a", Allowed: true, Code: 201},
		{Verb: "create", Resource: "pods", Namespace: "b", Allowed: true, Code: 403},
		{Verb: "watch", Resource: "pods", Allowed: true, Code: 200},
		{Verb: "delete", Resource: "pods", Namespace: "a", Allowed: false, Code: 403},
		{Verb: "update", Group: "kubeopencode.io", Resource: "tasks/status", Namespace: "a", Allowed: true, Code: 200},
		{Verb: "get", Resource: "configmaps", Namespace: "a", Name: "one", Allowed: true, Code: 200},
		{NonResource: "/api", Verb: "get", Allowed: true, Code: 200},
	}
	p := Prove(bindings, reqs)
	type use struct {
		Grant      string
		Cluster, N int
	}
	var got []use
	for _, u := range p.Uses {
		got = append(got, use{u.Binding + ": " + u.Grant.Grant.String(), u.ByScope[ScopeCluster], u.ByScope[ScopeNamespace]})
	}
	want := []use{
		{"Role ops/leader: get coordination.k8s.io/leases", 0, 1},
		{"Role ops/leader: update coordination.k8s.io/leases", 0, 1},
		{"ClusterRole op: create core/pods", 0, 1},
		{"ClusterRole op: patch kubeopencode.io/tasks/status", 0, 0},
		{"ClusterRole op: update kubeopencode.io/tasks/status", 0, 1},
		{"ClusterRole op: watch core/pods", 1, 0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("uses (-want +got):\n%s", d)
	}
	names := func(rs []audit.Request) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Verb+" "+r.Resource+" "+r.Namespace+"/"+r.Name)
		}
		return out
	}
	if d := cmp.Diff([]string{"delete pods a/"}, names(p.Denied)); d != "" {
		t.Errorf("denied (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"create pods b/"}, names(p.Refused)); d != "" {
		t.Errorf("refused by admission (-want +got):\n%s", d)
	}
	// The lease update outside the Role's namespace, and the named ConfigMap (a rule with
	// resourceNames is not a grant the proof can call used), are outside the bindings' grants.
	if d := cmp.Diff([]string{"update leases elsewhere/", "get configmaps a/one"}, names(p.Outside)); d != "" {
		t.Errorf("outside (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Grant{{Binding: "ClusterRole op", Grant: audit.Grant{Group: "kubeopencode.io", Resource: "tasks/status", Verb: "patch"}}}, p.Unused()); d != "" {
		t.Errorf("unused (-want +got):\n%s", d)
	}
	if p.NonResource["/api"] != 1 {
		t.Errorf("non-resource %v, want /api once", p.NonResource)
	}
	if table := p.Table(); !strings.Contains(table, "ClusterRole op: watch core/pods") {
		t.Errorf("table lacks a grant:\n%s", table)
	}
}

func TestDecodeUnstructuredSkipsEmptyDocuments(t *testing.T) {
	objs, err := DecodeUnstructured(strings.NewReader("# comment only\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b, namespace: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if d := cmp.Diff([]string{"Namespace/a", "ServiceAccount/b"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestDecodeFileIsStrict(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("# header\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringDta: {k: v}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeFile(good, scheme.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := objs[0].(*corev1.Secret); len(objs) != 1 || !ok || s.StringData["k"] != "v" {
		t.Errorf("decoded %#v, want one typed Secret", objs)
	}
	if _, err := DecodeFile(bad, scheme.Scheme); err == nil || !strings.Contains(err.Error(), "stringDta") {
		t.Errorf("an unknown field decoded without an error naming it: %v", err)
	}
}

func TestOperatorStartStopTail(t *testing.T) {
	o := &Operator{Binary: "/bin/sh", Args: []string{"-c", "echo one; echo two; exec sleep 60"}, LogPath: filepath.Join(t.TempDir(), "op.log")}
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	if err := o.Start(); err == nil {
		t.Error("a second Start of a running operator succeeded")
	}
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return strings.HasSuffix(o.Tail(2), "one\ntwo"), nil
	})
	if err != nil {
		t.Fatalf("log tail %q: %v", o.Tail(5), err)
	}
	if exited, _ := o.Exited(); exited {
		t.Fatal("exited early")
	}
	if err := o.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if exited, _ := o.Exited(); !exited {
		t.Error("still running after Stop")
	}
	if err := o.Stop(time.Second); err != nil {
		t.Errorf("stopping a stopped operator: %v", err)
	}
	if err := o.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer o.Stop(5 * time.Second)
	if !strings.Contains(o.Tail(100), "=== e2e: starting /bin/sh") {
		t.Errorf("no start header in %q", o.Tail(100))
	}
}

func TestForwardCopiesBothWays(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = c.Write([]byte("echo: " + line))
			}()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := forward(ln, echo.Addr().String())
	defer f.Close()
	c, err := net.Dial("tcp", net.JoinHostPort(f.Host(), f.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "echo: hello\n" {
		t.Errorf("read %q, %v; want the echo", got, err)
	}
}
