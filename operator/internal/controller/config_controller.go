package controller

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// ConfigReconciler reports whether KubeOpenCodeConfig "cluster" can be used: its Ready condition.
// It builds and judges the Pod of a reference Agent (with a staged credential, so the system
// image is exercised) under the configuration, and writes only kubeopencodeconfigs/status.
type ConfigReconciler struct {
	Client client.Client
	opts   Options
}

// NewConfigReconciler returns a ConfigReconciler with opts' defaults applied.
func NewConfigReconciler(c client.Client, opts Options) (*ConfigReconciler, error) {
	if opts.Judge == nil {
		return nil, errors.New("controller: Options.Judge is required")
	}
	return &ConfigReconciler{Client: c, opts: opts.withDefaults()}, nil
}

// SetupWithManager registers the controller.
func (r *ConfigReconciler) SetupWithManager(mgr ctrl.Manager, ctrlOpts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).Named("kubeopencodeconfig").For(&v1alpha1.KubeOpenCodeConfig{}).
		WithOptions(ctrlOpts).Complete(r)
}

// Reconcile updates the Ready condition when it changed.
func (r *ConfigReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cfg := &v1alpha1.KubeOpenCodeConfig{}
	if err := r.Client.Get(ctx, req.NamespacedName, cfg); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	want := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonValid,
		Message: "the configuration is in use", ObservedGeneration: cfg.Generation}
	if problem := validateAgent(referenceAgent(), cfg, r.opts); problem != "" {
		want.Status, want.Reason = metav1.ConditionFalse, v1alpha1.ReasonInvalidConfiguration
		want.Message = truncate("agent Pods cannot be built with this configuration: "+problem, maxConditionMessage)
	}
	have := meta.FindStatusCondition(cfg.Status.Conditions, v1alpha1.ConditionReady)
	if have != nil && have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message &&
		have.ObservedGeneration == want.ObservedGeneration && cfg.Status.ObservedGeneration == cfg.Generation {
		return ctrl.Result{}, nil
	}
	cfg.Status.ObservedGeneration = cfg.Generation
	meta.SetStatusCondition(&cfg.Status.Conditions, want)
	if err := r.Client.Status().Update(ctx, cfg); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("updating the status of KubeOpenCodeConfig %q: %w", cfg.Name, err)
	}
	return ctrl.Result{}, nil
}

// referenceAgent is a typical Agent with a file credential, used to check a configuration.
func referenceAgent() *v1alpha1.Agent {
	return &v1alpha1.Agent{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "reference"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "default",
			Credentials: []v1alpha1.Credential{{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "key", Key: "key"}, MountPath: "/home/agent/key"}}},
	}
}
