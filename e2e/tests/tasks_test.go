//go:build e2e

package tests

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/e2e/probe"
)

// Names shared with hack/testbed: the kwok node's label and taint, the annotation its exit Stage
// reacts to, and the images images.sh imports into the real node's containerd.
const (
	kwokNode               = "kwok-node-0"
	kwokExitCodeAnnotation = "e2e.kwok/exit-code"
	probeImage             = "example.local/probe:v1"
	agentImage             = "example.local/agent:v1"
	// agentBinary is where example.local/agent:v1's entrypoint installs the probe (probe install).
	agentBinary = "/tools/opencode"
)

// taskTimeout bounds how long a Task may take to end on either node.
const taskTimeout = 2 * time.Minute

// onKwok makes an Agent's Pods run on the kwok fake node.
func onKwok(spec *v1alpha1.AgentSpec) {
	if spec.PodSpec == nil {
		spec.PodSpec = &v1alpha1.AgentPodSpec{}
	}
	spec.PodSpec.Scheduling = &v1alpha1.PodScheduling{
		NodeSelector: map[string]string{"type": "kwok"},
		Tolerations:  []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}
}

// createAgent applies the Agent as the admin and deletes it when the test ends.
func createAgent(ctx context.Context, t *testing.T, c client.Client, agent *v1alpha1.Agent) {
	t.Helper()
	if err := framework.Apply(ctx, c, agent); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), agent)) })
}

// createTask creates task with c and, when the test ends, deletes it as the admin and waits until
// it is gone (the operator's finalizer has removed its Pod first), so that namespaces are deleted
// with nothing of the operator's in flight.
func createTask(ctx context.Context, t *testing.T, cfg *envconf.Config, c client.Client, task *v1alpha1.Task) {
	t.Helper()
	if err := c.Create(ctx, task); err != nil {
		t.Fatalf("creating Task %s/%s: %v", task.Namespace, task.Name, err)
	}
	t.Cleanup(func() { deleteTaskAndWait(context.Background(), t, cfg, task) })
}

func deleteTaskAndWait(ctx context.Context, t *testing.T, cfg *envconf.Config, task *v1alpha1.Task) {
	t.Helper()
	admin := adminClient(cfg)
	if err := ignoreNotFound(admin.Delete(ctx, task)); err != nil {
		t.Errorf("deleting Task %s/%s: %v", task.Namespace, task.Name, err)
		return
	}
	waitGone(ctx, t, admin, task, time.Minute)
}

// newTask is a Task in namespace ns for the Agent agentNS/agentName.
func newTask(ns, name, agentNS, agentName string) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.TaskSpec{
			Description: "e2e: " + name,
			AgentRef:    v1alpha1.AgentReference{Name: agentName, Namespace: agentNS},
		},
	}
}

func isFinal(task *v1alpha1.Task) bool {
	return task.Status.Phase == v1alpha1.TaskPhaseCompleted || task.Status.Phase == v1alpha1.TaskPhaseFailed
}

// waitTask waits until the Task satisfies cond and returns it.
func waitTask(ctx context.Context, t *testing.T, c client.Client, task *v1alpha1.Task, what string, cond func(*v1alpha1.Task) bool) *v1alpha1.Task {
	t.Helper()
	got := &v1alpha1.Task{}
	waitFor(ctx, t, fmt.Sprintf("Task %s/%s %s (last status %+v)", task.Namespace, task.Name, what, &got.Status), taskTimeout,
		func(ctx context.Context) (bool, error) {
			if err := c.Get(ctx, client.ObjectKeyFromObject(task), got); err != nil {
				return false, err
			}
			return cond(got), nil
		})
	return got
}

func waitTaskFinal(ctx context.Context, t *testing.T, c client.Client, task *v1alpha1.Task) *v1alpha1.Task {
	t.Helper()
	return waitTask(ctx, t, c, task, "to end", isFinal)
}

// succeeded returns the Task's Succeeded condition (zero when missing).
func succeeded(task *v1alpha1.Task) metav1.Condition {
	if c := meta.FindStatusCondition(task.Status.Conditions, v1alpha1.ConditionSucceeded); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// taskPods lists the Pods carrying the Task's UID label in namespace ns.
func taskPods(ctx context.Context, t *testing.T, c client.Client, ns string, task *v1alpha1.Task) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.TaskUIDLabel: string(task.UID)}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// taskPod returns the Task's one Pod in namespace ns, failing the test otherwise.
func taskPod(ctx context.Context, t *testing.T, c client.Client, ns string, task *v1alpha1.Task) *corev1.Pod {
	t.Helper()
	pods := taskPods(ctx, t, c, ns, task)
	if len(pods) != 1 {
		t.Fatalf("Task %s/%s has %d Pods in namespace %s, want 1", task.Namespace, task.Name, len(pods), ns)
	}
	return &pods[0]
}

// taskEvents are the events.k8s.io Events regarding the Task, in its namespace.
func taskEvents(ctx context.Context, t *testing.T, c client.Client, task *v1alpha1.Task) []eventsv1.Event {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := c.List(ctx, list, client.InNamespace(task.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "Task" && e.Regarding.UID == task.UID {
			out = append(out, e)
		}
	}
	return out
}

// containerExit returns the exit code of a terminated container of the Pod, or -1.
func containerExit(pod *corev1.Pod, name string) int32 {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == name && cs.State.Terminated != nil {
			return cs.State.Terminated.ExitCode
		}
	}
	return -1
}

// readReport fetches the container log through the API server (which reaches the kubelet) and
// decodes the probe's report.
func readReport(ctx context.Context, t *testing.T, cfg *envconf.Config, ns, pod, container string) probe.Report {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	stream, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		t.Fatalf("reading logs of %s/%s: %v", ns, pod, err)
	}
	defer stream.Close()
	log, err := io.ReadAll(stream)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := probe.Parse(log)
	if err != nil {
		t.Fatalf("%v; log was:\n%s", err, log)
	}
	return rep
}

// exampleObjects decodes (strictly) an example file of the repository's examples/ directory.
func exampleObjects(t *testing.T, rel string) []runtime.Object {
	t.Helper()
	objs, err := framework.DecodeFile(filepath.Join(suite.repoRoot, "examples", rel), scheme.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// applyExample applies every object of an example file as the admin.
func applyExample(ctx context.Context, t *testing.T, c client.Client, rel string) {
	t.Helper()
	for _, o := range exampleObjects(t, rel) {
		if err := framework.Apply(ctx, c, o.(client.Object)); err != nil {
			t.Fatal(err)
		}
	}
}

// exampleOf returns the first object of type T in an example file.
func exampleOf[T runtime.Object](t *testing.T, rel string) T {
	t.Helper()
	for _, o := range exampleObjects(t, rel) {
		if v, ok := o.(T); ok {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T in examples/%s", zero, rel)
	return zero
}

// asUser is the admin's client impersonating user in groups (plus system:authenticated).
func asUser(t *testing.T, cfg *envconf.Config, user string, groups ...string) client.Client {
	t.Helper()
	rc := rest.CopyConfig(cfg.Client().RESTConfig())
	rc.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(rc, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logOperatorOnFailure prints the operator's log tail when the test fails.
func logOperatorOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("operator log tail:\n%s", operatorTail())
		}
	})
}
