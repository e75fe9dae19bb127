package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// AgentReconciler reports whether each Agent can run Tasks as written: its Ready condition. It
// checks what the schema cannot (the compiled namespace policy, the config JSON, the assembled
// Pod with its credentials and paths, the Pod Security verdict) and writes agents/status, and it
// keeps the Agent's egress NetworkPolicy (spec.networkPolicy, T17) in line with the spec.
type AgentReconciler struct {
	Client client.Client
	// APIReader reads from the API server: metadata of a NetworkPolicy the cache does not show.
	APIReader client.Reader
	Recorder  events.EventRecorder
	opts      Options
	guard     *admissionGuard
}

// NewAgentReconciler returns an AgentReconciler with opts' defaults applied.
func NewAgentReconciler(c client.Client, apiReader client.Reader, rec events.EventRecorder, opts Options) (*AgentReconciler, error) {
	if opts.Judge == nil {
		return nil, errors.New("controller: Options.Judge is required")
	}
	return &AgentReconciler{Client: c, APIReader: apiReader, Recorder: rec, opts: opts.withDefaults(),
		guard: newAdmissionGuard(c, opts.AdmissionPolicies)}, nil
}

// SetupWithManager registers the controller.
func (r *AgentReconciler) SetupWithManager(mgr ctrl.Manager, ctrlOpts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("agent").
		For(&v1alpha1.Agent{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Watches(&v1alpha1.KubeOpenCodeConfig{}, handler.EnqueueRequestsFromMapFunc(r.allAgents)).
		// T22: every Agent's Ready condition says when the admission policies are not in force.
		Watches(&admissionregistrationv1.ValidatingAdmissionPolicy{}, handler.EnqueueRequestsFromMapFunc(r.allAgents)).
		Watches(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, handler.EnqueueRequestsFromMapFunc(r.allAgents)).
		WithOptions(ctrlOpts).
		Complete(r)
}

// Reconcile validates one Agent and updates its Ready condition when it changed.
func (r *AgentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	agent := &v1alpha1.Agent{}
	if err := r.Client.Get(ctx, req.NamespacedName, agent); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	cfg, err := readConfig(ctx, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	want := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonValid,
		Message: "the Agent can run Tasks", ObservedGeneration: agent.Generation}
	problem := validateAgent(agent, cfg, r.opts)
	// T17: the egress NetworkPolicy follows spec.networkPolicy (created, updated, deleted).
	npProblem, err := r.syncNetworkPolicy(ctx, agent)
	if err != nil {
		return ctrl.Result{}, err
	}
	if problem == "" {
		problem = npProblem
	}
	// A foreign policy holding the egress policy's name is not watched (the cache holds only the
	// operator's): recheck, so its removal lets the operator's own policy in.
	var res ctrl.Result
	if npProblem != "" {
		res.RequeueAfter = r.opts.EgressPolicyGrace
	}
	if problem != "" {
		want.Status, want.Reason, want.Message = metav1.ConditionFalse, v1alpha1.ReasonInvalidConfiguration, truncate(problem, maxConditionMessage)
	} else if missing, err := r.guard.check(ctx, time.Time{}); err != nil {
		return ctrl.Result{}, err
	} else if missing != "" {
		want.Status, want.Reason, want.Message = metav1.ConditionFalse, v1alpha1.ReasonAdmissionPoliciesMissing, truncate(missing, maxConditionMessage)
	}
	have := meta.FindStatusCondition(agent.Status.Conditions, v1alpha1.ConditionReady)
	if have != nil && have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message &&
		have.ObservedGeneration == want.ObservedGeneration && agent.Status.ObservedGeneration == agent.Generation {
		return res, nil
	}
	agent.Status.ObservedGeneration = agent.Generation
	meta.SetStatusCondition(&agent.Status.Conditions, want)
	if err := r.Client.Status().Update(ctx, agent); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("updating the status of Agent %s: %w", req.NamespacedName, err)
	}
	if want.Status == metav1.ConditionFalse && (have == nil || have.Status != metav1.ConditionFalse || have.Message != want.Message) && r.Recorder != nil {
		r.Recorder.Eventf(agent, nil, "Warning", want.Reason, "Validate", "%s", truncate(want.Message, 1000))
	}
	return res, nil
}

// validateAgent returns "" when the Agent can run Tasks, otherwise why not (for the platform
// team: it may quote patterns, Secret names and paths).
func validateAgent(agent *v1alpha1.Agent, cfg *v1alpha1.KubeOpenCodeConfig, opts Options) string {
	if err := policy.NewNamespacePolicy(agent.Namespace, agent.Name, agent.Spec.AllowedNamespaces).Err(); err != nil {
		return err.Error() // field paths of the Agent: spec.allowedNamespaces[i], ...
	}
	res, err := opts.buildPod(taskpod.ValidationTask(agent), agent, cfg, nil)
	if err != nil {
		var te *taskpod.Error
		if errors.As(err, &te) {
			return te.Error() // the validation Task is in the Agent's namespace: every detail
		}
		return err.Error()
	}
	if v := opts.Judge.Judge(res.Pod); !v.Allowed {
		return "the agent Pod would " + v.Message()
	}
	return ""
}

func (r *AgentReconciler) allAgents(ctx context.Context, _ client.Object) []reconcile.Request {
	agents := &v1alpha1.AgentList{}
	if err := r.Client.List(ctx, agents); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Agents")
		return nil
	}
	out := make([]reconcile.Request, 0, len(agents.Items))
	for i := range agents.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&agents.Items[i])})
	}
	return out
}
