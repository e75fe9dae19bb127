package controller

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

func TestTrimPodForCache(t *testing.T) {
	created := metav1.Unix(1000, 0)
	deleted := metav1.Unix(2000, 0)
	owner := []metav1.OwnerReference{{APIVersion: "kubeopencode.io/v1alpha1", Kind: "Task", Name: "t", UID: "u", Controller: ptr.To(true)}}
	conds := []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
	statuses := []corev1.ContainerStatus{{Name: "agent", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError"}}}}
	full := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", UID: types.UID("pod-uid"), ResourceVersion: "7", Generation: 1,
			CreationTimestamp: created, DeletionTimestamp: &deleted, DeletionGracePeriodSeconds: ptr.To[int64](30),
			Labels: map[string]string{"kubeopencode.io/task-uid": "u"}, OwnerReferences: owner, Finalizers: []string{"f"},
			Annotations:   map[string]string{"kubeopencode.io/task-description": "a long description"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubeopencode"}},
		},
		Spec: corev1.PodSpec{NodeName: "node-1", ActiveDeadlineSeconds: ptr.To[int64](3600),
			Containers: []corev1.Container{{Name: "agent", Image: "img", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodPending, Reason: "r", Message: "m", Conditions: conds, HostIP: "10.0.0.1", PodIP: "10.1.0.1",
			InitContainerStatuses: statuses, ContainerStatuses: statuses, QOSClass: corev1.PodQOSBestEffort,
		},
	}
	want := &corev1.Pod{
		TypeMeta: full.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", UID: types.UID("pod-uid"), ResourceVersion: "7", Generation: 1,
			CreationTimestamp: created, DeletionTimestamp: &deleted, DeletionGracePeriodSeconds: ptr.To[int64](30),
			Labels: map[string]string{"kubeopencode.io/task-uid": "u"}, OwnerReferences: owner, Finalizers: []string{"f"},
		},
		Spec: corev1.PodSpec{NodeName: "node-1", ActiveDeadlineSeconds: ptr.To[int64](3600)},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Reason: "r", Message: "m", Conditions: conds,
			InitContainerStatuses: statuses, ContainerStatuses: statuses},
	}
	got, err := TrimPodForCache(full)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("TrimPodForCache (-want +got):\n%s", d)
	}
	// What the reconciler derives from a Pod is the same before and after trimming.
	now := created.Add(125 * time.Second)
	if d := cmp.Diff(taskpod.ReadPod(full, now, DefaultPodStartTimeout), taskpod.ReadPod(got.(*corev1.Pod), now, DefaultPodStartTimeout)); d != "" {
		t.Errorf("taskpod.ReadPod differs on the trimmed Pod (-full +trimmed):\n%s", d)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Annotations: map[string]string{"a": "b"}}}
	if got, _ := TrimPodForCache(cm); got != cm {
		t.Errorf("a ConfigMap was changed: %v", got)
	}
}

// TestTrimTaskForCache: a maximum-size Task keeps, in the cache, only what routing and following
// it need (T24), and everything the reconcilers derive from the cached Task is unchanged.
func TestTrimTaskForCache(t *testing.T) {
	huge := strings.Repeat("x", 32768)
	var contexts []v1alpha1.ContextItem
	for i := range 16 {
		contexts = append(contexts, v1alpha1.ContextItem{Name: fmt.Sprintf("c%d", i), Type: v1alpha1.ContextTypeText, Text: huge})
	}
	started := metav1.Unix(1000, 0)
	deleted := metav1.Unix(2000, 0)
	status := v1alpha1.TaskStatus{Phase: v1alpha1.TaskPhaseRunning, PodName: "p", PodNamespace: "agents", StartTime: &started,
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionSucceeded, Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonPodCreated}}}
	full := &v1alpha1.Task{
		TypeMeta: metav1.TypeMeta{Kind: "Task", APIVersion: "kubeopencode.io/v1alpha1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "t", Namespace: "team", UID: "task-uid", ResourceVersion: "9", Generation: 1, CreationTimestamp: started,
			DeletionTimestamp: &deleted, Finalizers: []string{Finalizer}, Labels: map[string]string{"padding": strings.Repeat("y", 63)},
			Annotations: map[string]string{
				v1alpha1.StopAnnotation:                            v1alpha1.StopAnnotationValue,
				"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("z", 600000),
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: v1alpha1.TaskSpec{
			Description: strings.Repeat("d", 65536), Contexts: contexts,
			AgentRef: v1alpha1.AgentReference{Name: "coder", Namespace: "agents"}, Timeout: &metav1.Duration{Duration: time.Hour},
		},
		Status: status,
	}
	want := &v1alpha1.Task{
		TypeMeta: full.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: "t", Namespace: "team", UID: "task-uid", ResourceVersion: "9", Generation: 1, CreationTimestamp: started,
			DeletionTimestamp: &deleted, Finalizers: []string{Finalizer},
			Annotations: map[string]string{v1alpha1.StopAnnotation: v1alpha1.StopAnnotationValue},
		},
		Spec:   v1alpha1.TaskSpec{AgentRef: full.Spec.AgentRef, Timeout: full.Spec.Timeout},
		Status: status,
	}
	got, err := TrimTaskForCache(full)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("TrimTaskForCache (-want +got):\n%s", d)
	}
	trimmed := got.(*v1alpha1.Task)
	derived := func(t *v1alpha1.Task) []string {
		return []string{agentNamespace(t), taskAgentKey(t), podName(t), fmt.Sprint(isFinal(t), stopRequested(t), needsFinalizer(t))}
	}
	if d := cmp.Diff(derived(full), derived(trimmed)); d != "" {
		t.Errorf("what the reconcilers derive differs on the trimmed Task (-full +trimmed):\n%s", d)
	}
	without := full.DeepCopy()
	delete(without.Annotations, v1alpha1.StopAnnotation)
	if got, _ := TrimTaskForCache(without); got.(*v1alpha1.Task).Annotations != nil {
		t.Errorf("annotations kept without the stop annotation: %v", got.(*v1alpha1.Task).Annotations)
	}
	pod := &corev1.Pod{}
	if got, _ := TrimTaskForCache(pod); got != pod {
		t.Errorf("a Pod was changed: %v", got)
	}
}

// BenchmarkTaskCacheFootprint measures what one maximum-size Task (a 64 KiB description and 16
// Text contexts of 32 KiB, T24) keeps alive in the operator's cache, whole and trimmed by
// TrimTaskForCache: the retained heap of 200 decoded Tasks, per Task.
func BenchmarkTaskCacheFootprint(b *testing.B) {
	huge := strings.Repeat("x", 32768)
	full := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "team", UID: "u"},
		Spec: v1alpha1.TaskSpec{Description: strings.Repeat("d", 65536), AgentRef: v1alpha1.AgentReference{Name: "coder"}}}
	for i := range 16 {
		full.Spec.Contexts = append(full.Spec.Contexts, v1alpha1.ContextItem{Name: fmt.Sprintf("c%d", i), Type: v1alpha1.ContextTypeText, Text: huge})
	}
	raw, err := json.Marshal(full)
	if err != nil {
		b.Fatal(err)
	}
	const n = 200
	retained := func(trim bool) float64 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept := make([]any, n)
		for i := range kept {
			t := &v1alpha1.Task{}
			if err := json.Unmarshal(raw, t); err != nil {
				b.Fatal(err)
			}
			kept[i] = t
			if trim {
				kept[i], _ = TrimTaskForCache(t)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	var whole, trimmed float64
	for range b.N {
		whole, trimmed = retained(false), retained(true)
	}
	b.ReportMetric(float64(len(raw)), "json-bytes/task")
	b.ReportMetric(whole, "whole-bytes/task")
	b.ReportMetric(trimmed, "trimmed-bytes/task")
}
