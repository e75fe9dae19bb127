package controller

import (
	"time"

	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
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
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "img", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
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
	if d := cmp.Diff(readPod(full, now, DefaultPodStartTimeout), readPod(got.(*corev1.Pod), now, DefaultPodStartTimeout), cmp.AllowUnexported(outcome{})); d != "" {
		t.Errorf("readPod differs on the trimmed Pod (-full +trimmed):\n%s", d)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Annotations: map[string]string{"a": "b"}}}
	if got, _ := TrimPodForCache(cm); got != cm {
		t.Errorf("a ConfigMap was changed: %v", got)
	}
}
