//go:build e2e

package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
)

// lifecycleAgent is an Agent whose Pods run on the kwok fake node; with finish, its Pods end
// Succeeded about a second after they run.
func lifecycleAgent(ns, name string, allowed []string, finish bool) *v1alpha1.Agent {
	a := &v1alpha1.Agent{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.AgentSpec{
			AgentImage: agentImage, ExecutorImage: probeImage, WorkspaceDir: "/workspace",
			ServiceAccountName: "default", AllowedNamespaces: allowed,
		},
	}
	onKwok(&a.Spec)
	if finish {
		a.Spec.PodSpec.Annotations = map[string]string{kwokExitCodeAnnotation: "0"}
	}
	return a
}

// TestCrossNamespaceLifecycle is scenario 3, on the kwok node: a Task from another namespace is
// stopped, times out or is deleted, and each time its Pod in the Agent's namespace is removed
// (T5), and a same-namespace Task's Pod goes with it through the garbage collector, even when it
// is deleted with propagationPolicy Orphan (T18); 20 Tasks from 4 namespaces on an Agent with maxConcurrentTasks 2 never have more than 2
// Pods running at once (T7). It also proves KubeOpenCodeConfig cleanup: a finished Task is
// deleted after ttlSecondsAfterFinished, its Pod with it.
func TestCrossNamespaceLifecycle(t *testing.T) {
	logOperatorOnFailure(t)
	prefix := envconf.RandomName("lc", 8)
	agentNS := prefix + "-agents"
	taskNS := []string{prefix + "-t1", prefix + "-t2", prefix + "-t3", prefix + "-t4"}
	var runner, finisher *v1alpha1.Agent

	// startTask creates a Task from taskNS[i] on runner and waits until its Pod runs.
	startTask := func(ctx context.Context, t *testing.T, cfg *envconf.Config, i int, timeout *metav1.Duration) (*v1alpha1.Task, *corev1.Pod) {
		t.Helper()
		c := adminClient(cfg)
		task := newTask(taskNS[i], envconf.RandomName("task", 10), agentNS, runner.Name)
		task.Spec.Timeout = timeout
		createTask(ctx, t, cfg, c, task)
		got := waitTask(ctx, t, c, task, "to run", func(t *v1alpha1.Task) bool { return t.Status.Phase == v1alpha1.TaskPhaseRunning || isFinal(t) })
		if got.Status.Phase != v1alpha1.TaskPhaseRunning {
			t.Fatalf("Task ended %s before it ran: %+v", got.Status.Phase, succeeded(got))
		}
		pod := taskPod(ctx, t, c, agentNS, got)
		waitPhase(ctx, t, cfg.Client().Resources(), pod, corev1.PodRunning)
		if pod.Spec.NodeName != kwokNode {
			t.Fatalf("Pod %s runs on %q, want %s", pod.Name, pod.Spec.NodeName, kwokNode)
		}
		return got, pod
	}
	// assertEnded checks the Task's end and that its Pod is gone from the Agent's namespace.
	assertEnded := func(ctx context.Context, t *testing.T, cfg *envconf.Config, task *v1alpha1.Task, pod *corev1.Pod, reason string) {
		t.Helper()
		c := adminClient(cfg)
		got := waitTaskFinal(ctx, t, c, task)
		if cond := succeeded(got); got.Status.Phase != v1alpha1.TaskPhaseFailed || cond.Reason != reason {
			t.Errorf("Task ended %s with %s (%s), want Failed with %s", got.Status.Phase, cond.Reason, cond.Message, reason)
		}
		waitGone(ctx, t, c, pod, time.Minute)
	}

	f := features.New("scenario 3: cross-namespace lifecycle on the kwok node").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for _, ns := range append([]string{agentNS}, taskNS...) {
				createNamedNamespace(ctx, t, cfg, ns, nil)
			}
			runner = lifecycleAgent(agentNS, "runner", []string{prefix + "-t*"}, false)
			finisher = lifecycleAgent(agentNS, "finisher", []string{prefix + "-t*"}, true)
			finisher.Spec.MaxConcurrentTasks = ptr.To[int32](2)
			createAgent(ctx, t, adminClient(cfg), runner)
			createAgent(ctx, t, adminClient(cfg), finisher)
			return ctx
		}).
		Assess("stop (annotation) ends the Task Stopped and deletes its Pod in the Agent's namespace", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			task, pod := startTask(ctx, t, cfg, 0, nil)
			patch := []byte(`{"metadata":{"annotations":{"` + v1alpha1.StopAnnotation + `":"` + v1alpha1.StopAnnotationValue + `"}}}`)
			if err := adminClient(cfg).Patch(ctx, task, client.RawPatch(types.MergePatchType, patch)); err != nil {
				t.Fatal(err)
			}
			assertEnded(ctx, t, cfg, task, pod, v1alpha1.ReasonStopped)
			got := &v1alpha1.Task{}
			if err := adminClient(cfg).Get(ctx, client.ObjectKeyFromObject(task), got); err != nil {
				t.Fatal(err)
			}
			if !meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionStopped) {
				t.Errorf("Stopped condition not True: %+v", got.Status.Conditions)
			}
			return ctx
		}).
		Assess("timeout ends the Task TimedOut and deletes its Pod", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			task, pod := startTask(ctx, t, cfg, 1, &metav1.Duration{Duration: 3 * time.Second})
			assertEnded(ctx, t, cfg, task, pod, v1alpha1.ReasonTimedOut)
			return ctx
		}).
		Assess("deleting the Task deletes its Pod before the Task goes", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			task, pod := startTask(ctx, t, cfg, 2, nil)
			if err := c.Delete(ctx, task); err != nil {
				t.Fatal(err)
			}
			waitGone(ctx, t, c, task, time.Minute)
			// The finalizer deletes the Pod first, so by now it is at least being deleted.
			live := &corev1.Pod{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(pod), live); err == nil && live.DeletionTimestamp == nil {
				t.Errorf("the Task is gone but its Pod %s is not being deleted", pod.Name)
			}
			waitGone(ctx, t, c, pod, time.Minute)
			return ctx
		}).
		Assess("deleting a same-namespace Task: no finalizer, the garbage collector deletes its Pod", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			task := newTask(agentNS, envconf.RandomName("own", 10), agentNS, runner.Name)
			createTask(ctx, t, cfg, c, task)
			got := waitTask(ctx, t, c, task, "to run", func(t *v1alpha1.Task) bool { return t.Status.Phase == v1alpha1.TaskPhaseRunning || isFinal(t) })
			if got.Status.Phase != v1alpha1.TaskPhaseRunning {
				t.Fatalf("Task ended %s before it ran: %+v", got.Status.Phase, succeeded(got))
			}
			if len(got.Finalizers) != 0 {
				t.Errorf("a same-namespace Task carries finalizers %v, want none", got.Finalizers)
			}
			pod := taskPod(ctx, t, c, agentNS, got)
			if err := c.Delete(ctx, got); err != nil {
				t.Fatal(err)
			}
			waitGone(ctx, t, c, got, time.Minute)
			// kube-controller-manager's garbage collector, not the operator, removes it.
			waitGone(ctx, t, c, pod, time.Minute)
			return ctx
		}).
		Assess("an orphan delete (--cascade=orphan) of a same-namespace Task: the real garbage collector orphans the Pod, the operator deletes it (T18)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			task := newTask(agentNS, envconf.RandomName("orphan", 10), agentNS, runner.Name)
			createTask(ctx, t, cfg, c, task)
			got := waitTask(ctx, t, c, task, "to run", func(t *v1alpha1.Task) bool { return t.Status.Phase == v1alpha1.TaskPhaseRunning || isFinal(t) })
			if got.Status.Phase != v1alpha1.TaskPhaseRunning {
				t.Fatalf("Task ended %s before it ran: %+v", got.Status.Phase, succeeded(got))
			}
			pod := taskPod(ctx, t, c, agentNS, got)
			waitPhase(ctx, t, cfg.Client().Resources(), pod, corev1.PodRunning)
			if err := c.Delete(ctx, got, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
				t.Fatal(err)
			}
			// kube-controller-manager's garbage collector strips the owner reference and lets
			// the Task go; the operator must not let the orphaned Pod run on.
			waitGone(ctx, t, c, got, time.Minute)
			waitGone(ctx, t, c, pod, time.Minute)
			return ctx
		}).
		Assess("a Task naming an Agent that does not exist fails AgentNotFound", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			task := newTask(taskNS[3], "no-agent", agentNS, "no-such-agent")
			createTask(ctx, t, cfg, c, task)
			got := waitTaskFinal(ctx, t, c, task)
			if cond := succeeded(got); got.Status.Phase != v1alpha1.TaskPhaseFailed || cond.Reason != v1alpha1.ReasonAgentNotFound {
				t.Errorf("Task ended %s with %s (%s), want Failed with %s", got.Status.Phase, cond.Reason, cond.Message, v1alpha1.ReasonAgentNotFound)
			}
			return ctx
		}).
		Assess("maxConcurrentTasks 2: 20 Tasks from 4 namespaces, never more than 2 Pods at once", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
			if err != nil {
				t.Fatal(err)
			}
			// One watch, opened before the first Task, sees every Pod state change in order.
			w, err := cs.CoreV1().Pods(agentNS).Watch(ctx, metav1.ListOptions{LabelSelector: v1alpha1.AgentLabel + "=" + finisher.Name})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			var (
				mu        sync.Mutex
				active    = map[types.UID]bool{}
				seen      = map[types.UID]bool{}
				maxActive int
			)
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				for ev := range w.ResultChan() {
					pod, ok := ev.Object.(*corev1.Pod)
					if !ok {
						continue
					}
					mu.Lock()
					seen[pod.UID] = true
					finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
					if ev.Type == watch.Deleted || finished {
						delete(active, pod.UID)
					} else {
						active[pod.UID] = true
					}
					maxActive = max(maxActive, len(active))
					mu.Unlock()
				}
			}()
			var tasks []*v1alpha1.Task
			for i := range 20 {
				task := newTask(taskNS[i%4], fmt.Sprintf("burst-%02d", i), agentNS, finisher.Name)
				createTask(ctx, t, cfg, c, task)
				tasks = append(tasks, task)
			}
			for _, task := range tasks {
				if got := waitTaskFinal(ctx, t, c, task); got.Status.Phase != v1alpha1.TaskPhaseCompleted {
					t.Errorf("Task %s/%s ended %s: %+v", task.Namespace, task.Name, got.Status.Phase, succeeded(got))
				}
			}
			w.Stop()
			<-watched
			mu.Lock()
			defer mu.Unlock()
			if maxActive != 2 || len(seen) != 20 {
				t.Errorf("%d Pods were created and at most %d ran at once; want 20 Pods, exactly 2 at once", len(seen), maxActive)
			}
			return ctx
		}).
		Assess("KubeOpenCodeConfig cleanup deletes a finished Task, and its Pod, after ttlSecondsAfterFinished", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			config := &v1alpha1.KubeOpenCodeConfig{
				ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ConfigName},
				Spec:       v1alpha1.KubeOpenCodeConfigSpec{Cleanup: &v1alpha1.CleanupConfig{TTLSecondsAfterFinished: ptr.To[int32](1)}},
			}
			if err := framework.Apply(ctx, c, config); err != nil {
				t.Fatal(err)
			}
			// Every finished Task of the cluster is deleted while this exists: remove it at once.
			defer func() { _ = ignoreNotFound(c.Delete(context.Background(), config)) }()
			waitFor(ctx, t, "KubeOpenCodeConfig Ready", taskTimeout, func(ctx context.Context) (bool, error) {
				got := &v1alpha1.KubeOpenCodeConfig{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(config), got); err != nil {
					return false, err
				}
				return meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady) && got.Status.ObservedGeneration == got.Generation, nil
			})
			task := newTask(taskNS[3], "cleaned-up", agentNS, finisher.Name)
			createTask(ctx, t, cfg, c, task)
			got := waitTask(ctx, t, c, task, "to run", func(t *v1alpha1.Task) bool { return t.Status.PodName != "" })
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: got.Status.PodName}}
			waitGone(ctx, t, c, task, time.Minute)
			waitGone(ctx, t, c, pod, time.Minute)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
