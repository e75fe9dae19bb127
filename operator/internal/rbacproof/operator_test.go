package rbacproof

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/component-helpers/auth/rbac/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestOperatorServiceAccount binds exactly the generated operator roles to a ServiceAccount and
// proves with that ServiceAccount's own token that it can do each thing the operator needs and
// nothing dangerous (threat T14).
func TestOperatorServiceAccount(t *testing.T) {
	ctx := context.Background()
	opNS := env.Namespace(ctx, t)   // the operator's own namespace
	workNS := env.Namespace(ctx, t) // where Tasks, Agents, agent Pods and their ConfigMaps live
	const saName = kocrbac.DefaultOperatorServiceAccount
	opts := kocrbac.OperatorOptions{Namespace: opNS, ServiceAccount: saName}
	objs, err := kocrbac.OperatorObjects(opts)
	if err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, objs)
	cfg := serviceAccountConfig(ctx, t, opNS, saName)
	op := newClient(t, cfg)
	cs := kubernetes.NewForConfigOrDie(cfg)

	// Objects owned by others, created as their owners would.
	agent := &v1alpha1.Agent{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: workNS},
		Spec:       v1alpha1.AgentSpec{AgentImage: "example.com/agent:1", WorkspaceDir: "/workspace", ServiceAccountName: "kubeopencode-agent"},
	}
	task := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "task", Namespace: workNS},
		Spec:       v1alpha1.TaskSpec{Description: "fix the bug", AgentRef: v1alpha1.AgentReference{Name: "agent"}},
	}
	finished := task.DeepCopy()
	finished.Name = "finished"
	config := &v1alpha1.KubeOpenCodeConfig{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ConfigName}}
	taskInput := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "task-input", Namespace: workNS}, Data: map[string]string{"notes.md": "context"}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-key", Namespace: workNS}, StringData: map[string]string{"key": "s3cr3t"}}
	for _, o := range []client.Object{agent, task, finished, config, taskInput, secret} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Valid", Message: "ok", LastTransitionTime: metav1.Now()}

	t.Run("tasks", func(t *testing.T) {
		need(t, "list tasks in all namespaces", op.List(ctx, &v1alpha1.TaskList{}))
		need(t, "get a task (its payload is not cached, T24)", op.Get(ctx, client.ObjectKeyFromObject(task), &v1alpha1.Task{}))
		need(t, "watch tasks in all namespaces", watch(ctx, op, &v1alpha1.TaskList{}))
		// The operator follows Tasks from its informer (list, watch); get reads one whole Task.
		list := &v1alpha1.TaskList{}
		need(t, "list tasks in the Task's namespace", op.List(ctx, list, client.InNamespace(workNS)))
		got := &v1alpha1.Task{}
		for i := range list.Items {
			if list.Items[i].Name == task.Name {
				got = &list.Items[i]
			}
		}
		if got.Name == "" {
			t.Fatalf("task %s not listed", task.Name)
		}
		got.Finalizers = append(got.Finalizers, "kubeopencode.io/cleanup")
		need(t, "update task (add finalizer)", op.Update(ctx, got))
		got.Finalizers = nil
		need(t, "update task (remove finalizer)", op.Update(ctx, got))
		got.Status.Phase = v1alpha1.TaskPhaseRunning
		need(t, "update tasks/status", op.Status().Update(ctx, got))
		need(t, "delete task (KubeOpenCodeConfig cleanup)", op.Delete(ctx, finished))
	})

	t.Run("agents", func(t *testing.T) {
		need(t, "list agents in all namespaces", op.List(ctx, &v1alpha1.AgentList{}))
		need(t, "watch agents in all namespaces", watch(ctx, op, &v1alpha1.AgentList{}))
		got := &v1alpha1.Agent{}
		need(t, "get agent", op.Get(ctx, client.ObjectKeyFromObject(agent), got))
		got.Status.Conditions = []metav1.Condition{ready}
		need(t, "update agents/status", op.Status().Update(ctx, got))
	})

	t.Run("kubeopencodeconfigs", func(t *testing.T) {
		need(t, "list kubeopencodeconfigs", op.List(ctx, &v1alpha1.KubeOpenCodeConfigList{}))
		need(t, "watch kubeopencodeconfigs", watch(ctx, op, &v1alpha1.KubeOpenCodeConfigList{}))
		list := &v1alpha1.KubeOpenCodeConfigList{}
		need(t, "list kubeopencodeconfigs", op.List(ctx, list))
		if len(list.Items) != 1 {
			t.Fatalf("listed %d KubeOpenCodeConfigs, want 1", len(list.Items))
		}
		got := &list.Items[0]
		got.Status.Conditions = []metav1.Condition{ready}
		need(t, "update kubeopencodeconfigs/status", op.Status().Update(ctx, got))
	})

	t.Run("configmaps", func(t *testing.T) {
		need(t, "list configmaps in all namespaces", op.List(ctx, &corev1.ConfigMapList{}))
		in := &corev1.ConfigMap{}
		need(t, "get the Task's configmap", op.Get(ctx, client.ObjectKeyFromObject(taskInput), in))
		own := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "task-copy", Namespace: workNS}, Data: in.Data}
		need(t, "create configmap", op.Create(ctx, own))
		need(t, "delete configmap", op.Delete(ctx, own))
	})

	t.Run("pods", func(t *testing.T) {
		need(t, "list pods in all namespaces", op.List(ctx, &corev1.PodList{}))
		need(t, "watch pods in all namespaces", watch(ctx, op, &corev1.PodList{}))
		pod := agentPod(workNS, "task-pod")
		need(t, "create pod", op.Create(ctx, pod))
		need(t, "get pod", op.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}))
		need(t, "patch pod (lower activeDeadlineSeconds of a stopped Pod)", op.Patch(ctx, pod.DeepCopy(),
			client.RawPatch(types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":1}}`))))
		need(t, "delete pod", op.Delete(ctx, pod))
	})

	t.Run("admission policies", func(t *testing.T) {
		// T22: the operator reads the installed policies and bindings (informer), never writes.
		need(t, "list validatingadmissionpolicies", op.List(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyList{}))
		need(t, "watch validatingadmissionpolicies", watch(ctx, op, &admissionregistrationv1.ValidatingAdmissionPolicyList{}))
		need(t, "list validatingadmissionpolicybindings", op.List(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}))
		need(t, "watch validatingadmissionpolicybindings", watch(ctx, op, &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}))
		for _, verb := range []string{"create", "update", "patch", "delete"} {
			expectAccess(ctx, t, cs, "", rbacv1.PolicyRule{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingadmissionpolicies"}, Verbs: []string{verb}}, false)
			expectAccess(ctx, t, cs, "", rbacv1.PolicyRule{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingadmissionpolicybindings"}, Verbs: []string{verb}}, false)
		}
	})

	t.Run("events", func(t *testing.T) {
		ev := &eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: "task.refused", Namespace: workNS},
			EventTime:           metav1.NewMicroTime(time.Now()),
			ReportingController: "kubeopencode.io/operator", ReportingInstance: "kubeopencode-operator-0",
			Action: "Admit", Reason: "AgentNotAllowed", Type: corev1.EventTypeWarning, Note: "refused",
			Regarding: corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Task", Namespace: workNS, Name: task.Name, UID: task.UID},
		}
		need(t, "create events.k8s.io event", op.Create(ctx, ev))
		before := ev.DeepCopy()
		ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Now())}
		need(t, "patch events.k8s.io event", op.Patch(ctx, ev, client.MergeFrom(before)))
	})

	t.Run("networkpolicies", func(t *testing.T) {
		need(t, "list networkpolicies in all namespaces", op.List(ctx, &networkingv1.NetworkPolicyList{}))
		need(t, "watch networkpolicies in all namespaces", watch(ctx, op, &networkingv1.NetworkPolicyList{}))
		np := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "agent-egress", Namespace: workNS},
			Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}},
		}
		need(t, "create networkpolicy", op.Create(ctx, np))
		need(t, "get networkpolicy", op.Get(ctx, client.ObjectKeyFromObject(np), np))
		np.Spec.PodSelector.MatchLabels = map[string]string{"kubeopencode.io/agent": "agent"}
		need(t, "update networkpolicy", op.Update(ctx, np))
		need(t, "delete networkpolicy", op.Delete(ctx, np))
	})

	t.Run("metrics authentication and authorization", func(t *testing.T) {
		_, err := cs.AuthenticationV1().TokenReviews().Create(ctx,
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "not-a-token"}}, metav1.CreateOptions{})
		need(t, "create tokenreviews", err)
		_, err = cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "scraper", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}}}, metav1.CreateOptions{})
		need(t, "create subjectaccessreviews", err)
	})

	t.Run("leader election with controller-runtime", func(t *testing.T) {
		proveLeaderElection(ctx, t, cfg, opNS)
	})

	t.Run("forbidden", func(t *testing.T) {
		pod := agentPod(workNS, "victim")
		if err := env.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		impersonate := func(user string, groups ...string) error {
			c := rest.CopyConfig(cfg)
			c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
			_, err := kubernetes.NewForConfigOrDie(c).CoreV1().Pods(workNS).List(ctx, metav1.ListOptions{})
			return err
		}
		post := func(path string) error {
			return cs.CoreV1().RESTClient().Post().AbsPath(path).Do(ctx).Error()
		}
		podPath := "/api/v1/namespaces/" + workNS + "/pods/" + pod.Name
		for name, err := range map[string]error{
			// T14: nothing on Secrets, in any namespace, with any verb.
			"get secret":                      op.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}),
			"list secrets in namespace":       op.List(ctx, &corev1.SecretList{}, client.InNamespace(workNS)),
			"list secrets in all namespaces":  op.List(ctx, &corev1.SecretList{}),
			"watch secrets in all namespaces": watch(ctx, op, &corev1.SecretList{}),
			"watch secrets in namespace":      watch(ctx, op, &corev1.SecretList{}, client.InNamespace(workNS)),
			"create secret":                   op.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "minted", Namespace: workNS}}),
			"create token secret in own namespace": op.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: opNS,
				Annotations: map[string]string{corev1.ServiceAccountNameKey: saName}}, Type: corev1.SecretTypeServiceAccountToken}),
			"update secret": op.Update(ctx, secret.DeepCopy()),
			"delete secret": op.Delete(ctx, secret.DeepCopy()),
			// Running code in, or reaching into, other workloads.
			"pods/exec":                post(podPath + "/exec?command=id&stdout=true"),
			"pods/attach":              post(podPath + "/attach?stdout=true"),
			"pods/portforward":         post(podPath + "/portforward?ports=8080"),
			"pods/ephemeralcontainers": updateEphemeral(ctx, cs, pod),
			"nodes/proxy":              cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/node-1/proxy/pods").Do(ctx).Error(),
			"list nodes":               op.List(ctx, &corev1.NodeList{}),
			// Minting identities and acting as others.
			"serviceaccounts/token for itself":  createToken(ctx, cs, opNS, saName),
			"serviceaccounts/token for another": createToken(ctx, cs, workNS, "default"),
			"get serviceaccount":                op.Get(ctx, types.NamespacedName{Namespace: opNS, Name: saName}, &corev1.ServiceAccount{}),
			"impersonate a user":                impersonate("system:admin"),
			"impersonate a service account":     impersonate("system:serviceaccount:kube-system:default"),
			"impersonate a group":               impersonate("system:serviceaccount:"+opNS+":"+saName, "system:masters"),
			// RBAC writes (bind, escalate).
			"create clusterrolebinding": op.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "own-the-cluster"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: opNS, Name: saName}}}),
			"create role": op.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "more", Namespace: workNS},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}),
			// Verbs the operator deliberately lacks.
			"update pod":                   op.Update(ctx, pod.DeepCopy()),
			"deletecollection pods":        op.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(workNS)),
			"patch configmap":              op.Patch(ctx, taskInput.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"data":{"x":"y"}}`))),
			"update configmap":             op.Update(ctx, taskInput.DeepCopy()),
			"watch configmaps":             watch(ctx, op, &corev1.ConfigMapList{}),
			"patch task":                   op.Patch(ctx, task.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`))),
			"patch tasks/status":           op.Status().Patch(ctx, task.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"status":{"podName":"x"}}`))),
			"patch agents/status":          op.Status().Patch(ctx, agent.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"status":{"observedGeneration":1}}`))),
			"create task":                  op.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "forged", Namespace: workNS}, Spec: task.Spec}),
			"update agent":                 op.Update(ctx, agent.DeepCopy()),
			"delete agent":                 op.Delete(ctx, agent.DeepCopy()),
			"update kubeopencodeconfig":    op.Update(ctx, config.DeepCopy()),
			"list namespaces":              op.List(ctx, &corev1.NamespaceList{}),
			"leases outside its namespace": op.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: workNS}}),
			"core events outside its namespace": op.Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: workNS},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: workNS, Name: pod.Name}}),
		} {
			if !apierrors.IsForbidden(err) {
				t.Errorf("%s: got %v, want 403 Forbidden", name, err)
			}
		}
	})

	operatorRole, err := kocrbac.OperatorClusterRole(opts)
	if err != nil {
		t.Fatal(err)
	}
	leaderRole, err := kocrbac.LeaderElectionRole(opts)
	if err != nil {
		t.Fatal(err)
	}
	operatorRules, leaderRules := operatorRole.Rules, leaderRole.Rules

	t.Run("self subject access reviews", func(t *testing.T) {
		for _, rule := range operatorRules {
			for _, atom := range validation.BreakdownRule(rule) {
				for _, ns := range []string{"", workNS, opNS} {
					expectAccess(ctx, t, cs, ns, atom, true)
				}
			}
		}
		for _, rule := range leaderRules {
			for _, atom := range validation.BreakdownRule(rule) {
				expectAccess(ctx, t, cs, opNS, atom, true)
				expectAccess(ctx, t, cs, workNS, atom, false)
				expectAccess(ctx, t, cs, "", atom, false)
			}
		}
		for _, g := range rbac.DangerousGrants() {
			if _, accepted := kocrbac.AcceptedOperatorGrants()[g.Name]; accepted {
				continue // pods create: granted on purpose, checked above with the other rules
			}
			for _, ns := range []string{"", workNS, opNS} {
				expectAccess(ctx, t, cs, ns, g.Rule, false)
			}
		}
	})

	t.Run("self subject rules review", func(t *testing.T) {
		// In its own namespace the operator holds its ClusterRole plus the leader-election Role;
		// elsewhere only the ClusterRole. Either way: at least the generated rules, nothing else
		// but the self-review rules every authenticated user has, and nothing dangerous.
		expectRules(ctx, t, cs, opNS, append(append([]rbacv1.PolicyRule{}, operatorRules...), leaderRules...))
		expectRules(ctx, t, cs, workNS, operatorRules)
	})
}

// need reports a failed API call the operator needs.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// watch opens a watch and closes it: the API server authorizes the watch verb when it answers.
func watch(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
	w, err := c.Watch(ctx, list, opts...)
	if err != nil {
		return err
	}
	w.Stop()
	return nil
}

func agentPod(namespace, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptr.To(false),
			Containers:                   []corev1.Container{{Name: "agent", Image: "example.com/agent:1"}},
		},
	}
}

func updateEphemeral(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) error {
	p := pod.DeepCopy()
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	_, err := cs.CoreV1().Pods(p.Namespace).UpdateEphemeralContainers(ctx, p.Name, p, metav1.UpdateOptions{})
	return err
}

func createToken(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	_, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	return err
}

// expectAccess asks the API server's authorizer, as the client's own identity, whether the
// single-verb, single-resource rule atom is allowed in namespace ns ("" for cluster-wide).
func expectAccess(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string, atom rbacv1.PolicyRule, want bool) {
	t.Helper()
	resource, sub, _ := strings.Cut(atom.Resources[0], "/")
	attrs := &authorizationv1.ResourceAttributes{Namespace: ns, Verb: atom.Verbs[0], Group: atom.APIGroups[0], Resource: resource, Subresource: sub}
	review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
		&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectAccessReview %+v: %v", attrs, err)
	}
	if review.Status.Allowed != want {
		t.Errorf("%s %s.%s in namespace %q: allowed=%v, want %v (%s)", attrs.Verb, atom.Resources[0], attrs.Group, ns, review.Status.Allowed, want, review.Status.Reason)
	}
}

// builtinRules are granted to every authenticated user by the API server's bootstrap roles
// (system:basic-user: the self reviews; system:cluster-trust-bundle-discovery: reading
// ClusterTrustBundles, which hold public CA certificates), so a rules review always includes them.
var builtinRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"selfsubjectreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"clustertrustbundles"}, Verbs: []string{"get", "list", "watch"}},
}

// expectRules checks the API server's SelfSubjectRulesReview for namespace ns: the resource rules
// cover want, cover nothing beyond want and builtinRules, and contain no dangerous grant.
// (Non-resource rules come from the built-in discovery roles of every authenticated user.)
func expectRules(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string, want []rbacv1.PolicyRule) {
	t.Helper()
	review, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx,
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectRulesReview in %s: %v", ns, err)
	}
	if review.Status.Incomplete {
		t.Fatalf("rules review in %s is incomplete: %s", ns, review.Status.EvaluationError)
	}
	var got []rbacv1.PolicyRule
	for _, r := range review.Status.ResourceRules {
		got = append(got, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, Verbs: r.Verbs})
	}
	if ok, missing := validation.Covers(got, want); !ok {
		t.Errorf("namespace %s: the API server does not grant %v", ns, missing)
	}
	if ok, extra := validation.Covers(append(append([]rbacv1.PolicyRule{}, want...), builtinRules...), got); !ok {
		t.Errorf("namespace %s: the API server grants more than generated: %v", ns, extra)
	}
	if found := kocrbac.WithoutAccepted(rbac.FindDangerous(got), kocrbac.AcceptedOperatorGrants()); len(found) > 0 {
		t.Errorf("namespace %s: dangerous grants %v", ns, found)
	}
}

// TestOperatorPodsCreateOnlyInWatchedNamespaces: generated with the operator's watched
// namespaces, the roles let the operator's ServiceAccount create Pods there and nowhere else
// (creating a Pod runs it as any ServiceAccount of the namespace with any of its Secrets), while
// it still reads and deletes its Pods everywhere it watches.
func TestOperatorPodsCreateOnlyInWatchedNamespaces(t *testing.T) {
	ctx := context.Background()
	opNS := env.Namespace(ctx, t)
	watched := env.Namespace(ctx, t)
	other := env.Namespace(ctx, t)
	const saName = kocrbac.DefaultOperatorServiceAccount
	objs, err := kocrbac.OperatorObjects(kocrbac.OperatorOptions{Namespace: opNS, ServiceAccount: saName, Namespaces: []string{watched}})
	if err != nil {
		t.Fatal(err)
	}
	// Cluster-scoped names are shared with TestOperatorServiceAccount: make them this test's own.
	for _, o := range objs {
		switch r := o.(type) {
		case *rbacv1.ClusterRole:
			r.Name += "-" + opNS
		case *rbacv1.ClusterRoleBinding:
			r.Name += "-" + opNS
			r.RoleRef.Name += "-" + opNS
		}
	}
	apply(ctx, t, objs)
	cfg := serviceAccountConfig(ctx, t, opNS, saName)
	op := newClient(t, cfg)
	// RBAC bindings reach the authorizer asynchronously.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return op.List(ctx, &corev1.PodList{}) == nil, nil
	})
	need(t, "list pods once the bindings are effective", err)
	need(t, "create a Pod in the watched namespace", op.Create(ctx, agentPod(watched, "agent")))
	if err := op.Create(ctx, agentPod(other, "agent")); !apierrors.IsForbidden(err) {
		t.Errorf("create a Pod in an unwatched namespace: %v, want Forbidden", err)
	}
	need(t, "list pods in all namespaces", op.List(ctx, &corev1.PodList{}))
	need(t, "delete the Pod", op.Delete(ctx, agentPod(watched, "agent")))
}

// proveLeaderElection runs a controller-runtime manager as the ServiceAccount with leader
// election in namespace ns: it must be elected, record the "became leader" Event there, and
// release the Lease on shutdown (update).
func proveLeaderElection(ctx context.Context, t *testing.T, cfg *rest.Config, ns string) {
	const id = "kubeopencode-operator"
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                        env.Scheme,
		Logger:                        logr.Discard(),
		LeaderElection:                true,
		LeaderElectionID:              id,
		LeaderElectionNamespace:       ns,
		LeaderElectionReleaseOnCancel: true,
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	select {
	case <-mgr.Elected():
	case err := <-done:
		t.Fatalf("manager stopped before being elected: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("not elected within 2 minutes")
	}
	// client-go records "became leader" on the Lease through the core Events API.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		events := &corev1.EventList{}
		if err := env.Client.List(ctx, events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Reason == "LeaderElection" && e.InvolvedObject.Kind == "Lease" && e.InvolvedObject.Name == id {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no LeaderElection Event on Lease %s/%s: %v", ns, id, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("manager: %v", err)
	}
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: id}, lease); err != nil {
		t.Fatal(err)
	}
	if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != "" {
		t.Errorf("Lease still held by %q after shutdown: releasing it (update) failed", h)
	}
}
