package chaos

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

// call is what the escaper sent, reduced to what the test judges.
type call struct {
	Verb, Namespace, Name, Subresource string
	Patch                              map[string]any
	Propagation                        string
	UID                                string
}

func recordCalls(c *dynfake.FakeDynamicClient) func() []call {
	var calls []call
	c.PrependReactor("*", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		k := call{Verb: a.GetVerb(), Namespace: a.GetNamespace(), Subresource: a.GetSubresource()}
		switch a := a.(type) {
		case clienttesting.PatchAction:
			k.Name = a.GetName()
			_ = json.Unmarshal(a.GetPatch(), &k.Patch)
		case clienttesting.DeleteAction:
			k.Name = a.GetName()
			if p := a.GetDeleteOptions().PropagationPolicy; p != nil {
				k.Propagation = string(*p)
			}
			if pre := a.GetDeleteOptions().Preconditions; pre != nil && pre.UID != nil {
				k.UID = string(*pre.UID)
			}
		case clienttesting.CreateAction:
			k.Name = a.GetObject().(*unstructured.Unstructured).GetName()
		case clienttesting.GetAction:
			k.Name = a.GetName()
		}
		calls = append(calls, k)
		return false, nil, nil
	})
	return func() []call { return calls }
}

func victimTask(ns, name, uid string, finalizers ...string) *unstructured.Unstructured {
	u := TaskObject(ns, name, AgentKey{Namespace: "chaos-c", Name: "large"}, "r")
	u.SetUID(types.UID(uid))
	u.SetResourceVersion("7")
	u.SetFinalizers(finalizers)
	return u
}

// TestEscapes: each escape makes the calls a task author would: the finalizer strip removes only
// kubeopencode.io/cleanup under the read resourceVersion, then deletes with the UID
// precondition; the orphan delete uses propagationPolicy Orphan, then creates the name again;
// the forged status patches the status subresource, as the status writer.
func TestEscapes(t *testing.T) {
	scheme := runtime.NewScheme()
	lists := map[schema.GroupVersionResource]string{load.TaskResource: "TaskList"}
	tests := []struct {
		kind  EscapeKind
		task  *unstructured.Unstructured
		want  []call
		wantW []call
	}{{
		kind: StripFinalizer,
		task: victimTask("chaos-a", "t1", "u1", "example.com/keep", cleanupFinalizer),
		want: []call{
			{Verb: "get", Namespace: "chaos-a", Name: "t1"},
			{Verb: "patch", Namespace: "chaos-a", Name: "t1", Patch: map[string]any{"metadata": map[string]any{
				"resourceVersion": "7", "finalizers": []any{"example.com/keep"}}}},
			{Verb: "delete", Namespace: "chaos-a", Name: "t1", UID: "u1"},
		},
	}, {
		kind: OrphanDelete,
		task: victimTask("chaos-c", "t2", "u2"),
		want: []call{
			{Verb: "delete", Namespace: "chaos-c", Name: "t2", UID: "u2", Propagation: "Orphan"},
			{Verb: "create", Namespace: "chaos-c", Name: "t2"},
		},
	}, {
		kind: ForgeStatus,
		task: victimTask("chaos-b", "t3", "u3"),
		wantW: []call{
			{Verb: "patch", Namespace: "chaos-b", Name: "t3", Subresource: "status", Patch: map[string]any{"status": map[string]any{"phase": "Completed"}}},
		},
	}}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			author := dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists, tc.task.DeepCopy())
			writer := dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists, tc.task.DeepCopy())
			authorCalls, writerCalls := recordCalls(author), recordCalls(writer)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			e := &Escaper{Author: author, StatusWriter: writer, RunID: "r"}
			e.Start(ctx, 1)
			e.Add(tc.kind, tc.task.GetNamespace(), tc.task.GetName(), AgentKey{Namespace: "chaos-c", Name: "large"})
			pod := Object{Kind: KindPod, UID: "p", Namespace: "chaos-c", Name: "pod", TaskUID: string(tc.task.GetUID()),
				Task: tc.task.GetNamespace() + "/" + tc.task.GetName(), Phase: "Running"}
			if !e.Skip(pod) {
				t.Error("a victim's Pod must be left running by the finisher")
			}
			e.OnEvent(Event{Type: Modified, Object: pod})
			e.OnEvent(Event{Type: Modified, Object: pod}) // once per victim
			e.Wait()
			if d := cmp.Diff(tc.want, authorCalls()); d != "" {
				t.Errorf("author's calls (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantW, writerCalls()); d != "" {
				t.Errorf("status writer's calls (-want +got):\n%s", d)
			}
			stats, _ := e.Stats()
			if s := stats[tc.kind]; s.Tried != 1 || s.Refused != 0 || s.Errors != 0 {
				t.Errorf("stats = %+v, want 1 tried, nothing refused or failed", s)
			}
			newPod := pod
			newPod.TaskUID = "other"
			if e.Skip(newPod) {
				t.Error("the Pod of a Task recreated under the victim's name must finish like any other")
			}
		})
	}
}
