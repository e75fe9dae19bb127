package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/go-logr/logr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	opcontroller "github.com/kubeopencode/kubeopencode/operator/internal/controller"
	"github.com/kubeopencode/kubeopencode/policy"
)

// Defaults of Options.
const (
	// DefaultLeaderElectionID names the Lease in the leader-election namespace.
	DefaultLeaderElectionID = "kubeopencode-operator"
	// DefaultConcurrency is the number of parallel Task reconciles. A reconcile mostly waits on
	// API round trips (the Pod, the status), not on CPU. Measured on 2 cores for a 3,000-Task
	// burst (docs/performance.md): 32 to 256 workers all reach the API server's limit (about
	// 170–200 Tasks/s there), and 128 gives the shortest tail (p99 Task→Pod 2.7 s against 7–10 s
	// at 32). The admission ledger keeps maxConcurrentTasks exact whatever the number of workers.
	DefaultConcurrency = 128
	// EventReporter is the reportingController of the operator's Events.
	EventReporter = "kubeopencode-operator"
)

// Options configure New. The zero value is usable except for Config.
type Options struct {
	// Config reaches the API server as the operator's ServiceAccount. Required. New copies it and
	// disables client-side rate limiting (QPS -1): the server's priority and fairness applies.
	Config *rest.Config
	// Logger; default logr.Discard().
	Logger logr.Logger
	// MetricsAddr and ProbeAddr are bind addresses; "0" (or empty) disables each server. The
	// metrics endpoint is HTTPS (a self-signed certificate unless MetricsCertDir holds tls.crt
	// and tls.key) and answers only requests whose bearer token the API server authenticates
	// (TokenReview) and authorizes for get on the /metrics path (SubjectAccessReview).
	MetricsAddr, ProbeAddr string
	// MetricsCertDir holds tls.crt and tls.key for the metrics endpoint; empty: self-signed.
	MetricsCertDir string
	// PprofAddr serves net/http/pprof (plain HTTP, unauthenticated: the command accepts only
	// loopback addresses); "0" or empty (the default) disables it.
	PprofAddr string
	// DisableLeaderElection turns leader election off. Default: on, because the capacity ledger
	// (maxConcurrentTasks, quota) is only correct with a single active operator.
	DisableLeaderElection bool
	// LeaderElectionNamespace holds the Lease; empty means the namespace the operator runs in
	// (in-cluster) and is required out of cluster.
	LeaderElectionNamespace string
	// LeaderElectionID; default DefaultLeaderElectionID.
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod; zero keeps controller-runtime's defaults
	// (15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ReleaseLeaseOnCancel gives the Lease up when the manager stops cleanly.
	ReleaseLeaseOnCancel bool
	// Namespaces restricts what the operator watches (Tasks, Agents and Pods). Empty: all.
	Namespaces []string
	// Concurrency of Task reconciles; default DefaultConcurrency.
	Concurrency int
	// Controller configures the reconcilers (images, default command, the Pod Security judge;
	// a nil Judge means restricted:latest).
	Controller opcontroller.Options
	// NewClient overrides the manager's client construction (tests wrap it to count writes).
	NewClient client.NewClientFunc
	// SkipControllerNameValidation lets several managers run in one process (tests only).
	SkipControllerNameValidation bool
}

// NewScheme knows the built-in kinds and kubeopencode.io/v1alpha1.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// New builds the operator's manager with the Task, Agent and KubeOpenCodeConfig controllers
// registered.
//
// Caching: Pods are cached only when they carry app.kubernetes.io/managed-by=kubeopencode, with
// only the metadata and status fields the operator reads (no spec, no annotations), and are
// shared rather than copied on read; managedFields are stripped from every cached object; Secrets are never read (the operator has
// no permission on them, threat T14) and ConfigMaps are read uncached.
func New(ctx context.Context, opts Options) (manager.Manager, error) {
	if opts.Config == nil {
		return nil, errors.New("setup: Options.Config is required")
	}
	cfg := rest.CopyConfig(opts.Config)
	cfg.QPS = -1 // no client-side rate limiting
	cfg.RateLimiter = nil
	scheme, err := NewScheme()
	if err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	if opts.Controller.Judge == nil {
		judge, err := policy.NewPodSecurityJudge("restricted", "latest")
		if err != nil {
			return nil, err
		}
		opts.Controller.Judge = judge
	}
	managed := labels.SelectorFromSet(labels.Set{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue})
	cacheOpts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			// The operator only reads its Pods (never updates them): no deep copy per read, and
			// only the fields it reads are kept (opcontroller.TrimPodForCache).
			&corev1.Pod{}: {Label: managed, Transform: opcontroller.TrimPodForCache, UnsafeDisableDeepCopy: ptr.To(true)},
			// Tasks without their payload (description, contexts, annotations): a tenant sets
			// their size (T24); the payload is read from the API server when the Pod is built.
			&v1alpha1.Task{}: {Transform: opcontroller.TrimTaskForCache},
			// Only the operator's own egress NetworkPolicies (T17).
			&networkingv1.NetworkPolicy{}: {Label: managed},
			// The admission policies, compared before every Task start (T22): read-only, shared.
			&admissionregistrationv1.ValidatingAdmissionPolicy{}:        {UnsafeDisableDeepCopy: ptr.To(true)},
			&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}: {UnsafeDisableDeepCopy: ptr.To(true)},
		},
	}
	if len(opts.Namespaces) > 0 {
		cacheOpts.DefaultNamespaces = make(map[string]cache.Config, len(opts.Namespaces))
		for _, ns := range opts.Namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	id := opts.LeaderElectionID
	if id == "" {
		id = DefaultLeaderElectionID
	}
	mo := manager.Options{
		Scheme:    scheme,
		Logger:    opts.Logger,
		Cache:     cacheOpts,
		Client:    client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}}}},
		NewClient: opts.NewClient,
		Metrics: metricsserver.Options{
			BindAddress:    orZero(opts.MetricsAddr),
			SecureServing:  true,
			CertDir:        opts.MetricsCertDir,
			FilterProvider: filters.WithAuthenticationAndAuthorization,
		},
		HealthProbeBindAddress:        orZero(opts.ProbeAddr),
		PprofBindAddress:              orZero(opts.PprofAddr),
		LeaderElection:                !opts.DisableLeaderElection,
		LeaderElectionID:              id,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: opts.ReleaseLeaseOnCancel,
		Controller:                    config.Controller{SkipNameValidation: ptr.To(opts.SkipControllerNameValidation)},
	}
	if opts.Logger.GetSink() == nil {
		mo.Logger = logr.Discard()
	}
	if opts.LeaseDuration > 0 {
		mo.LeaseDuration = &opts.LeaseDuration
	}
	if opts.RenewDeadline > 0 {
		mo.RenewDeadline = &opts.RenewDeadline
	}
	if opts.RetryPeriod > 0 {
		mo.RetryPeriod = &opts.RetryPeriod
	}
	mgr, err := manager.New(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	// Ready only once the caches have synced: before that the operator cannot act on Tasks, and
	// a rolling update must not retire the old Pod for a new one that is still listing.
	synced := &cacheSyncedCheck{cache: mgr.GetCache()}
	if err := mgr.Add(synced); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("caches-synced", synced.check); err != nil {
		return nil, err
	}
	opts.Controller.Namespaces = opts.Namespaces
	rec := mgr.GetEventRecorder(EventReporter)
	tasks, err := opcontroller.NewTaskReconciler(mgr.GetClient(), mgr.GetAPIReader(), rec, opts.Controller)
	if err != nil {
		return nil, err
	}
	concurrency := opts.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	if err := tasks.SetupWithManager(ctx, mgr, concurrency, controller.Options{}); err != nil {
		return nil, fmt.Errorf("setting up the Task controller: %w", err)
	}
	if err := tasks.RegisterMetrics(ctrlmetrics.Registry); err != nil {
		return nil, fmt.Errorf("registering the Task metrics: %w", err)
	}
	agents, err := opcontroller.NewAgentReconciler(mgr.GetClient(), mgr.GetAPIReader(), rec, opts.Controller)
	if err != nil {
		return nil, err
	}
	if err := agents.SetupWithManager(mgr, controller.Options{}); err != nil {
		return nil, fmt.Errorf("setting up the Agent controller: %w", err)
	}
	configs, err := opcontroller.NewConfigReconciler(mgr.GetClient(), opts.Controller)
	if err != nil {
		return nil, err
	}
	if err := configs.SetupWithManager(mgr, controller.Options{}); err != nil {
		return nil, fmt.Errorf("setting up the KubeOpenCodeConfig controller: %w", err)
	}
	return mgr, nil
}

// cacheSyncedCheck is a readiness check that passes once every informer the manager started has
// synced. It runs on every replica (not only the leader): a follower is ready to take over once
// its caches are warm. The check itself never blocks.
type cacheSyncedCheck struct {
	cache  interface{ WaitForCacheSync(context.Context) bool }
	synced atomic.Bool
}

// Start waits for the caches (the manager starts them first), then marks the check passing.
func (c *cacheSyncedCheck) Start(ctx context.Context) error {
	if c.cache.WaitForCacheSync(ctx) {
		c.synced.Store(true)
	}
	<-ctx.Done()
	return nil
}

// NeedLeaderElection is false: every replica reports its own readiness.
func (c *cacheSyncedCheck) NeedLeaderElection() bool { return false }

func (c *cacheSyncedCheck) check(*http.Request) error {
	if !c.synced.Load() {
		return errors.New("the caches have not synced yet")
	}
	return nil
}

func orZero(addr string) string {
	if addr == "" {
		return "0"
	}
	return addr
}
