package controller_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/controller"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

var (
	env *testenv.Env
	// operatorConfig authenticates as the operator's ServiceAccount, bound to exactly the roles
	// kocrbac.OperatorObjects generates (T14): every manager in these tests runs with it.
	operatorConfig *rest.Config
	// operatorNS holds the operator's ServiceAccount and its leader-election Lease.
	operatorNS string
)

func TestMain(m *testing.M) {
	// The sandbox example's CRDs too: TestSandboxPodsAreNotOurs runs that third-party controller
	// next to the operator.
	sandboxCRDs, err := sandboxCRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(testenv.Run(m, testenv.Options{KubeOpenCodeAPI: true, CRDs: sandboxCRDs}, &env, func(*testenv.Env) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := installOperatorIdentity(ctx); err != nil {
			return err
		}
		// The shipped admission policies: the operator starts no Task without them (T22).
		return testenv.InstallAdmissionPolicies(ctx, env.Client, controller.PolicyLoadGrace)
	}))
}

// installOperatorIdentity creates the operator's namespace, ServiceAccount and generated roles,
// and a token for that ServiceAccount from the TokenRequest API.
func installOperatorIdentity(ctx context.Context) error {
	operatorNS = kocrbac.DefaultOperatorNamespace
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}); err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: kocrbac.DefaultOperatorServiceAccount}}
	if err := env.Client.Create(ctx, sa); err != nil {
		return err
	}
	objs, err := kocrbac.OperatorObjects(kocrbac.OperatorOptions{Namespace: operatorNS})
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o.(client.Object)); err != nil {
			return fmt.Errorf("creating %T: %w", o, err)
		}
	}
	admin := kubernetes.NewForConfigOrDie(env.Config)
	tr, err := admin.CoreV1().ServiceAccounts(operatorNS).CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("requesting a token: %w", err)
	}
	operatorConfig = rest.AnonymousClientConfig(env.Config)
	operatorConfig.BearerToken = tr.Status.Token
	review, err := kubernetes.NewForConfigOrDie(operatorConfig).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if want := "system:serviceaccount:" + operatorNS + ":" + sa.Name; review.Status.UserInfo.Username != want {
		return fmt.Errorf("token authenticates as %q, want %q", review.Status.UserInfo.Username, want)
	}
	return nil
}

// operator is a running manager.
type operator struct {
	cancel   context.CancelFunc
	exited   chan struct{} // closed when mgr.Start returned
	err      error         // what mgr.Start returned
	stopping bool
}

// running is the manager of the current test (tests run one at a time), so waits fail at once
// when it dies instead of timing out.
var running *operator

// stop stops the manager and waits for it.
func (o *operator) stop(t *testing.T) {
	t.Helper()
	if o.stopping {
		return
	}
	o.stopping = true
	o.cancel()
	select {
	case <-o.exited:
		if o.err != nil {
			t.Errorf("manager: %v", o.err)
		}
	case <-time.After(time.Minute):
		t.Error("manager did not stop within a minute")
	}
}

// died reports an unexpected exit of the manager.
func (o *operator) died() error {
	if o == nil || o.stopping {
		return nil
	}
	select {
	case <-o.exited:
		return fmt.Errorf("the manager exited: %v", o.err)
	default:
		return nil
	}
}

// startOperator runs the manager as the operator's ServiceAccount, watching namespaces, until the
// test ends. change adjusts the options.
func startOperator(t *testing.T, namespaces []string, change ...func(*setup.Options)) *operator {
	t.Helper()
	opts := setup.Options{
		Config:                  operatorConfig,
		LeaderElectionNamespace: operatorNS,
		// Generous lease timings: a loaded test machine must not lose leadership (which stops
		// the manager). A quick RetryPeriod lets the next test's manager take the released Lease.
		LeaseDuration:                30 * time.Second,
		RenewDeadline:                20 * time.Second,
		RetryPeriod:                  200 * time.Millisecond,
		ReleaseLeaseOnCancel:         true,
		Namespaces:                   namespaces,
		Concurrency:                  8,
		SkipControllerNameValidation: true,
		Logger:                       testLogger(),
	}
	for _, c := range change {
		c(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := setup.New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	o := &operator{cancel: cancel, exited: make(chan struct{})}
	go func() {
		o.err = mgr.Start(ctx)
		close(o.exited)
	}()
	running = o
	t.Cleanup(func() { o.stop(t) })
	select {
	case <-mgr.Elected():
	case <-o.exited:
		t.Fatalf("manager stopped before it was elected: %v", o.err)
	case <-time.After(time.Minute):
		t.Fatal("manager not elected within a minute")
	}
	return o
}

func testLogger() logr.Logger {
	if os.Getenv("KUBEOPENCODE_TEST_LOG") != "" {
		return zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr))
	}
	return logr.Discard()
}

// mutate reads obj afresh, applies change and updates it, retrying on conflicts: the operator
// writes status concurrently, and every status write changes the object's resourceVersion.
func mutate[T client.Object](t *testing.T, obj T, change func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return env.Client.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("updating %s: %v", obj.GetName(), err)
	}
}

// eventually polls cond every 50ms until it is true, fails the test on error or after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := running.died(); err != nil {
			return false, err
		}
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

// consistently checks cond every 50 ms for d and fails at the first check that does not hold:
// for what must not happen (a negative that eventually cannot express).
func consistently(t *testing.T, d time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		if err := running.died(); err != nil {
			t.Fatalf("checking that %s: %v", what, err)
		}
		ok, err := cond(ctx)
		if ctx.Err() != nil {
			return // the period ended during the check
		}
		if err != nil || !ok {
			t.Fatalf("not %s (error: %v)", what, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func agent(ns, name string, change ...func(*v1alpha1.Agent)) *v1alpha1.Agent {
	a := &v1alpha1.Agent{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.AgentSpec{
			WorkspaceDir:       "/workspace",
			ServiceAccountName: "agent",
		},
	}
	for _, c := range change {
		c(a)
	}
	return a
}

func task(ns, name string, agentNS, agentName string, change ...func(*v1alpha1.Task)) *v1alpha1.Task {
	t := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.TaskSpec{
			Description: "fix the bug in " + name,
			AgentRef:    v1alpha1.AgentReference{Name: agentName},
		},
	}
	if agentNS != ns {
		t.Spec.AgentRef.Namespace = agentNS
	}
	for _, c := range change {
		c(t)
	}
	return t
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
		}
	}
}

// waitTask waits until the Task satisfies cond and returns it.
func waitTask(t *testing.T, tk *v1alpha1.Task, what string, cond func(*v1alpha1.Task) bool) *v1alpha1.Task {
	t.Helper()
	got := &v1alpha1.Task{}
	eventually(t, 30*time.Second, fmt.Sprintf("Task %s/%s %s", tk.Namespace, tk.Name, what), func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
			return false, err
		}
		return cond(got), nil
	})
	return got
}

// waitPhase waits for the phase, and fails at once if the Task ended in another one.
func waitPhase(t *testing.T, tk *v1alpha1.Task, phase v1alpha1.TaskPhase) *v1alpha1.Task {
	t.Helper()
	var ended *v1alpha1.Task
	got := waitTask(t, tk, "in phase "+string(phase), func(got *v1alpha1.Task) bool {
		final := got.Status.Phase == v1alpha1.TaskPhaseCompleted || got.Status.Phase == v1alpha1.TaskPhaseFailed
		if final && got.Status.Phase != phase {
			ended = got.DeepCopy()
			return true
		}
		return got.Status.Phase == phase
	})
	if ended != nil {
		t.Fatalf("Task %s/%s ended %s (%+v), want %s", tk.Namespace, tk.Name, ended.Status.Phase, succeeded(ended), phase)
	}
	return got
}

// succeeded returns the Task's Succeeded condition (or an empty one).
func succeeded(tk *v1alpha1.Task) metav1.Condition {
	if c := meta.FindStatusCondition(tk.Status.Conditions, v1alpha1.ConditionSucceeded); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// podsOf lists the Pods of a Task by its UID label, in every namespace.
func podsOf(t *testing.T, tk *v1alpha1.Task) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := env.Client.List(context.Background(), pods, client.MatchingLabels{v1alpha1.TaskUIDLabel: string(tk.UID)}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// waitPod waits for the Task's single Pod and returns it.
func waitPod(t *testing.T, tk *v1alpha1.Task) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	eventually(t, 30*time.Second, "the Pod of Task "+tk.Name, func(ctx context.Context) (bool, error) {
		if tk.UID == "" {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), tk); err != nil {
				return false, err
			}
		}
		pods := &corev1.PodList{}
		if err := env.Client.List(ctx, pods, client.MatchingLabels{v1alpha1.TaskUIDLabel: string(tk.UID)}); err != nil {
			return false, err
		}
		if len(pods.Items) > 1 {
			return false, fmt.Errorf("Task %s has %d Pods", tk.Name, len(pods.Items))
		}
		if len(pods.Items) == 1 {
			pod = pods.Items[0]
			return true, nil
		}
		return false, nil
	})
	return &pod
}

// setPodStatus plays the kubelet: it writes the Pod's status as the admin.
func setPodStatus(t *testing.T, pod *corev1.Pod, change func(*corev1.PodStatus)) {
	t.Helper()
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		cur := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return false, err
		}
		change(&cur.Status)
		if err := env.Client.Status().Update(ctx, cur); err != nil {
			return false, nil // conflict: retry
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("updating the status of Pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

func phase(p corev1.PodPhase) func(*corev1.PodStatus) {
	return func(s *corev1.PodStatus) { s.Phase = p }
}

// taskEvents returns the events.k8s.io Events regarding the Task, oldest first.
func taskEvents(t *testing.T, tk *v1alpha1.Task) []eventsv1.Event {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(tk.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.UID == tk.UID {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventTime.Before(&out[j].EventTime) })
	return out
}

// waitEvent waits for an Event regarding the Task with that reason and returns it.
func waitEvent(t *testing.T, tk *v1alpha1.Task, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	eventually(t, 30*time.Second, "Event "+reason+" on Task "+tk.Name, func(context.Context) (bool, error) {
		for _, e := range taskEvents(t, tk) {
			if e.Reason == reason {
				found = e
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// stopTask sets the stop annotation as a task author would (a merge patch).
func stopTask(t *testing.T, tk *v1alpha1.Task) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"` + v1alpha1.StopAnnotation + `":"true"}}}`)
	if err := env.Client.Patch(context.Background(), &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: tk.Namespace, Name: tk.Name}},
		client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
}

// waitGone waits until the object no longer exists.
func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%T %s/%s to be gone", obj, obj.GetNamespace(), obj.GetName()), func(ctx context.Context) (bool, error) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// exists reports whether the object exists, and fails the test on other errors.
func exists(t *testing.T, obj client.Object) bool {
	t.Helper()
	err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}
