package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// The Ready condition and its reasons. A refusal by the namespace policy uses the policy's own
// reason (policy.ReasonNamespaceNotAllowed, policy.ReasonInvalidPolicy).
const (
	ConditionReady = "Ready"

	ReasonPodCreated       = "PodCreated"
	ReasonTemplateNotFound = "TemplateNotFound"
	ReasonInvalidTemplate  = "InvalidTemplate"
	ReasonPodSecurity      = "PodSecurityViolation"
)

// Finalizer lets the controller delete a Sandbox's Pod, which may live in another namespace where
// an owner reference cannot reach, before the Sandbox goes away.
const Finalizer = "sandbox.example.com/pod-cleanup"

// templateRetry is when a Sandbox whose template is missing is looked at again (templates are not
// watched, to keep the example small).
const templateRetry = time.Minute

// Reconciler runs Sandboxes. Build it with NewReconciler.
type Reconciler struct {
	client  client.Client
	judge   *policy.PodSecurityJudge
	options Options
}

// NewReconciler returns a Reconciler that judges every Pod against Pod Security "restricted" at
// the newest version the policy module knows, before creating it.
func NewReconciler(c client.Client, opts Options) (*Reconciler, error) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		return nil, err
	}
	return &Reconciler{client: c, judge: judge, options: opts}, nil
}

// SetupWithManager registers the Reconciler for Sandboxes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&v1alpha1.Sandbox{}).Named("sandbox").Complete(r)
}

// Reconcile brings one Sandbox's Pod into existence, or removes it when the Sandbox is deleted.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sb := &v1alpha1.Sandbox{}
	if err := r.client.Get(ctx, req.NamespacedName, sb); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !sb.DeletionTimestamp.IsZero() {
		if err := r.deletePods(ctx, sb); err != nil {
			return ctrl.Result{}, err
		}
		if controllerutil.RemoveFinalizer(sb, Finalizer) {
			return ctrl.Result{}, r.client.Update(ctx, sb)
		}
		return ctrl.Result{}, nil
	}
	if controllerutil.AddFinalizer(sb, Finalizer) {
		if err := r.client.Update(ctx, sb); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}
	pods, err := r.pods(ctx, sb)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(pods) > 0 {
		return ctrl.Result{}, r.setReady(ctx, sb, metav1.ConditionTrue, ReasonPodCreated, "the sandbox Pod exists", &pods[0])
	}

	tmpl := &v1alpha1.SandboxTemplate{}
	key := types.NamespacedName{Namespace: PodNamespace(sb), Name: sb.Spec.TemplateRef.Name}
	if err := r.client.Get(ctx, key, tmpl); apierrors.IsNotFound(err) {
		msg := fmt.Sprintf("SandboxTemplate %s not found", key)
		return ctrl.Result{RequeueAfter: templateRetry}, r.setReady(ctx, sb, metav1.ConditionFalse, ReasonTemplateNotFound, msg, nil)
	} else if err != nil {
		return ctrl.Result{}, err
	}
	// Namespace access first: a refused Sandbox learns nothing else about the template.
	if d := Decide(sb, tmpl); !d.Allowed {
		return ctrl.Result{}, r.setReady(ctx, sb, metav1.ConditionFalse, string(d.Reason), d.Message, nil)
	}
	pod, err := BuildPod(sb, tmpl, r.options)
	if err != nil {
		return ctrl.Result{}, r.setReady(ctx, sb, metav1.ConditionFalse, ReasonInvalidTemplate, err.Error(), nil)
	}
	if v := r.judge.Judge(pod); !v.Allowed {
		return ctrl.Result{}, r.setReady(ctx, sb, metav1.ConditionFalse, ReasonPodSecurity, v.Message(), nil)
	}
	// The name derives from the Sandbox UID, so a Pod created by an earlier reconcile that the
	// cache has not shown yet makes this fail with AlreadyExists instead of running twice.
	if err := r.client.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, fmt.Errorf("creating Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return ctrl.Result{}, r.setReady(ctx, sb, metav1.ConditionTrue, ReasonPodCreated, "the sandbox Pod was created", pod)
}

// pods are the Pods carrying the Sandbox's UID label in its Pod namespace: never a Pod found by a
// name read from status, never one of another Sandbox.
func (r *Reconciler) pods(ctx context.Context, sb *v1alpha1.Sandbox) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	err := r.client.List(ctx, list, client.InNamespace(PodNamespace(sb)), client.MatchingLabels{
		podspec.LabelManagedBy:   ManagedBy,
		Labels().Keys().OwnerUID: podspec.LabelValue(string(sb.UID)),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the sandbox's Pods: %w", err)
	}
	return list.Items, nil
}

func (r *Reconciler) deletePods(ctx context.Context, sb *v1alpha1.Sandbox) error {
	pods, err := r.pods(ctx, sb)
	if err != nil {
		return err
	}
	var errs []error
	for i := range pods {
		// The UID precondition deletes exactly the Pod that was listed.
		err := r.client.Delete(ctx, &pods[i], client.Preconditions{UID: &pods[i].UID})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting Pod %s/%s: %w", pods[i].Namespace, pods[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) setReady(ctx context.Context, sb *v1alpha1.Sandbox, status metav1.ConditionStatus, reason, message string, pod *corev1.Pod) error {
	changed := meta.SetStatusCondition(&sb.Status.Conditions, metav1.Condition{Type: ConditionReady, Status: status,
		Reason: reason, Message: message, ObservedGeneration: sb.Generation})
	if pod != nil && (sb.Status.PodName != pod.Name || sb.Status.PodNamespace != pod.Namespace) {
		sb.Status.PodName, sb.Status.PodNamespace = pod.Name, pod.Namespace
		changed = true
	}
	if !changed {
		return nil
	}
	if err := r.client.Status().Update(ctx, sb); err != nil {
		return fmt.Errorf("updating the status: %w", err)
	}
	return nil
}
