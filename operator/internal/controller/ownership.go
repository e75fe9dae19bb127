package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// gcGrace is how long a Pod or context ConfigMap that still names its deleted Task as its
// controller owner is left to the garbage collector before the operator deletes it itself. The
// slot of a running Pod stays held meanwhile. Objects of a Task deleted with propagationPolicy
// Orphan are never left: the garbage collector would keep them (T18).
const gcGrace = 30 * time.Second

// The ownership controller ("task-objects") keeps the invariant of threat T18 from the objects
// the operator created, not from what users can edit on Tasks: every agent Pod and context
// ConfigMap belongs to a live Task with the same UID, or it is deleted. Its requests are keyed by
// the namespace the objects live in and the Task UID (as the request's name). It acts only when
// the Task is gone, or is being deleted without the operator's finalizer (the finalizer's own
// path, TaskReconciler.finalize, handles the rest); a live Task's objects are the Task
// reconciler's, which also stops the Pod of a Task whose status claims it is final.
//
// This is what defeats a task author who strips the finalizer and deletes the Task, or deletes
// it with propagationPolicy Orphan: the Pod is found by its Task-UID label, the Task UID no
// longer exists (checked against the API server, not only the cache), and the Pod is deleted
// with a UID precondition. The Task's slot is released only once its Pod is terminating.

// objectsRequest is the ownership controller's request for the objects of Task uid in namespace.
func objectsRequest(namespace string, uid types.UID) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: namespace, Name: string(uid)}}
}

// setupOwnership registers the ownership controller.
func (r *TaskReconciler) setupOwnership(mgr ctrl.Manager, concurrency int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("task-objects").
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podObjects), builder.WithPredicates(podUpdateMayEndTask)).
		Watches(&v1alpha1.Task{}, handler.EnqueueRequestsFromMapFunc(taskObjects), builder.WithPredicates(taskGoing)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(concurrency, 1)}).
		Complete(reconcile.Func(r.reconcileObjects))
}

func podObjects(_ context.Context, o client.Object) []reconcile.Request {
	uid := o.GetLabels()[v1alpha1.TaskUIDLabel]
	if uid == "" || !createdByOperator(o) {
		return nil
	}
	return []reconcile.Request{objectsRequest(o.GetNamespace(), types.UID(uid))}
}

func taskObjects(_ context.Context, o client.Object) []reconcile.Request {
	t, ok := o.(*v1alpha1.Task)
	if !ok {
		return nil
	}
	return []reconcile.Request{objectsRequest(agentNamespace(t), t.UID)}
}

// taskGoing passes the Task events after which its objects may have lost their Task: a deletion,
// and a create or update of a Task that is being deleted.
var taskGoing = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return e.Object.GetDeletionTimestamp() != nil },
	UpdateFunc:  func(e event.UpdateEvent) bool { return e.ObjectNew.GetDeletionTimestamp() != nil },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// reconcileObjects deletes the Pods and context ConfigMaps in req's namespace that carry the
// Task UID req.Name when that Task is gone, or is being deleted without the operator's finalizer.
func (r *TaskReconciler) reconcileObjects(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := r.ensureBuilt(ctx); err != nil {
		return reconcile.Result{}, err
	}
	ns, uid := req.Namespace, types.UID(req.Name)
	task, err := r.cachedTaskByUID(ctx, uid)
	if err != nil {
		return reconcile.Result{}, err
	}
	if task != nil && (task.DeletionTimestamp == nil || controllerutil.ContainsFinalizer(task, Finalizer)) {
		// A live Task's objects are the Task reconciler's; so are those of a Task whose
		// finalizer is still there (finalize deletes them, then removes it).
		return reconcile.Result{}, nil
	}
	pods, err := r.podsByUID(ctx, ns, uid)
	if err != nil {
		return reconcile.Result{}, err
	}
	cms, err := r.contextConfigMapsByUID(ctx, ns, uid)
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(pods) == 0 && len(cms) == 0 {
		r.forgetOrphan(uid)
		r.wakeAll(r.ledger.release(uid))
		return reconcile.Result{}, nil
	}
	if task == nil {
		// The cache says the Task is gone; a delete is final, so ask the API server.
		var labels map[string]string
		if len(pods) > 0 {
			labels = pods[0].Labels
		} else {
			labels = cms[0].Labels
		}
		live, err := r.liveTaskByUID(ctx, labels[v1alpha1.TaskNamespaceLabel], labels[v1alpha1.TaskNameLabel], uid)
		if err != nil {
			return reconcile.Result{}, err
		}
		if live != nil && (live.DeletionTimestamp == nil || controllerutil.ContainsFinalizer(live, Finalizer)) {
			// The cache lags behind the API server: look again when it has caught up.
			return reconcile.Result{RequeueAfter: time.Second}, nil
		}
		task = live
	}
	log := logf.FromContext(ctx).WithValues("taskUID", uid)
	now := r.now()
	// An orphan deletion makes the garbage collector keep the dependents: nothing is left to it.
	gcDeletes := task == nil || !controllerutil.ContainsFinalizer(task, metav1.FinalizerOrphanDependents)
	var requeue time.Duration
	stillRunning := false
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		if !derivedFromItsLabels(p) {
			// Not a Pod this operator made (its name does not derive from the Task it names):
			// never deleted on the strength of its labels alone (T4).
			continue
		}
		if wait := r.leftToGC(p, uid, gcDeletes, now); wait > 0 {
			requeue = shortest(requeue, wait)
			stillRunning = stillRunning || running(p)
			continue
		}
		if err := r.deletePod(ctx, p.Namespace, p.Name, p.UID); err != nil {
			return reconcile.Result{}, err
		}
		r.reportOrphanDeleted(log, task, "Pod", p.Namespace, p.Name, running(p))
	}
	for i := range cms {
		m := &cms[i]
		if m.DeletionTimestamp != nil || !derivedFromItsLabels(m) {
			continue
		}
		if wait := r.leftToGC(m, uid, gcDeletes, now); wait > 0 {
			requeue = shortest(requeue, wait)
			continue
		}
		if err := r.deleteConfigMap(ctx, m.Namespace, m.Name, m.UID); err != nil {
			return reconcile.Result{}, err
		}
		r.reportOrphanDeleted(log, task, "ConfigMap", m.Namespace, m.Name, false)
	}
	// Unless a running Pod is left to the garbage collector, every Pod of the Task is terminating
	// or finished: its slot is free.
	if !stillRunning {
		r.wakeAll(r.ledger.release(uid))
	}
	if requeue == 0 {
		r.forgetOrphan(uid)
	}
	return reconcile.Result{RequeueAfter: requeue}, nil
}

func shortest(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

// leftToGC returns how much longer the object is left to the garbage collector: one that still
// names the Task as its controller owner, when the garbage collector deletes dependents
// (gcDeletes), is its for gcGrace after the operator first saw the Task gone or going.
func (r *TaskReconciler) leftToGC(obj metav1.Object, uid types.UID, gcDeletes bool, now time.Time) time.Duration {
	if !gcDeletes {
		return 0
	}
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil || ref.UID != uid {
		return 0
	}
	r.orphanMu.Lock()
	defer r.orphanMu.Unlock()
	first, ok := r.orphanSeen[uid]
	if !ok {
		first = now
		r.orphanSeen[uid] = now
	}
	return max(0, first.Add(gcGrace).Sub(now))
}

func (r *TaskReconciler) forgetOrphan(uid types.UID) {
	r.orphanMu.Lock()
	defer r.orphanMu.Unlock()
	delete(r.orphanSeen, uid)
}

// reportOrphanDeleted records the deletion of an object whose Task is gone or going: an Event on
// the Task while it still exists, a log line always.
func (r *TaskReconciler) reportOrphanDeleted(log logr.Logger, task *v1alpha1.Task, kind, ns, name string, wasRunning bool) {
	state := "finished"
	if wasRunning {
		state = "running"
	}
	log.Info("deleted an object whose Task is gone or being deleted", "kind", kind, "object", ns+"/"+name, "state", state)
	if task != nil {
		r.event(task, corev1.EventTypeWarning, v1alpha1.ReasonOrphanDeleted, "Delete",
			fmt.Sprintf("deleted %s %s %s/%s: its Task is being deleted without the operator's finalizer", state, kind, ns, name))
	}
}

// running reports whether the Pod may still run a container: not finished and not being deleted.
func running(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// cachedTaskByUID returns the cached Task with that UID, in any namespace, or nil.
func (r *TaskReconciler) cachedTaskByUID(ctx context.Context, uid types.UID) (*v1alpha1.Task, error) {
	tasks := &v1alpha1.TaskList{}
	if err := r.Client.List(ctx, tasks, client.MatchingFields{indexTaskUID: string(uid)}); err != nil {
		return nil, fmt.Errorf("looking up Task %s in the cache: %w", uid, err)
	}
	if len(tasks.Items) == 0 {
		return nil, nil
	}
	return &tasks.Items[0], nil
}

// liveTaskByUID asks the API server for the Task with that UID in namespace: by name first (the
// name label is the name unless the name is longer than a label value), then among the
// namespace's Tasks. It returns nil when no such Task exists.
func (r *TaskReconciler) liveTaskByUID(ctx context.Context, namespace, name string, uid types.UID) (*v1alpha1.Task, error) {
	if namespace == "" {
		return nil, nil
	}
	get := func(name string) (*v1alpha1.Task, error) {
		t := &v1alpha1.Task{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, t); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("reading Task %s/%s: %w", namespace, name, err)
		}
		if t.UID != uid {
			return nil, nil
		}
		return t, nil
	}
	if name != "" {
		if t, err := get(name); t != nil || err != nil {
			return t, err
		}
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("TaskList"))
	if err := r.APIReader.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing Tasks in %s: %w", namespace, err)
	}
	for i := range list.Items {
		if list.Items[i].UID == uid {
			return get(list.Items[i].Name)
		}
	}
	return nil, nil
}

// podsByUID lists the cached operator Pods with the Task UID label in namespace (all namespaces
// when namespace is empty).
func (r *TaskReconciler) podsByUID(ctx context.Context, namespace string, uid types.UID) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	opts := []client.ListOption{client.MatchingFields{indexPodTaskUID: string(uid)}}
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := r.Client.List(ctx, pods, opts...); err != nil {
		return nil, fmt.Errorf("listing the Pods of Task %s: %w", uid, err)
	}
	out := pods.Items[:0]
	for _, p := range pods.Items {
		if p.Labels[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue {
			out = append(out, p)
		}
	}
	return out, nil
}

// contextConfigMapsByUID lists, from the API server (ConfigMaps are not cached), the metadata of
// the operator's ConfigMaps with the Task UID label in namespace.
func (r *TaskReconciler) contextConfigMapsByUID(ctx context.Context, namespace string, uid types.UID) ([]metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := r.APIReader.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{
		v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(uid)}); err != nil {
		return nil, fmt.Errorf("listing the ConfigMaps of Task %s in %s: %w", uid, namespace, err)
	}
	return list.Items, nil
}

// deleteConfigMap deletes exactly the ConfigMap with that UID (a precondition).
func (r *TaskReconciler) deleteConfigMap(ctx context.Context, ns, name string, uid types.UID) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := r.Client.Delete(ctx, cm, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting ConfigMap %s/%s: %w", ns, name, err)
	}
	return nil
}

// createdByOperator reports whether the object carries the operator's mark (CreatedByLabel)
// besides the managed-by label podspec gives every Pod it builds.
func createdByOperator(obj metav1.Object) bool {
	l := obj.GetLabels()
	return l[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue && l[v1alpha1.CreatedByLabel] == v1alpha1.CreatedByOperator
}

// derivedFromItsLabels reports whether the object is one the operator made for the Task its
// labels name: it carries the operator's mark, and its name is the one the operator derives from
// that Task (podspec.DNSLabel of the Task name and UID). The operator deletes an object whose
// Task is gone only then. A Task name longer than a label value is hashed in its label and cannot
// be checked; such a name label is at least 50 characters.
func derivedFromItsLabels(obj metav1.Object) bool {
	if !createdByOperator(obj) {
		return false
	}
	l := obj.GetLabels()
	name, uid := l[v1alpha1.TaskNameLabel], l[v1alpha1.TaskUIDLabel]
	if name == "" || uid == "" {
		return false
	}
	if obj.GetName() == podspec.DNSLabel(name, uid) {
		return true
	}
	return len(name) >= minHashedLabelLength
}

// minHashedLabelLength is the shortest label value podspec.LabelValue derives from a name that
// is not a valid label value itself (a readable prefix of 50 characters, "-" and the hash).
const minHashedLabelLength = podspec.MaxNameLength - 1 - podspec.HashLength
