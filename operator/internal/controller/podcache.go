package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TrimPodForCache is the cache transform of the operator's Pods. The operator reads only a Pod's
// identity (name, namespace, UID, labels, owner references, creation and deletion time), where it
// runs and its deadline (spec.nodeName, spec.activeDeadlineSeconds: how it is stopped) and the
// status fields that say how it ends or why it cannot start; the rest of the spec and the
// annotations (which carry the Task's description) are never read from the cache. Keeping only those fields is what
// lets thousands of running Tasks fit in a small heap: a decoded agent Pod is mostly spec.
//
// Objects that are not Pods are returned unchanged. The result is a new Pod that shares the
// kept maps and slices with the decoded object, which nothing else holds.
func TrimPodForCache(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
			Generation: pod.Generation, CreationTimestamp: pod.CreationTimestamp,
			DeletionTimestamp: pod.DeletionTimestamp, DeletionGracePeriodSeconds: pod.DeletionGracePeriodSeconds,
			Labels: pod.Labels, OwnerReferences: pod.OwnerReferences, Finalizers: pod.Finalizers,
		},
		Spec: corev1.PodSpec{NodeName: pod.Spec.NodeName, ActiveDeadlineSeconds: pod.Spec.ActiveDeadlineSeconds},
		Status: corev1.PodStatus{
			Phase: pod.Status.Phase, Reason: pod.Status.Reason, Message: pod.Status.Message,
			Conditions:            pod.Status.Conditions,
			InitContainerStatuses: pod.Status.InitContainerStatuses,
			ContainerStatuses:     pod.Status.ContainerStatuses,
		},
	}, nil
}

// TrimTaskForCache is the cache transform of Tasks (threat T24). A Task can carry about 600 KB
// that a tenant chooses (a 64 KiB description, 16 contexts of 32 KiB text, annotations such as
// kubectl's last-applied-configuration copy of all of it), and the operator caches every Task of
// the namespaces it watches: cached whole, 3,000 maximum-size Tasks would need gigabytes. The
// cache keeps what the reconcilers read to route and follow a Task (metadata without annotations
// other than the stop annotation, spec.agentRef, spec.timeout, the status); the payload is read
// from the API server only when the Pod is built (TaskReconciler.fullTask).
//
// Objects that are not Tasks are returned unchanged.
func TrimTaskForCache(obj any) (any, error) {
	t, ok := obj.(*v1alpha1.Task)
	if !ok {
		return obj, nil
	}
	var annotations map[string]string
	if v, ok := t.Annotations[v1alpha1.StopAnnotation]; ok {
		annotations = map[string]string{v1alpha1.StopAnnotation: v}
	}
	return &v1alpha1.Task{
		TypeMeta: t.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: t.Name, Namespace: t.Namespace, UID: t.UID, ResourceVersion: t.ResourceVersion,
			Generation: t.Generation, CreationTimestamp: t.CreationTimestamp,
			DeletionTimestamp: t.DeletionTimestamp, DeletionGracePeriodSeconds: t.DeletionGracePeriodSeconds,
			Annotations: annotations, Finalizers: t.Finalizers, OwnerReferences: t.OwnerReferences,
		},
		Spec:   v1alpha1.TaskSpec{AgentRef: t.Spec.AgentRef, Timeout: t.Spec.Timeout},
		Status: t.Status,
	}, nil
}
