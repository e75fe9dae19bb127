package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// TaskReconciler runs Tasks as agent Pods. Create it with NewTaskReconciler.
type TaskReconciler struct {
	// Client reads from the cache (Tasks, Agents, KubeOpenCodeConfig, the operator's Pods) and
	// writes directly.
	Client client.Client
	// APIReader reads from the API server; used only for the metadata of the Task's own Pod when
	// the cache may lag behind the operator's writes.
	APIReader client.Reader
	// Recorder emits events.k8s.io Events regarding Tasks.
	Recorder events.EventRecorder

	opts    Options
	guard   *admissionGuard
	ledger  *ledger
	created *recentPods
	wake    chan event.TypedGenericEvent[*v1alpha1.Task]
	now     func() time.Time

	// built is set once the ledger was rebuilt and the orphans found at start were dealt with
	// (ensureBuilt); buildMu serializes that.
	built   atomic.Bool
	buildMu sync.Mutex
	// orphanSeen records when the ownership controller first found a Task's objects left to the
	// garbage collector (see leftToGC).
	orphanMu   sync.Mutex
	orphanSeen map[types.UID]time.Time

	metrics *taskMetrics
}

// NewTaskReconciler returns a TaskReconciler with opts' defaults applied.
func NewTaskReconciler(c client.Client, apiReader client.Reader, rec events.EventRecorder, opts Options) (*TaskReconciler, error) {
	if opts.Judge == nil {
		return nil, errors.New("controller: Options.Judge is required")
	}
	r := &TaskReconciler{
		Client: c, APIReader: apiReader, Recorder: rec,
		opts:   opts.withDefaults(),
		guard:  newAdmissionGuard(c, opts.AdmissionPolicies),
		ledger: newLedger(), created: newRecentPods(),
		wake:       make(chan event.TypedGenericEvent[*v1alpha1.Task], 4096),
		now:        time.Now,
		orphanSeen: map[types.UID]time.Time{},
	}
	r.metrics = newTaskMetrics(r)
	return r, nil
}

// SetupWithManager registers the indexes and the controller. concurrency is the number of
// parallel reconciles (at least 1).
func (r *TaskReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, concurrency int, ctrlOpts controller.Options) error {
	if err := registerIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	ctrlOpts.MaxConcurrentReconciles = max(concurrency, 1)
	if err := r.setupOwnership(mgr, min(concurrency, 4)); err != nil {
		return fmt.Errorf("setting up the ownership controller: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("task").
		For(&v1alpha1.Task{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.podToTask), builder.WithPredicates(podUpdateMayEndTask)).
		Watches(&v1alpha1.Agent{}, handler.EnqueueRequestsFromMapFunc(r.agentToTasks)).
		Watches(&v1alpha1.KubeOpenCodeConfig{}, handler.EnqueueRequestsFromMapFunc(r.configToTasks)).
		WatchesRawSource(source.Channel(r.wake, &handler.TypedEnqueueRequestForObject[*v1alpha1.Task]{})).
		WithOptions(ctrlOpts).
		Complete(r)
}

// Reconcile moves one Task one step forward. See the package documentation for the flow.
func (r *TaskReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if err := r.ensureBuilt(ctx); err != nil {
		return ctrl.Result{}, err
	}
	task := &v1alpha1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, task); err != nil {
		if apierrors.IsNotFound(err) {
			return r.gone(ctx, req.NamespacedName)
		}
		return ctrl.Result{}, fmt.Errorf("reading Task %s: %w", req.NamespacedName, err)
	}
	if r.ledger.isStale(task.UID, task.ResourceVersion) {
		// The operator already wrote a newer version; its watch event reconciles it again.
		return ctrl.Result{}, nil
	}
	switch {
	case task.DeletionTimestamp != nil:
		return r.finalize(ctx, task)
	case isFinal(task):
		// T18: the phase is a claim, not a fact. A final Task whose Pod still runs gets that
		// Pod deleted (and its status corrected) before its slot is released.
		if err := r.stopOutlivingPod(ctx, task); err != nil {
			return ctrl.Result{}, err
		}
		r.wakeAll(r.ledger.release(task.UID))
		r.ledger.forget(task)
		return r.cleanup(ctx, task)
	}
	pod, err := r.findPod(ctx, task)
	if err != nil {
		return ctrl.Result{}, err
	}
	if pod != nil {
		r.created.drop(task.UID)
		return r.follow(ctx, task, pod)
	}
	if task.Status.Phase == v1alpha1.TaskPhaseRunning {
		// Running, but the cache has no Pod: either the cache lags behind the create, or the Pod
		// is gone. A Pod this process created moments ago is most likely not cached yet: look
		// again shortly. Otherwise ask the API server (metadata only, the deterministic name,
		// ours only).
		if r.created.fresh(task.UID, r.now()) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		live, ours, err := r.livePod(ctx, task)
		if err != nil {
			return ctrl.Result{}, err
		}
		if live != nil && ours {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return r.end(ctx, task, taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodMissing,
			Message: fmt.Sprintf("the agent Pod %s/%s disappeared before the agent finished", agentNamespace(task), podName(task))}, nil)
	}
	return r.start(ctx, task)
}

// start admits the Task and creates its Pod. task is the cached Task (without its payload).
func (r *TaskReconciler) start(ctx context.Context, task *v1alpha1.Task) (ctrl.Result, error) {
	a, res, err := r.admit(ctx, task)
	if a == nil {
		return res, err
	}
	o, created, err := r.create(ctx, a.task, a.pod, a.contextCM)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !created {
		return r.end(ctx, a.task, o, nil)
	}
	r.created.add(a.task.UID, r.now())
	if err := r.markRunning(ctx, a.task, a.pod.Namespace, a.pod.Name, metav1.Now()); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// admitted is a Task that may start now: its slot is reserved in the ledger, and its Pod (and
// context ConfigMap) are built and judged.
type admitted struct {
	task      *v1alpha1.Task // the stored Task, with its payload
	pod       *corev1.Pod
	contextCM *corev1.ConfigMap
}

// admit decides whether the Task may start now: Agent, namespace policy (T1), stop, capacity,
// the Pod built from the stored Task and judged (T8), then a reserved slot (T7). A nil answer
// means the Task was refused, ended or queued, or must be retried: res and err say which.
func (r *TaskReconciler) admit(ctx context.Context, task *v1alpha1.Task) (*admitted, ctrl.Result, error) {
	// T22: a Task starts only if the admission policies that checked its author were in force.
	if missing, err := r.guard.check(ctx, taskCreated(task)); err != nil || missing != "" {
		if err != nil {
			return nil, ctrl.Result{}, err
		}
		res, err := r.deny(ctx, task, v1alpha1.ReasonAdmissionPoliciesMissing, missing)
		return nil, res, err
	}
	agent := &v1alpha1.Agent{}
	key := types.NamespacedName{Namespace: agentNamespace(task), Name: task.Spec.AgentRef.Name}
	if err := r.Client.Get(ctx, key, agent); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, ctrl.Result{}, fmt.Errorf("reading Agent %s: %w", key, err)
		}
		// The cache may lag behind an Agent created a moment ago: a refusal is final, so ask
		// the API server before giving it.
		if err := r.APIReader.Get(ctx, key, agent); err != nil {
			if apierrors.IsNotFound(err) {
				res, err := r.deny(ctx, task, v1alpha1.ReasonAgentNotFound, fmt.Sprintf("Agent %s does not exist", key))
				return nil, res, err
			}
			return nil, ctrl.Result{}, fmt.Errorf("reading Agent %s: %w", key, err)
		}
	}
	// T1: re-checked on every attempt, so a queued Task is checked again when it starts.
	decision := policy.NewNamespacePolicy(agent.Namespace, agent.Name, agent.Spec.AllowedNamespaces).Decide(task.Namespace)
	if !decision.Allowed {
		reason := v1alpha1.ReasonInvalidConfiguration
		if decision.Reason == policy.ReasonNamespaceNotAllowed {
			reason = v1alpha1.ReasonNamespaceNotAllowed
		}
		res, err := r.deny(ctx, task, reason, decision.Message)
		return nil, res, err
	}
	if stopRequested(task) {
		res, err := r.end(ctx, task, taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonStopped,
			Message: "stopped (annotation " + v1alpha1.StopAnnotation + ") before it started"}, nil)
		return nil, res, err
	}
	// T17: no agent Pod runs without the egress restriction its Agent declares. The Agent
	// reconciler creates the policy a moment after the Agent; past the grace the Task fails.
	if ok, err := r.egressInForce(ctx, agent); err != nil || !ok {
		if err != nil {
			return nil, ctrl.Result{}, err
		}
		if wait := taskCreated(task).Add(r.opts.EgressPolicyGrace).Sub(r.now()); wait > 0 {
			return nil, ctrl.Result{RequeueAfter: min(wait, 2*time.Second)}, nil
		}
		res, err := r.deny(ctx, task, v1alpha1.ReasonEgressPolicyNotInForce, fmt.Sprintf(
			"Agent %s/%s restricts egress (spec.networkPolicy), but its egress NetworkPolicy was not in force within %s of the Task's creation; the Task did not start (the Agent's Ready condition says why; ask its owners)",
			agent.Namespace, agent.Name, r.opts.EgressPolicyGrace))
		return nil, res, err
	}
	// A Task that must wait for a slot waits without its payload being read (T24).
	if adm := r.ledger.peek(task, agent.Spec.MaxConcurrentTasks, agent.Spec.Quota, r.now()); !adm.ok {
		res, err := r.queue(ctx, task, adm)
		return nil, res, err
	}
	// The cache keeps Tasks without their payload: the Pod is built from the stored Task.
	full, err := r.fullTask(ctx, task)
	if err != nil || full == nil {
		return nil, ctrl.Result{}, err
	}
	task = full
	cfg, err := r.config(ctx)
	if err != nil {
		return nil, ctrl.Result{}, err
	}
	// Contexts: a Task's ConfigMaps are read in the Task's namespace only (T3), uncached.
	cms, err := resolveConfigMaps(ctx, r.APIReader, task, agent)
	if err != nil {
		return nil, ctrl.Result{}, err
	}
	built, err := r.opts.buildPod(task, agent, cfg, cms)
	if err != nil {
		var te *taskpod.Error
		if errors.As(err, &te) {
			res, err := r.deny(ctx, task, te.Reason, te.Error())
			return nil, res, err
		}
		return nil, ctrl.Result{}, err
	}
	pod, contextCM := built.Pod, built.ContextConfigMap
	// T8: the operator never creates a Pod that fails Pod Security "restricted".
	if v := r.opts.Judge.Judge(pod); !v.Allowed {
		res, err := r.deny(ctx, task, v1alpha1.ReasonPodSecurityViolation, "the agent Pod was not created: it "+v.Message())
		return nil, res, err
	}
	adm := r.ledger.admit(task, agent.Spec.MaxConcurrentTasks, agent.Spec.Quota, r.now())
	if !adm.ok {
		res, err := r.queue(ctx, task, adm)
		return nil, res, err
	}
	return &admitted{task: task, pod: pod, contextCM: contextCM}, ctrl.Result{}, nil
}

// create writes what an admitted Task needs, in order: the finalizer (across namespaces), the
// context ConfigMap, the Pod. created is true when the Pod exists (made now, or by an earlier
// attempt whose status write did not happen). Otherwise the Task's reservation is returned to the
// ledger (one deferred rollback) and either err is set (retry) or o says how the Task ends.
func (r *TaskReconciler) create(ctx context.Context, task *v1alpha1.Task, pod *corev1.Pod, contextCM *corev1.ConfigMap) (o taskpod.Outcome, created bool, err error) {
	defer func() {
		if !created {
			r.wakeAll(r.ledger.unreserve(task.UID))
		}
	}()
	if needsFinalizer(task) && !controllerutil.ContainsFinalizer(task, Finalizer) {
		before := task.ResourceVersion
		controllerutil.AddFinalizer(task, Finalizer)
		if err := r.Client.Update(ctx, task); err != nil {
			return taskpod.Outcome{}, false, fmt.Errorf("adding the finalizer to Task %s/%s: %w", task.Namespace, task.Name, err)
		}
		r.ledger.superseded(task.UID, before)
	}
	if contextCM != nil {
		if o, done, err := r.createContextConfigMap(ctx, task, contextCM); done || err != nil {
			return o, false, err
		}
	}
	err = r.Client.Create(ctx, pod)
	switch {
	case err == nil:
		return taskpod.Outcome{}, true, nil
	case apierrors.IsAlreadyExists(err):
		_, ours, lerr := r.livePod(ctx, task)
		if lerr != nil {
			return taskpod.Outcome{}, false, lerr
		}
		if !ours {
			// T4: never adopt an object that is not the Task's.
			return taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodStartFailed,
				Message: fmt.Sprintf("a Pod named %s already exists in namespace %s and does not belong to this Task; it was left alone",
					pod.Name, pod.Namespace)}, false, nil
		}
		return taskpod.Outcome{}, true, nil // created by an earlier attempt
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		// Refused by admission (quota, missing ServiceAccount, policy): it will not pass by
		// retrying the same Pod (T6).
		return taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodStartFailed,
			Message: "the API server refused the agent Pod: " + err.Error()}, false, nil
	}
	return taskpod.Outcome{}, false, fmt.Errorf("creating Pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// markRunning writes phase Running with the Pod's coordinates (informational). It emits no
// Event: creating the Pod is routine, the condition and the API server's audit log record it.
func (r *TaskReconciler) markRunning(ctx context.Context, task *v1alpha1.Task, ns, name string, started metav1.Time) error {
	msg := fmt.Sprintf("agent Pod %s/%s created", ns, name)
	err := r.writeStatus(ctx, task, func(st *v1alpha1.TaskStatus) {
		st.Phase = v1alpha1.TaskPhaseRunning
		st.AgentRef = resolvedAgent(task)
		st.PodName, st.PodNamespace = name, ns
		if st.StartTime == nil {
			st.StartTime = &started
		}
		setCondition(st, task.Generation, v1alpha1.ConditionSucceeded, metav1.ConditionUnknown, v1alpha1.ReasonPodCreated, msg)
		if meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionQueued) != nil {
			setCondition(st, task.Generation, v1alpha1.ConditionQueued, metav1.ConditionFalse, v1alpha1.ReasonPodCreated, msg)
		}
	})
	if err != nil {
		return err
	}
	r.ledger.forget(task)
	r.metrics.started(task, started.Time)
	logf.FromContext(ctx).Info("agent Pod created", "pod", ns+"/"+name)
	return nil
}

// queue records that the Task waits for capacity; it writes only when the reason changes.
func (r *TaskReconciler) queue(ctx context.Context, task *v1alpha1.Task, adm admission) (ctrl.Result, error) {
	recheck := r.opts.QueuedRecheck
	if adm.retryAfter > 0 {
		recheck = min(recheck, adm.retryAfter)
	}
	c := meta.FindStatusCondition(task.Status.Conditions, v1alpha1.ConditionQueued)
	if task.Status.Phase == v1alpha1.TaskPhaseQueued && c != nil && c.Status == metav1.ConditionTrue && c.Reason == adm.reason {
		return ctrl.Result{RequeueAfter: recheck}, nil
	}
	err := r.writeStatus(ctx, task, func(st *v1alpha1.TaskStatus) {
		st.Phase = v1alpha1.TaskPhaseQueued
		st.AgentRef = resolvedAgent(task)
		setCondition(st, task.Generation, v1alpha1.ConditionQueued, metav1.ConditionTrue, adm.reason, adm.message)
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	r.event(task, corev1.EventTypeNormal, adm.reason, "Queue", adm.message)
	return ctrl.Result{RequeueAfter: recheck}, nil
}

// deny ends a Task that may not or cannot run; it has no Pod.
func (r *TaskReconciler) deny(ctx context.Context, task *v1alpha1.Task, reason, message string) (ctrl.Result, error) {
	return r.end(ctx, task, taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: reason, Message: message}, nil)
}

// follow reads the Task's Pod and ends the Task when the Pod says so, or when it is stopped or
// timed out.
func (r *TaskReconciler) follow(ctx context.Context, task *v1alpha1.Task, pod *corev1.Pod) (ctrl.Result, error) {
	now := r.now()
	if stopRequested(task) {
		return r.terminate(ctx, task, pod, taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonStopped,
			Message: fmt.Sprintf("stopped (annotation %s)", v1alpha1.StopAnnotation)})
	}
	var timeoutIn time.Duration
	if to := task.Spec.Timeout; to != nil {
		// The Pod's own creation time, not status.startTime: status can be edited (T15).
		deadline := pod.CreationTimestamp.Add(to.Duration)
		if !now.Before(deadline) {
			return r.terminate(ctx, task, pod, taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonTimedOut,
				Message: fmt.Sprintf("spec.timeout %s elapsed", to.Duration)})
		}
		timeoutIn = deadline.Sub(now)
	}
	o := taskpod.ReadPod(pod, now, r.opts.PodStartTimeout)
	if o.Done {
		return r.end(ctx, task, o, pod)
	}
	if task.Status.Phase != v1alpha1.TaskPhaseRunning {
		// The Pod exists but the status does not say so (a restart between create and status).
		if err := r.markRunning(ctx, task, pod.Namespace, pod.Name, pod.CreationTimestamp); err != nil {
			return ctrl.Result{}, err
		}
	}
	next := o.Recheck
	if timeoutIn > 0 && (next == 0 || timeoutIn < next) {
		next = timeoutIn
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// end finishes the Task: it deletes the Pod if asked, frees the slot, writes the final status
// and emits the Event.
func (r *TaskReconciler) end(ctx context.Context, task *v1alpha1.Task, o taskpod.Outcome, pod *corev1.Pod) (ctrl.Result, error) {
	if o.DeletePod && pod != nil {
		if err := r.deletePod(ctx, pod.Namespace, pod.Name, pod.UID); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Free the slot before writing: the Pod is finished or deleted, and woken Tasks must find
	// the slot free.
	r.created.drop(task.UID)
	r.wakeAll(r.ledger.release(task.UID))
	r.ledger.forget(task)
	now := metav1.NewTime(r.now())
	err := r.writeStatus(ctx, task, func(st *v1alpha1.TaskStatus) {
		st.Phase = o.Phase
		st.AgentRef = resolvedAgent(task)
		st.CompletionTime = &now
		if o.ExitCode != nil {
			st.ExitCode, st.Result = o.ExitCode, o.Result
		}
		if pod != nil && st.PodName == "" {
			st.PodName, st.PodNamespace = pod.Name, pod.Namespace
		}
		if pod != nil && st.StartTime == nil {
			started := pod.CreationTimestamp // a copy: the cached Pod is shared, never aliased
			st.StartTime = &started
		}
		status := metav1.ConditionFalse
		if o.Phase == v1alpha1.TaskPhaseCompleted {
			status = metav1.ConditionTrue
		}
		setCondition(st, task.Generation, v1alpha1.ConditionSucceeded, status, o.Reason, o.Message)
		if o.Reason == v1alpha1.ReasonStopped {
			setCondition(st, task.Generation, v1alpha1.ConditionStopped, metav1.ConditionTrue, v1alpha1.ReasonStopped, o.Message)
		}
		if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTerminating); c != nil && c.Status == metav1.ConditionTrue {
			setCondition(st, task.Generation, v1alpha1.ConditionTerminating, metav1.ConditionFalse, o.Reason, o.Message)
		}
		if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionQueued); c != nil && c.Status == metav1.ConditionTrue {
			setCondition(st, task.Generation, v1alpha1.ConditionQueued, metav1.ConditionFalse, o.Reason, o.Message)
		}
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	var startedAt time.Time
	if task.Status.StartTime != nil {
		startedAt = task.Status.StartTime.Time
	}
	r.metrics.ended(o.Reason, startedAt, now.Time)
	logf.FromContext(ctx).Info("Task ended", "phase", o.Phase, "reason", o.Reason)
	if o.Reason != v1alpha1.ReasonAgentSucceeded {
		// Success is routine (the Succeeded condition says it); what a human may act on is not.
		r.event(task, eventType(o.Reason), o.Reason, action(o.Reason), o.Message)
	}
	return ctrl.Result{}, nil
}

// podUpdateMayEndTask passes every Pod create, delete and generic event, and an update only
// when the new status alone would end the Task (readPod at the Pod's creation time, so no start
// timeout applies): a final phase, a deletion, a fatal waiting reason. The scheduler's binding and
// the kubelet's routine status updates change nothing for the Task, and would otherwise cost a
// reconcile each; timeouts are rechecked by RequeueAfter, not by Pod events.
var podUpdateMayEndTask = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	pod, ok := e.ObjectNew.(*corev1.Pod)
	if !ok {
		return true
	}
	return taskpod.ReadPod(pod, pod.CreationTimestamp.Time, time.Hour).Done
}}

// needsFinalizer: only a Task whose Pod runs in another namespace needs the finalizer, because
// no owner reference crosses namespaces (T5). A same-namespace Task owns its Pod and context
// ConfigMap (controller owner reference, blockOwnerDeletion), so the garbage collector removes
// them; skipping the finalizer saves a write and a round trip before the Pod is created.
func needsFinalizer(t *v1alpha1.Task) bool { return agentNamespace(t) != t.Namespace }

// createContextConfigMap creates the Task's context ConfigMap in the Agent's namespace (one
// write). done is true when the Task must end with o instead: the name is taken by an object
// that is not the Task's (never adopted, T4), or the API server refused the ConfigMap.
func (r *TaskReconciler) createContextConfigMap(ctx context.Context, task *v1alpha1.Task, cm *corev1.ConfigMap) (taskpod.Outcome, bool, error) {
	err := r.Client.Create(ctx, cm)
	switch {
	case err == nil:
		return taskpod.Outcome{}, false, nil
	case apierrors.IsAlreadyExists(err):
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		if gerr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cm), m); gerr != nil {
			return taskpod.Outcome{}, false, fmt.Errorf("reading ConfigMap %s/%s: %w", cm.Namespace, cm.Name, gerr)
		}
		if ownedBy(m, task) {
			return taskpod.Outcome{}, false, nil // created by an earlier attempt
		}
		return taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodStartFailed,
			Message: fmt.Sprintf("a ConfigMap named %s already exists in namespace %s and does not belong to this Task; it was left alone",
				cm.Name, cm.Namespace)}, true, nil
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsRequestEntityTooLargeError(err):
		return taskpod.Outcome{Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonInvalidConfiguration,
			Message: "the API server refused the Task's context ConfigMap (contexts larger than a ConfigMap allows?): " + err.Error()}, true, nil
	}
	return taskpod.Outcome{}, false, fmt.Errorf("creating ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
}

// deleteContextConfigMaps deletes the Task's context ConfigMaps: found by the Task's UID label in
// the namespace computed from the spec, each deleted with a UID precondition (T4, T15).
func (r *TaskReconciler) deleteContextConfigMaps(ctx context.Context, task *v1alpha1.Task) error {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	ns := agentNamespace(task)
	if err := r.APIReader.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{
		v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(task.UID)}); err != nil {
		return fmt.Errorf("listing the ConfigMaps of Task %s/%s: %w", task.Namespace, task.Name, err)
	}
	for i := range list.Items {
		m := &list.Items[i]
		if !ownedBy(m, task) {
			continue
		}
		uid := m.UID
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: m.Namespace, Name: m.Name}}
		if err := r.Client.Delete(ctx, cm, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ConfigMap %s/%s: %w", m.Namespace, m.Name, err)
		}
	}
	return nil
}

// findPod returns the Task's Pod from the cache: in the namespace computed from the spec, with
// the deterministic name and the Task's UID label, or nil.
func (r *TaskReconciler) findPod(ctx context.Context, task *v1alpha1.Task) (*corev1.Pod, error) {
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(agentNamespace(task)),
		client.MatchingFields{indexPodTaskUID: string(task.UID)}); err != nil {
		return nil, fmt.Errorf("listing the Pods of Task %s/%s: %w", task.Namespace, task.Name, err)
	}
	name := podName(task)
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Name == name && ownedBy(p, task) {
			return p, nil
		}
	}
	return nil, nil
}

// livePod reads the metadata (never the spec) of the object at the Task's Pod name from the API
// server. ours is true only if it carries the Task's UID label.
func (r *TaskReconciler) livePod(ctx context.Context, task *v1alpha1.Task) (*metav1.PartialObjectMetadata, bool, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	key := types.NamespacedName{Namespace: agentNamespace(task), Name: podName(task)}
	if err := r.APIReader.Get(ctx, key, m); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading Pod %s: %w", key, err)
	}
	return m, ownedBy(m, task), nil
}

// deletePod deletes exactly the Pod with that UID (a precondition), so a Pod recreated under the
// same name by someone else is never touched.
func (r *TaskReconciler) deletePod(ctx context.Context, ns, name string, uid types.UID) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	err := r.Client.Delete(ctx, pod, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// config returns KubeOpenCodeConfig "cluster", or nil when there is none.
func (r *TaskReconciler) config(ctx context.Context) (*v1alpha1.KubeOpenCodeConfig, error) {
	return readConfig(ctx, r.Client)
}

func readConfig(ctx context.Context, c client.Reader) (*v1alpha1.KubeOpenCodeConfig, error) {
	cfg := &v1alpha1.KubeOpenCodeConfig{}
	if err := c.Get(ctx, types.NamespacedName{Name: v1alpha1.ConfigName}, cfg); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading KubeOpenCodeConfig %q: %w", v1alpha1.ConfigName, err)
	}
	return cfg, nil
}

func stopRequested(t *v1alpha1.Task) bool {
	return t.Annotations[v1alpha1.StopAnnotation] == v1alpha1.StopAnnotationValue
}

// wakeAll enqueues Tasks waiting for a slot that just freed. A full channel drops the wake-up;
// QueuedRecheck catches up.
func (r *TaskReconciler) wakeAll(tasks []types.NamespacedName) {
	for _, nn := range tasks {
		ev := event.TypedGenericEvent[*v1alpha1.Task]{Object: &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name}}}
		select {
		case r.wake <- ev:
		default:
		}
	}
}

// event emits an events.k8s.io Event regarding the Task, in the Task's namespace.
func (r *TaskReconciler) event(task *v1alpha1.Task, typ, reason, action, note string) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(task, nil, typ, reason, action, "%s", truncate(note, 1000))
}

// action names what the operator did, for the Event.
func action(reason string) string {
	switch reason {
	case v1alpha1.ReasonAgentNotFound, v1alpha1.ReasonNamespaceNotAllowed, v1alpha1.ReasonInvalidConfiguration, v1alpha1.ReasonAdmissionPoliciesMissing,
		v1alpha1.ReasonPathConflict, v1alpha1.ReasonPodSecurityViolation:
		return "Admit"
	case v1alpha1.ReasonStopped:
		return "Stop"
	case v1alpha1.ReasonTimedOut:
		return "Timeout"
	}
	return "Fail"
}
