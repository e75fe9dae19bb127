package rbacproof

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestAgentServiceAccount proves the agent Role: its ServiceAccount can get a Task or Agent by
// name in its namespace and do nothing else, because the agent does whatever its prompt says.
func TestAgentServiceAccount(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	otherNS := env.Namespace(ctx, t)
	objs, err := kocrbac.AgentObjects(kocrbac.AgentOptions{Namespace: agentNS})
	if err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, objs)
	cfg := serviceAccountConfig(ctx, t, agentNS, kocrbac.DefaultAgentServiceAccount)
	ag := newClient(t, cfg)
	cs := kubernetes.NewForConfigOrDie(cfg)

	var tasks []*v1alpha1.Task
	for _, ns := range []string{agentNS, otherNS} {
		agent := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
			Spec: v1alpha1.AgentSpec{AgentImage: "example.com/agent:1", WorkspaceDir: "/workspace", ServiceAccountName: kocrbac.DefaultAgentServiceAccount}}
		task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "task", Namespace: ns},
			Spec: v1alpha1.TaskSpec{Description: "fix the bug", AgentRef: v1alpha1.AgentReference{Name: "agent"}}}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-key", Namespace: ns}, StringData: map[string]string{"key": "s3cr3t"}}
		for _, o := range []client.Object{agent, task, secret} {
			if err := env.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		tasks = append(tasks, task)
	}

	own := &v1alpha1.Task{}
	need(t, "get its Task", ag.Get(ctx, client.ObjectKeyFromObject(tasks[0]), own))
	need(t, "get its Agent", ag.Get(ctx, types.NamespacedName{Namespace: agentNS, Name: "agent"}, &v1alpha1.Agent{}))

	statusPatch := own.DeepCopy()
	statusPatch.Status.Phase = v1alpha1.TaskPhaseCompleted
	for name, err := range map[string]error{
		"list tasks":                      ag.List(ctx, &v1alpha1.TaskList{}, client.InNamespace(agentNS)),
		"watch tasks":                     watch(ctx, ag, &v1alpha1.TaskList{}, client.InNamespace(agentNS)),
		"get a Task in another namespace": ag.Get(ctx, client.ObjectKeyFromObject(tasks[1]), &v1alpha1.Task{}),
		"update its Task":                 ag.Update(ctx, own.DeepCopy()),
		"update tasks/status":             ag.Status().Update(ctx, statusPatch),
		"create a Task":                   ag.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "spawned", Namespace: agentNS}, Spec: own.Spec}),
		"delete its Task":                 ag.Delete(ctx, own.DeepCopy()),
		"list agents":                     ag.List(ctx, &v1alpha1.AgentList{}, client.InNamespace(agentNS)),
		"get secret":                      ag.Get(ctx, types.NamespacedName{Namespace: agentNS, Name: "api-key"}, &corev1.Secret{}),
		"list secrets":                    ag.List(ctx, &corev1.SecretList{}, client.InNamespace(agentNS)),
		"list configmaps":                 ag.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(agentNS)),
		"list pods":                       ag.List(ctx, &corev1.PodList{}, client.InNamespace(agentNS)),
		"serviceaccounts/token":           createToken(ctx, cs, agentNS, kocrbac.DefaultAgentServiceAccount),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("agent %s: got %v, want 403 Forbidden", name, err)
		}
	}
	role, err := rbac.Role(rbac.RoleSpec{Name: "x", Namespace: agentNS, Rules: kocrbac.AgentRules()})
	if err != nil {
		t.Fatal(err)
	}
	expectRules(ctx, t, cs, agentNS, role.Rules)
	expectRules(ctx, t, cs, otherNS, nil)
}

// TestPersonas binds each persona ClusterRole in one namespace, as a platform team would, and
// checks it by acting as a user who holds it.
func TestPersonas(t *testing.T) {
	ctx := context.Background()
	teamNS := env.Namespace(ctx, t)   // where the task author works
	agentsNS := env.Namespace(ctx, t) // the platform team's Agents
	var objs []runtime.Object
	for _, p := range kocrbac.Personas() {
		role, err := kocrbac.PersonaClusterRole(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, role)
	}
	bind := func(ns, user string, p kocrbac.Persona) runtime.Object {
		b, err := rbac.RoleBinding(rbac.BindingSpec{Name: string(p) + "-" + user, Namespace: ns,
			RoleRef: rbac.RoleRefToClusterRole(p.RoleName()), Subjects: []rbacv1.Subject{rbac.UserSubject(user)}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	objs = append(objs,
		bind(teamNS, "alice", kocrbac.PersonaTaskAuthor),
		bind(agentsNS, "alice", kocrbac.PersonaAgentUser),
		bind(teamNS, "carol", kocrbac.PersonaViewer),
		bind(agentsNS, "carol", kocrbac.PersonaViewer),
	)
	apply(ctx, t, objs)
	agent := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: agentsNS},
		Spec: v1alpha1.AgentSpec{AgentImage: "example.com/agent:1", WorkspaceDir: "/workspace", ServiceAccountName: kocrbac.DefaultAgentServiceAccount,
			AllowedNamespaces: []string{teamNS}}}
	if err := env.Client.Create(ctx, agent); err != nil {
		t.Fatal(err)
	}

	alice := newClient(t, impersonating("alice"))
	carol := newClient(t, impersonating("carol"))
	task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "task", Namespace: teamNS},
		Spec: v1alpha1.TaskSpec{Description: "fix the bug", AgentRef: v1alpha1.AgentReference{Name: "agent", Namespace: agentsNS}}}

	t.Run("task author", func(t *testing.T) {
		need(t, "create task", alice.Create(ctx, task))
		need(t, "get task", alice.Get(ctx, client.ObjectKeyFromObject(task), task))
		need(t, "list tasks", alice.List(ctx, &v1alpha1.TaskList{}, client.InNamespace(teamNS)))
		need(t, "watch tasks", watch(ctx, alice, &v1alpha1.TaskList{}, client.InNamespace(teamNS)))
		stop := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+v1alpha1.StopAnnotation+`":"true"}}}`))
		need(t, "stop task (patch the stop annotation)", alice.Patch(ctx, task, stop))
		forged := task.DeepCopy()
		forged.Status.Phase = v1alpha1.TaskPhaseCompleted
		for name, err := range map[string]error{
			"update tasks/status":         alice.Status().Update(ctx, forged),
			"create task elsewhere":       alice.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: agentsNS}, Spec: task.Spec}),
			"get agent (use is not read)": alice.Get(ctx, client.ObjectKeyFromObject(agent), &v1alpha1.Agent{}),
			"update agent":                alice.Update(ctx, agent.DeepCopy()),
			"list secrets":                alice.List(ctx, &corev1.SecretList{}, client.InNamespace(teamNS)),
		} {
			if !apierrors.IsForbidden(err) {
				t.Errorf("task author %s: got %v, want 403 Forbidden", name, err)
			}
		}
		need(t, "delete task", alice.Delete(ctx, task))
	})

	t.Run("agent user", func(t *testing.T) {
		// "use" is a custom verb: only an authorizer check (the admission policy's) exercises it.
		admin := kubernetes.NewForConfigOrDie(env.Config)
		for _, c := range []struct {
			user, ns string
			want     bool
		}{{"alice", agentsNS, true}, {"alice", teamNS, false}, {"carol", agentsNS, false}} {
			sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: c.user, ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c.ns, Verb: "use", Group: kocrbac.APIGroup, Resource: "agents", Name: "agent"},
			}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != c.want {
				t.Errorf("%s use agents in %s: allowed=%v, want %v", c.user, c.ns, sar.Status.Allowed, c.want)
			}
		}
	})

	t.Run("tasks/log (T23, checked by the log server)", func(t *testing.T) {
		admin := kubernetes.NewForConfigOrDie(env.Config)
		for _, c := range []struct {
			user, ns string
			want     bool
		}{{"alice", teamNS, true}, {"carol", teamNS, true}, {"alice", agentsNS, false}, {"mallory", teamNS, false}} {
			sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: c.user, ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c.ns, Verb: "get", Group: kocrbac.APIGroup, Resource: "tasks", Subresource: "log", Name: "task"},
			}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != c.want {
				t.Errorf("%s get tasks/log in %s: allowed=%v, want %v", c.user, c.ns, sar.Status.Allowed, c.want)
			}
		}
		need(t, "task author lists Events", alice.List(ctx, &eventsv1.EventList{}, client.InNamespace(teamNS)))
		need(t, "viewer lists core Events", carol.List(ctx, &corev1.EventList{}, client.InNamespace(teamNS)))
	})

	t.Run("viewer", func(t *testing.T) {
		need(t, "list tasks", carol.List(ctx, &v1alpha1.TaskList{}, client.InNamespace(teamNS)))
		need(t, "watch tasks", watch(ctx, carol, &v1alpha1.TaskList{}, client.InNamespace(teamNS)))
		need(t, "get agent", carol.Get(ctx, client.ObjectKeyFromObject(agent), &v1alpha1.Agent{}))
		need(t, "list agents", carol.List(ctx, &v1alpha1.AgentList{}, client.InNamespace(agentsNS)))
		for name, err := range map[string]error{
			"create task":  carol.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "v", Namespace: teamNS}, Spec: task.Spec}),
			"update agent": carol.Update(ctx, agent.DeepCopy()),
			"list secrets": carol.List(ctx, &corev1.SecretList{}, client.InNamespace(teamNS)),
		} {
			if !apierrors.IsForbidden(err) {
				t.Errorf("viewer %s: got %v, want 403 Forbidden", name, err)
			}
		}
	})
}
