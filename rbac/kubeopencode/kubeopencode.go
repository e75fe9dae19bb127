package kubeopencode

import (
	"github.com/kubeopencode/kubeopencode/rbac"

	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Names of KubeOpenCode's API group and of the objects the predefined roles produce.
const (
	// APIGroup is KubeOpenCode's API group.
	APIGroup = "kubeopencode.io"

	// DefaultOperatorNamespace is where the operator runs unless OperatorOptions.Namespace says otherwise.
	DefaultOperatorNamespace = "kubeopencode-system"
	// DefaultOperatorServiceAccount is the operator's ServiceAccount unless OperatorOptions.ServiceAccount says otherwise.
	DefaultOperatorServiceAccount = "kubeopencode-operator"
	// DefaultAgentServiceAccount is the agent Pods' ServiceAccount unless AgentOptions.ServiceAccount says otherwise.
	DefaultAgentServiceAccount = "kubeopencode-agent"

	// OperatorRoleName names the operator's ClusterRole and its ClusterRoleBinding.
	OperatorRoleName = "kubeopencode-operator"
	// OperatorPodsRoleName names the Role and RoleBinding granting the operator "create" on pods
	// in each of OperatorOptions.Namespaces.
	OperatorPodsRoleName = "kubeopencode-operator-pods"
	// FinalizerRemoverRoleName names the escape-hatch ClusterRole of the cleanup finalizer guard
	// (threat T18). The policy module's admission policy checks the same verb
	// (VerbRemoveFinalizer) and names this role in its refusal.
	FinalizerRemoverRoleName = "kubeopencode-task-finalizer-remover"
	// VerbRemoveFinalizer is the custom RBAC verb on tasks that the finalizer guard checks.
	VerbRemoveFinalizer = "removefinalizer"
	// LeaderElectionRoleName names the operator's leader-election Role and RoleBinding.
	LeaderElectionRoleName = "kubeopencode-operator-leader-election"
	// AgentRoleName names the agent ServiceAccount's Role and RoleBinding in each Agent namespace.
	AgentRoleName = "kubeopencode-agent"
	// TaskAuthorRoleName names the task-author persona ClusterRole.
	TaskAuthorRoleName = "kubeopencode-task-author"
	// AgentUserRoleName names the agent-user persona ClusterRole. The policy module emits the same
	// ClusterRole (same name, same single rule) for the admission policy of threat T2.
	AgentUserRoleName = "kubeopencode-agent-user"
	// ViewerRoleName names the viewer persona ClusterRole.
	ViewerRoleName = "kubeopencode-viewer"
	// LogReaderRoleName names the log server's ClusterRole and ClusterRoleBinding.
	LogReaderRoleName = "kubeopencode-log-reader"
	// LogReaderPodsRoleName names the log server's ClusterRole on agent Pods, bound only by
	// RoleBindings (of the same name) in the Agent namespaces.
	LogReaderPodsRoleName = "kubeopencode-log-reader-pods"
	// DefaultLogReaderServiceAccount is the log server's ServiceAccount unless
	// LogReaderOptions.ServiceAccount says otherwise.
	DefaultLogReaderServiceAccount = "kubeopencode-log-reader"
)

// OperatorOptions configure the operator's roles. The zero value is the documented default.
type OperatorOptions struct {
	// Namespace the operator runs in; its leader-election Role lives there.
	// Default DefaultOperatorNamespace.
	Namespace string
	// ServiceAccount the operator runs as, in Namespace. Default DefaultOperatorServiceAccount.
	ServiceAccount string
	// WithoutNetworkPolicies drops the NetworkPolicy rules (and agents/finalizers, needed only to
	// own them). Default false: the operator manages the per-Agent egress NetworkPolicy an Agent
	// may ask for (threat T17); without the rules such an Agent cannot be served.
	WithoutNetworkPolicies bool
	// Namespaces, when set, are the only namespaces the operator runs agent Pods in (its
	// --namespaces option): "create" on pods is granted by a Role in each of them
	// (OperatorPodsRoleName) instead of cluster-wide. Creating a Pod lets its creator run it as
	// any ServiceAccount of the namespace and mount any Secret there, so the fewer namespaces the
	// better. Default none: cluster-wide, for an operator that watches every namespace.
	Namespaces []string
}

func (o OperatorOptions) withDefaults() OperatorOptions {
	if o.Namespace == "" {
		o.Namespace = DefaultOperatorNamespace
	}
	if o.ServiceAccount == "" {
		o.ServiceAccount = DefaultOperatorServiceAccount
	}
	return o
}

// readVerbs returns a fresh get/list/watch list (a shared slice could be changed by a caller).
func readVerbs() []string { return []string{"get", "list", "watch"} }

// OperatorRules are the cluster-wide permissions of the reference operator, and nothing else
// (threat T14). Each rule says why it is needed. There is nothing on Secrets (the kubelet mounts
// them; the operator only names them in Pod specs), ServiceAccounts, nodes, or any pods/
// subresource.
func OperatorRules(opts OperatorOptions) []rbac.Rule {
	rules := []rbac.Rule{
		// Reconcile Tasks, read from the informer (list, watch) without their payload; get reads
		// the whole Task when its Pod is built or its finalizer removed (threat T24), and checks
		// with the API server that a Task is really gone before its Pod is deleted (T18); update
		// adds and removes the operator's finalizer (threat T5); delete removes finished Tasks
		// when KubeOpenCodeConfig spec.cleanup asks for it (ttlSecondsAfterFinished,
		// maxRetainedTasks). No create: Tasks belong to their authors. No patch: the operator
		// writes with update (the e2e audit proof shows every verb here used).
		{Group: APIGroup, Resources: []string{"tasks"}, Verbs: []string{"get", "list", "watch", "update", "delete"}},
		// Report progress. Status is read through the main resource, so no get here.
		{Group: APIGroup, Resources: []string{"tasks/status"}, Verbs: []string{"update"}},
		// Owner references with blockOwnerDeletion (controller references) to a Task need this
		// where the OwnerReferencesPermissionEnforcement admission plugin is on.
		{Group: APIGroup, Resources: []string{"tasks/finalizers"}, Verbs: []string{"update"}},
		// Read Agents to build Pods and count running Tasks; the operator never edits an Agent's
		// spec or metadata (no finalizer on Agents: what they own is garbage-collected).
		{Group: APIGroup, Resources: []string{"agents"}, Verbs: readVerbs()},
		// Report Agent readiness.
		{Group: APIGroup, Resources: []string{"agents/status"}, Verbs: []string{"update"}},
		// Cluster defaults (cleanup, helper image, agent Pod defaults), read from the informer;
		// the spec is read-only.
		{Group: APIGroup, Resources: []string{"kubeopencodeconfigs"}, Verbs: []string{"list", "watch"}},
		// Report the configuration's Ready condition.
		{Group: APIGroup, Resources: []string{"kubeopencodeconfigs/status"}, Verbs: []string{"update"}},
		// Run agent Pods and remove them on deletion (T5, T6, T18). Patch lowers a stopped or
		// timed-out Pod's activeDeadlineSeconds so the kubelet ends it and its logs stay
		// readable (the only change the operator makes to a Pod). No update. "create" and
		// "patch" are the operator's most dangerous grants (AcceptedOperatorGrants); with
		// opts.Namespaces they move to a Role in each of those namespaces (OperatorPodsRules).
		{Group: rbac.CoreGroup, Resources: []string{"pods"}, Verbs: podVerbs(opts)},
		// Read a Task's ConfigMaps (uncached: get, list; never watched) and copy their content
		// into a ConfigMap the operator owns (T3), created once per Task and deleted with it.
		{Group: rbac.CoreGroup, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "delete"}},
		// Events on Tasks and Agents (for example T1's refusal); patch updates an event series.
		{Group: "events.k8s.io", Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		// The metrics endpoint authenticates each scraper's bearer token (TokenReview) and asks
		// whether it may get /metrics (SubjectAccessReview): controller-runtime's
		// filters.WithAuthenticationAndAuthorization. Both only ask the API server a question;
		// they grant nothing.
		{Group: "authentication.k8s.io", Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{Group: "authorization.k8s.io", Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		// Fail closed without the admission policies (T22): the operator compares the installed
		// ValidatingAdmissionPolicies and bindings with the generated ones before a Task starts,
		// read from its informer (list, watch; no direct get). Read-only.
		{Group: "admissionregistration.k8s.io", Resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"}, Verbs: []string{"list", "watch"}},
	}
	if !opts.WithoutNetworkPolicies {
		rules = append(rules,
			// The per-Agent default-deny egress NetworkPolicy (T17): create, keep it equal to the
			// Agent's allow-list, delete it when the Agent no longer asks for one.
			rbac.Rule{Group: "networking.k8s.io", Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}},
			// The NetworkPolicy is owned by its Agent (garbage-collected with it); a controller
			// reference sets blockOwnerDeletion, which needs this where
			// OwnerReferencesPermissionEnforcement is on. It lets the holder set blockOwnerDeletion
			// on references to Agents and nothing else.
			rbac.Rule{Group: APIGroup, Resources: []string{"agents/finalizers"}, Verbs: []string{"update"}},
		)
	}
	return rules
}

func podVerbs(opts OperatorOptions) []string {
	if len(opts.Namespaces) > 0 {
		return []string{"get", "list", "watch", "delete"}
	}
	return []string{"get", "list", "watch", "create", "patch", "delete"}
}

// OperatorPodsRules are the operator's rules in each of OperatorOptions.Namespaces: create agent
// Pods there, and patch them (only to lower a stopped Pod's activeDeadlineSeconds).
func OperatorPodsRules() []rbac.Rule {
	return []rbac.Rule{{Group: rbac.CoreGroup, Resources: []string{"pods"}, Verbs: []string{"create", "patch"}}}
}

// AcceptedOperatorGrants are the dangerous grants (DangerousGrants names) the operator's roles
// hold on purpose, each with the reason it cannot do without. FindDangerous reports them like any
// other; a check of the operator's roles subtracts exactly these (WithoutAccepted) and nothing else.
func AcceptedOperatorGrants() map[string]string {
	return map[string]string{
		"pods:create": "the operator exists to create agent Pods; a compromised operator can therefore run any ServiceAccount " +
			"and mount any Secret of every namespace it may create Pods in (all of them unless OperatorOptions.Namespaces " +
			"limits it); admission policies check that each Agent's author could have created those Pods (T21)",
		"pods:patch": "the operator lowers a stopped or timed-out agent Pod's activeDeadlineSeconds so the kubelet ends it and " +
			"its logs stay readable; a compromised operator could instead change the images of Pods in every namespace it may " +
			"patch Pods in, which its pods:create already allows in effect",
	}
}

// WithoutAccepted returns found without the names in accepted, in found's order.
func WithoutAccepted(found []string, accepted map[string]string) []string {
	var out []string
	for _, f := range found {
		if _, ok := accepted[f]; !ok {
			out = append(out, f)
		}
	}
	return out
}

// LeaderElectionRules are the operator's permissions in its own namespace for leader election
// with controller-runtime v0.25: a coordination.k8s.io Lease it gets, creates and renews
// (update), and the core/v1 Events client-go's leader election records on that Lease
// ("became leader"), which controller-runtime still sends through the core Events API.
func LeaderElectionRules() []rbac.Rule {
	return []rbac.Rule{
		{Group: "coordination.k8s.io", Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		{Group: rbac.CoreGroup, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}

// OperatorClusterRole is the operator's ClusterRole, named OperatorRoleName.
func OperatorClusterRole(opts OperatorOptions) (*rbacv1.ClusterRole, error) {
	return rbac.ClusterRole(rbac.RoleSpec{Name: OperatorRoleName, Rules: OperatorRules(opts)})
}

// LeaderElectionRole is the operator's leader-election Role in its namespace, named
// LeaderElectionRoleName.
func LeaderElectionRole(opts OperatorOptions) (*rbacv1.Role, error) {
	opts = opts.withDefaults()
	return rbac.Role(rbac.RoleSpec{Name: LeaderElectionRoleName, Namespace: opts.Namespace, Rules: LeaderElectionRules()})
}

// OperatorObjects are the operator's ClusterRole and leader-election Role, each bound to the
// operator's ServiceAccount (a ClusterRoleBinding and a RoleBinding of the same names), and with
// opts.Namespaces a Role and RoleBinding OperatorPodsRoleName in each of them.
func OperatorObjects(opts OperatorOptions) ([]runtime.Object, error) {
	opts = opts.withDefaults()
	sa := rbac.ServiceAccountSubject(opts.Namespace, opts.ServiceAccount)
	cr, err := OperatorClusterRole(opts)
	if err != nil {
		return nil, fmt.Errorf("operator ClusterRole: %w", err)
	}
	crb, err := rbac.ClusterRoleBinding(rbac.BindingSpec{Name: OperatorRoleName, RoleRef: rbac.RoleRefToClusterRole(cr.Name), Subjects: []rbacv1.Subject{sa}})
	if err != nil {
		return nil, fmt.Errorf("operator ClusterRoleBinding: %w", err)
	}
	le, err := LeaderElectionRole(opts)
	if err != nil {
		return nil, fmt.Errorf("leader-election Role: %w", err)
	}
	leb, err := rbac.RoleBinding(rbac.BindingSpec{Name: LeaderElectionRoleName, Namespace: opts.Namespace, RoleRef: rbac.RoleRefToRole(le.Name), Subjects: []rbacv1.Subject{sa}})
	if err != nil {
		return nil, fmt.Errorf("leader-election RoleBinding: %w", err)
	}
	out := []runtime.Object{cr, crb, le, leb, MetricsReaderClusterRole()}
	namespaces := slices.Clone(opts.Namespaces)
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		role, err := rbac.Role(rbac.RoleSpec{Name: OperatorPodsRoleName, Namespace: ns, Rules: OperatorPodsRules()})
		if err != nil {
			return nil, fmt.Errorf("operator pods Role in namespace %q: %w", ns, err)
		}
		rb, err := rbac.RoleBinding(rbac.BindingSpec{Name: OperatorPodsRoleName, Namespace: ns, RoleRef: rbac.RoleRefToRole(role.Name), Subjects: []rbacv1.Subject{sa}})
		if err != nil {
			return nil, fmt.Errorf("operator pods RoleBinding in namespace %q: %w", ns, err)
		}
		out = append(out, role, rb)
	}
	return out, nil
}

// MetricsReaderRoleName names the ClusterRole that may scrape the operator's metrics.
const MetricsReaderRoleName = "kubeopencode-metrics-reader"

// MetricsReaderClusterRole may get /metrics, and nothing else: the operator's metrics endpoint
// serves only requests whose token (TokenReview) is authorized for it (SubjectAccessReview). It is
// rendered unbound; bind it to the ServiceAccount of your Prometheus.
func MetricsReaderClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: MetricsReaderRoleName},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
}

// AgentOptions configure the agent ServiceAccount's Role in one Agent namespace.
type AgentOptions struct {
	// Namespace of the Agents (required).
	Namespace string
	// ServiceAccount the agent Pods run as (the Agents' spec.serviceAccountName).
	// Default DefaultAgentServiceAccount.
	ServiceAccount string
}

// AgentRules are what an agent Pod's ServiceAccount may do in its Agent's namespace: get a Task
// or an Agent by name. That is all, because the agent is an AI that does whatever its prompt says
// and anything it can reach a task author can reach:
//
//   - get only, no list or watch: the agent knows its Task and Agent (the operator tells it
//     their names), and cannot enumerate other tenants' Tasks and prompts;
//   - no update or patch on tasks or tasks/status: RBAC cannot limit a writer to its own Task,
//     so it could rewrite or falsify every Task in the namespace (threat T15), and the operator
//     derives the Task's state from the Pod anyway;
//   - nothing on Secrets, ConfigMaps, Pods or logs: the agent's inputs are mounted into its Pod.
//
// The token reaches the agent only if the Agent sets automountServiceAccountToken.
func AgentRules() []rbac.Rule {
	return []rbac.Rule{
		{Group: APIGroup, Resources: []string{"tasks", "agents"}, Verbs: []string{"get"}},
	}
}

// AgentObjects are the agent Role (AgentRoleName) in opts.Namespace and its RoleBinding to the
// agent ServiceAccount there.
func AgentObjects(opts AgentOptions) ([]runtime.Object, error) {
	if opts.ServiceAccount == "" {
		opts.ServiceAccount = DefaultAgentServiceAccount
	}
	role, err := rbac.Role(rbac.RoleSpec{Name: AgentRoleName, Namespace: opts.Namespace, Rules: AgentRules()})
	if err != nil {
		return nil, fmt.Errorf("agent Role in namespace %q: %w", opts.Namespace, err)
	}
	rb, err := rbac.RoleBinding(rbac.BindingSpec{
		Name: AgentRoleName, Namespace: opts.Namespace, RoleRef: rbac.RoleRefToRole(role.Name),
		Subjects: []rbacv1.Subject{rbac.ServiceAccountSubject(opts.Namespace, opts.ServiceAccount)},
	})
	if err != nil {
		return nil, fmt.Errorf("agent RoleBinding in namespace %q: %w", opts.Namespace, err)
	}
	return []runtime.Object{role, rb}, nil
}

// LogReaderOptions configure the log server's roles (threat T23).
type LogReaderOptions struct {
	// Namespace the log server runs in. Default DefaultOperatorNamespace.
	Namespace string
	// ServiceAccount the log server runs as, in Namespace. Default DefaultLogReaderServiceAccount.
	ServiceAccount string
	// AgentNamespaces are where agent Pods run: the only namespaces whose Pods' logs the server
	// can read. Default none: the server reads no log at all.
	AgentNamespaces []string
}

func (o LogReaderOptions) withDefaults() LogReaderOptions {
	if o.Namespace == "" {
		o.Namespace = DefaultOperatorNamespace
	}
	if o.ServiceAccount == "" {
		o.ServiceAccount = DefaultLogReaderServiceAccount
	}
	return o
}

// LogReaderRules are the log server's cluster-wide permissions: it authenticates its callers
// (TokenReview), asks whether each may get tasks/log on the Task (SubjectAccessReview), and
// reads the Task (get, no list: it serves one named Task) for its UID and spec.agentRef.
func LogReaderRules() []rbac.Rule {
	return []rbac.Rule{
		{Group: "authentication.k8s.io", Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{Group: "authorization.k8s.io", Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		{Group: APIGroup, Resources: []string{"tasks"}, Verbs: []string{"get"}},
	}
}

// LogReaderPodsRules are the log server's permissions in each Agent namespace: find the Task's
// Pod by its UID label (list) and read its log. No get, watch or write on Pods, and no other
// pods/ subresource.
func LogReaderPodsRules() []rbac.Rule {
	return []rbac.Rule{
		{Group: rbac.CoreGroup, Resources: []string{"pods"}, Verbs: []string{"list"}},
		{Group: rbac.CoreGroup, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	}
}

// LogReaderObjects are the log server's ClusterRole (LogReaderRoleName) with its
// ClusterRoleBinding, and the pods ClusterRole (LogReaderPodsRoleName) bound by a RoleBinding in
// each of opts.AgentNamespaces only, all to the log server's ServiceAccount.
func LogReaderObjects(opts LogReaderOptions) ([]runtime.Object, error) {
	opts = opts.withDefaults()
	sa := rbac.ServiceAccountSubject(opts.Namespace, opts.ServiceAccount)
	cr, err := rbac.ClusterRole(rbac.RoleSpec{Name: LogReaderRoleName, Rules: LogReaderRules()})
	if err != nil {
		return nil, fmt.Errorf("log reader ClusterRole: %w", err)
	}
	crb, err := rbac.ClusterRoleBinding(rbac.BindingSpec{Name: LogReaderRoleName, RoleRef: rbac.RoleRefToClusterRole(cr.Name), Subjects: []rbacv1.Subject{sa}})
	if err != nil {
		return nil, fmt.Errorf("log reader ClusterRoleBinding: %w", err)
	}
	pods, err := rbac.ClusterRole(rbac.RoleSpec{Name: LogReaderPodsRoleName, Rules: LogReaderPodsRules()})
	if err != nil {
		return nil, fmt.Errorf("log reader pods ClusterRole: %w", err)
	}
	objs := []runtime.Object{cr, crb, pods}
	for _, ns := range opts.AgentNamespaces {
		rb, err := rbac.RoleBinding(rbac.BindingSpec{Name: LogReaderPodsRoleName, Namespace: ns, RoleRef: rbac.RoleRefToClusterRole(pods.Name), Subjects: []rbacv1.Subject{sa}})
		if err != nil {
			return nil, fmt.Errorf("log reader RoleBinding in namespace %q: %w", ns, err)
		}
		objs = append(objs, rb)
	}
	return objs, nil
}

// Persona is a kind of human user of KubeOpenCode. Each has a ClusterRole that the platform
// team binds with RoleBindings in the namespaces where it applies. None is aggregated into the
// built-in view/edit/admin roles: those are handed out broadly, Task prompts may be
// confidential, and "use" on Agents must stay an explicit decision (threat T2).
type Persona string

// The personas.
const (
	// PersonaTaskAuthor writes Tasks: create, get, list, watch, delete, and patch (patch sets
	// the kubeopencode.io/stop annotation; the spec is immutable), and reads their logs (get
	// tasks/log, served by the log server) and Events (list, core and events.k8s.io). It also needs "use" on the
	// Agent it names, from PersonaAgentUser in the Agent's namespace.
	PersonaTaskAuthor Persona = "task-author"
	// PersonaAgentUser may run Tasks on Agents: the custom verb "use" on agents, checked by the
	// admission policy (T2), and nothing else, not even get; identical to the policy module's
	// ClusterRole. Bind it in the Agent's namespace.
	PersonaAgentUser Persona = "agent-user"
	// PersonaViewer reads Tasks and Agents (get, list, watch), the Tasks' logs (get tasks/log)
	// and Events (list).
	PersonaViewer Persona = "viewer"
	// PersonaFinalizerRemover is the escape hatch of the cleanup finalizer guard (T18): the
	// custom verb VerbRemoveFinalizer on tasks, with get, update and patch to make the edit. Bind
	// it only to cluster administrators, only while the operator is gone (e.g. to delete a
	// namespace after uninstalling it): its holders can make agent Pods outlive their Tasks.
	PersonaFinalizerRemover Persona = "finalizer-remover"
)

// Personas returns every persona, in the order the CLI lists them.
func Personas() []Persona {
	return []Persona{PersonaTaskAuthor, PersonaAgentUser, PersonaViewer, PersonaFinalizerRemover}
}

// ParsePersonas parses a comma-separated list of persona names ("task-author,viewer"). Spaces
// around names are ignored; an empty string means no persona. Unknown and repeated names are
// errors. The result follows the order of Personas.
func ParsePersonas(list string) ([]Persona, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	seen := map[Persona]bool{}
	for _, raw := range strings.Split(list, ",") {
		p := Persona(strings.TrimSpace(raw))
		if !slices.Contains(Personas(), p) {
			return nil, fmt.Errorf("unknown persona %q (known: %s)", raw, personaNames())
		}
		if seen[p] {
			return nil, fmt.Errorf("persona %q listed twice", p)
		}
		seen[p] = true
	}
	var out []Persona
	for _, p := range Personas() {
		if seen[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func personaNames() string {
	var names []string
	for _, p := range Personas() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// RoleName is the persona's ClusterRole name.
func (p Persona) RoleName() string {
	switch p {
	case PersonaTaskAuthor:
		return TaskAuthorRoleName
	case PersonaAgentUser:
		return AgentUserRoleName
	case PersonaViewer:
		return ViewerRoleName
	case PersonaFinalizerRemover:
		return FinalizerRemoverRoleName
	}
	return ""
}

// Rules are the persona's rules; nil for an unknown persona.
func (p Persona) Rules() []rbac.Rule {
	switch p {
	case PersonaTaskAuthor:
		return []rbac.Rule{
			{Group: APIGroup, Resources: []string{"tasks"}, Verbs: []string{"create", "get", "list", "watch", "delete", "patch"}},
			// The logs of the Task's agent Pod, served by the log server (T23). The CRD serves
			// no such subresource: RBAC grants the name, the log server checks it.
			{Group: APIGroup, Resources: []string{"tasks/log"}, Verbs: []string{"get"}},
			// The Events the operator emits regarding Tasks (queued, refused, failed), shown
			// by kubectl describe (core API) and kubectl-kubeopencode describe (events.k8s.io):
			// list only, in the namespaces where the persona is bound.
			{Group: rbac.CoreGroup, Resources: []string{"events"}, Verbs: []string{"list"}},
			{Group: "events.k8s.io", Resources: []string{"events"}, Verbs: []string{"list"}},
		}
	case PersonaAgentUser:
		return []rbac.Rule{{Group: APIGroup, Resources: []string{"agents"}, Verbs: []string{"use"}}}
	case PersonaViewer:
		return []rbac.Rule{
			{Group: APIGroup, Resources: []string{"tasks", "agents"}, Verbs: readVerbs()},
			{Group: APIGroup, Resources: []string{"tasks/log"}, Verbs: []string{"get"}},
			{Group: rbac.CoreGroup, Resources: []string{"events"}, Verbs: []string{"list"}},
			{Group: "events.k8s.io", Resources: []string{"events"}, Verbs: []string{"list"}},
		}
	case PersonaFinalizerRemover:
		return []rbac.Rule{{Group: APIGroup, Resources: []string{"tasks"}, Verbs: []string{"get", "patch", "update", VerbRemoveFinalizer}}}
	}
	return nil
}

// PersonaClusterRole is the persona's ClusterRole.
func PersonaClusterRole(p Persona) (*rbacv1.ClusterRole, error) {
	if p.RoleName() == "" {
		return nil, fmt.Errorf("unknown persona %q (known: %s)", p, personaNames())
	}
	return rbac.ClusterRole(rbac.RoleSpec{Name: p.RoleName(), Rules: p.Rules()})
}

// ManifestOptions choose the role set Manifest renders. The zero value renders the operator's
// roles with their defaults, and nothing else.
type ManifestOptions struct {
	// Operator configures the operator's roles.
	Operator OperatorOptions
	// SkipOperator leaves the operator's roles out. Default false.
	SkipOperator bool
	// AgentNamespaces get the agent Role and RoleBinding each. Default none: the agent's
	// ServiceAccount gets no permission at all unless asked for.
	AgentNamespaces []string
	// AgentServiceAccount is bound in every AgentNamespaces entry. Default DefaultAgentServiceAccount.
	AgentServiceAccount string
	// Personas get their ClusterRoles. Default none.
	Personas []Persona
	// LogReader adds the log server's roles (LogReaderObjects) for its ServiceAccount
	// LogReaderServiceAccount in the operator's namespace, with the pods role bound in every
	// AgentNamespaces entry. Default false.
	LogReader bool
	// LogReaderServiceAccount is the log server's ServiceAccount. Default
	// DefaultLogReaderServiceAccount.
	LogReaderServiceAccount string
}

// Manifest renders the chosen roles and bindings, in WriteYAML order.
func Manifest(opts ManifestOptions) ([]runtime.Object, error) {
	var objs []runtime.Object
	if !opts.SkipOperator {
		op, err := OperatorObjects(opts.Operator)
		if err != nil {
			return nil, err
		}
		objs = append(objs, op...)
	}
	for _, ns := range opts.AgentNamespaces {
		agent, err := AgentObjects(AgentOptions{Namespace: ns, ServiceAccount: opts.AgentServiceAccount})
		if err != nil {
			return nil, err
		}
		objs = append(objs, agent...)
	}
	if opts.LogReader {
		lr, err := LogReaderObjects(LogReaderOptions{Namespace: opts.Operator.Namespace, ServiceAccount: opts.LogReaderServiceAccount, AgentNamespaces: opts.AgentNamespaces})
		if err != nil {
			return nil, err
		}
		objs = append(objs, lr...)
	}
	for _, p := range opts.Personas {
		role, err := PersonaClusterRole(p)
		if err != nil {
			return nil, err
		}
		objs = append(objs, role)
	}
	return rbac.SortObjects(objs)
}
