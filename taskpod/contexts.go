package taskpod

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/taskpod/gitclone"
)

// Context files and the Task's context ConfigMap.
const (
	// ContextFileKey is the key of <workspaceDir>/.kubeopencode/context.md in the Task's context
	// ConfigMap.
	ContextFileKey = "context.md"
	// DefaultContextFileMode is the mode of a mounted context file without fileMode.
	DefaultContextFileMode int32 = 0o644
	// CABundlePath is the Agent's caBundle in the agent container.
	CABundlePath = "/kubeopencode/" + caBundleFile

	// gitDir is where a git-clone init container sees its checkout volume; the clone is
	// gitDir/gitRepoDir, mounted into the agent container by subPath.
	gitDir     = "/kubeopencode/git"
	gitRepoDir = "repo"
	// gitSecretDir is where a git-clone init container, and no other container, sees its Git
	// Secret (only the keys it needs, mode 0440 with fsGroup = the agent's GID).
	gitSecretDir = "/kubeopencode/git-secret"
	// caBundleDir is where git-clone init containers see the Agent's caBundle.
	caBundleDir    = "/kubeopencode/ca"
	caBundleFile   = "ca-bundle.crt"
	caBundleVolume = "ca-bundle"
)

// Keys read from a Git context's Secret (git.secretRef). HTTPS: the kubernetes.io/basic-auth
// keys, the token as password. SSH: the kubernetes.io/ssh-auth key and known_hosts (strict
// host-key checking; there is no mode without it).
const (
	GitSecretUsernameKey   = "username"
	GitSecretPasswordKey   = "password"
	GitSecretSSHKey        = "ssh-privatekey"
	GitSecretKnownHostsKey = "known_hosts"
)

// ConfigMaps are the ConfigMaps the caller read for a Task's contexts, by name; a nil value is a
// ConfigMap that does not exist.
type ConfigMaps struct {
	// Task holds ConfigMaps of the Task's namespace (the Task's contexts, T3).
	Task map[string]*corev1.ConfigMap
	// Agent holds ConfigMaps of the Agent's namespace (its contexts gathered into context.md).
	Agent map[string]*corev1.ConfigMap
}

// ConfigMapsToRead names the ConfigMaps whose content Build needs, each once, in order: every
// ConfigMap of a Task context, to be read only in the Task's namespace (T3: a Task never reaches
// an object of the Agent's namespace), and the Agent's ConfigMap contexts without mountPath, in
// the Agent's namespace (the platform team's own references). Agent ConfigMaps with a mountPath
// are mounted by the kubelet and not read.
func ConfigMapsToRead(task *v1alpha1.Task, agent *v1alpha1.Agent) (inTaskNamespace, inAgentNamespace []string) {
	for _, c := range agent.Spec.Contexts {
		if c.Type == v1alpha1.ContextTypeConfigMap && c.ConfigMap != nil && c.MountPath == "" && !slices.Contains(inAgentNamespace, c.ConfigMap.Name) {
			inAgentNamespace = append(inAgentNamespace, c.ConfigMap.Name)
		}
	}
	for _, c := range task.Spec.Contexts {
		if c.Type == v1alpha1.ContextTypeConfigMap && c.ConfigMap != nil && !slices.Contains(inTaskNamespace, c.ConfigMap.Name) {
			inTaskNamespace = append(inTaskNamespace, c.ConfigMap.Name)
		}
	}
	return inTaskNamespace, inAgentNamespace
}

// ContextConfigMapName is the name of the Task's context ConfigMap in the Agent's namespace:
// derived from the Task's name and UID like the Pod's (T4).
func ContextConfigMapName(t *v1alpha1.Task) string { return PodName(t) }

// PodName is the only name a Task's Pod ever gets (podspec derives it the same way):
// deterministic, and unique per Task UID (T4).
func PodName(t *v1alpha1.Task) string { return podspec.DNSLabel(t.Name, string(t.UID)) }

// contextPlan is what a Task's contexts add to its Pod; data and binary are the content of the
// Task's context ConfigMap, empty when nothing needs one.
type contextPlan struct {
	files     []podspec.File
	volumes   []corev1.Volume
	mounts    []corev1.VolumeMount
	inits     []corev1.Container
	data      map[string]string
	binary    map[string][]byte
	contextMD []string
	caVolume  bool // the caBundle volume of git-clone init containers is in volumes
}

func (p *contextPlan) needsConfigMap() bool { return len(p.data) > 0 || len(p.binary) > 0 }

// contextEntry is one context with where it was declared.
type contextEntry struct {
	item     v1alpha1.ContextItem
	fromTask bool
	path     *field.Path // spec.contexts[i] of the Agent or the Task
	n        int         // position among all contexts (Agent's first), for derived names
}

// contextInputs is what planContexts needs besides the Task and the Agent.
type contextInputs struct {
	workspace   string
	configMap   string // name of the Task's context ConfigMap
	systemImage string
	pullPolicy  corev1.PullPolicy
	resolved    *ConfigMaps // nil: validation of an Agent (content not read)
	// caBundle is the Agent's spec.caBundle.configMapRef, nil for none.
	caBundle *v1alpha1.CABundleReference
	// gitSizeLimit bounds each Git checkout volume; nil leaves it unbounded.
	gitSizeLimit *resource.Quantity
}

// add records a problem of e's owner (the Agent or the Task).
func (e contextEntry) add(probs *problems, conflict bool, err *field.Error) {
	if e.fromTask {
		probs.addTask(conflict, err)
	} else {
		probs.addAgent(conflict, err)
	}
}

// planContexts turns the Agent's contexts, then the Task's, into files, volumes, init
// containers and the content of the Task's context ConfigMap. It does no I/O. Every problem is
// added to probs (InvalidConfiguration, or a PathConflict naming both paths: T11); a context
// with a problem adds nothing to the plan.
func planContexts(task *v1alpha1.Task, agent *v1alpha1.Agent, in contextInputs, probs *problems) *contextPlan {
	var entries []contextEntry
	for i, c := range agent.Spec.Contexts {
		entries = append(entries, contextEntry{item: c, path: field.NewPath("spec", "contexts").Index(i), n: len(entries)})
	}
	for i, c := range task.Spec.Contexts {
		entries = append(entries, contextEntry{item: c, fromTask: true, path: field.NewPath("spec", "contexts").Index(i), n: len(entries)})
	}
	p := &contextPlan{}
	if len(entries) == 0 {
		return p
	}
	bad := checkContextPaths(agent, entries, in.workspace, probs)
	put := func(key, value string) {
		if p.data == nil {
			p.data = map[string]string{}
		}
		p.data[key] = value
	}
	for _, e := range entries {
		if bad[e.n] {
			continue
		}
		c := e.item
		// The API requires each type's own field; a Task or Agent that never met the API server
		// (a dry-run, a webhook, a bypassed schema) is refused here rather than dereferenced.
		if c.Type == v1alpha1.ContextTypeConfigMap && c.ConfigMap == nil {
			e.add(probs, false, field.Required(e.path.Child("configMap"), "a ConfigMap context needs configMap"))
			continue
		}
		if c.Type == v1alpha1.ContextTypeGit && c.Git == nil {
			e.add(probs, false, field.Required(e.path.Child("git"), "a Git context needs git"))
			continue
		}
		mode := ptr.Deref((*int32)(c.FileMode), DefaultContextFileMode)
		// A relative mountPath is resolved under the workspace (upstream's meaning); checked above.
		mountPath := podspec.ResolvePath(in.workspace, string(c.MountPath))
		switch c.Type {
		case v1alpha1.ContextTypeText:
			if mountPath == "" {
				p.contextMD = append(p.contextMD, section(e, c.Text))
				continue
			}
			key := fmt.Sprintf("context-%d", e.n)
			put(key, c.Text)
			p.files = append(p.files, podspec.File{Path: mountPath, ConfigMap: in.configMap, Key: key, Mode: mode})

		case v1alpha1.ContextTypeRuntime:
			p.contextMD = append(p.contextMD, section(e, runtimeText(task, agent, in.workspace)))

		case v1alpha1.ContextTypeConfigMap:
			ref := c.ConfigMap
			optional := ptr.Deref(ref.Optional, false)
			if !e.fromTask && mountPath != "" {
				// The Agent's own ConfigMap, in its own namespace (where the Pod runs): mounted.
				vol := corev1.Volume{Name: fmt.Sprintf("context-%d", e.n), VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, DefaultMode: ptr.To(mode), Optional: ref.Optional,
				}}}
				m := corev1.VolumeMount{Name: vol.Name, MountPath: mountPath, ReadOnly: true}
				if ref.Key != "" {
					vol.ConfigMap.Items = []corev1.KeyToPath{{Key: ref.Key, Path: ref.Key}}
					m.SubPath = ref.Key
				}
				p.volumes = append(p.volumes, vol)
				p.mounts = append(p.mounts, m)
				continue
			}
			// Its content is needed: a Task's ConfigMap (copied, never mounted: T3), or an Agent
			// ConfigMap gathered into context.md.
			content, found, ok := configMapContent(e, in.resolved)
			ns := agent.Namespace
			if e.fromTask {
				ns = task.Namespace
			}
			if !ok {
				if optional {
					continue
				}
				if found {
					e.add(probs, false, invalid(e.path.Child("configMap", "key"),
						fmt.Sprintf("ConfigMap %s/%s has no key %q (set optional: true to run without it)", ns, ref.Name, ref.Key)))
				} else {
					e.add(probs, false, invalid(e.path.Child("configMap", "name"),
						fmt.Sprintf("ConfigMap %s/%s does not exist (set optional: true to run without it)", ns, ref.Name)))
				}
				continue
			}
			keys := slices.Sorted(maps.Keys(content))
			if mountPath == "" {
				var b strings.Builder
				for _, k := range keys {
					if ref.Key == "" {
						fmt.Fprintf(&b, "### %s\n\n", k)
					}
					b.WriteString(content[k])
					if !strings.HasSuffix(content[k], "\n") {
						b.WriteString("\n")
					}
				}
				p.contextMD = append(p.contextMD, section(e, b.String()))
				continue
			}
			// A Task's ConfigMap with a mountPath: its keys are copied into the Task's context
			// ConfigMap in the Agent's namespace, and mounted from there.
			if ref.Key != "" {
				key := fmt.Sprintf("context-%d.%s", e.n, ref.Key)
				put(key, content[ref.Key])
				p.files = append(p.files, podspec.File{Path: mountPath, ConfigMap: in.configMap, Key: key, Mode: mode})
				continue
			}
			vol := corev1.Volume{Name: fmt.Sprintf("context-%d", e.n), VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: in.configMap}, DefaultMode: ptr.To(mode),
			}}}
			for _, k := range keys {
				key := fmt.Sprintf("context-%d.%s", e.n, k)
				put(key, content[k])
				vol.ConfigMap.Items = append(vol.ConfigMap.Items, corev1.KeyToPath{Key: key, Path: k})
			}
			if len(keys) == 0 {
				// An empty ConfigMap: an empty directory.
				vol.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
			}
			p.volumes = append(p.volumes, vol)
			p.mounts = append(p.mounts, corev1.VolumeMount{Name: vol.Name, MountPath: mountPath, ReadOnly: true})

		case v1alpha1.ContextTypeGit:
			planGit(p, task, agent, e, in, probs)

		default:
			// The API refuses other types; never a weaker Pod (T16).
			e.add(probs, false, field.NotSupported(e.path.Child("type"), c.Type,
				[]v1alpha1.ContextType{v1alpha1.ContextTypeText, v1alpha1.ContextTypeConfigMap, v1alpha1.ContextTypeGit, v1alpha1.ContextTypeRuntime}))
		}
	}
	if len(p.contextMD) > 0 {
		put(ContextFileKey, "# Context\n\n"+strings.Join(p.contextMD, "\n"))
		p.files = append(p.files, podspec.File{Path: in.workspace + "/" + podspec.ContextFile, ConfigMap: in.configMap, Key: ContextFileKey, Mode: DefaultContextFileMode})
	}
	return p
}

// configMapContent returns the keys a ConfigMap context selects; found is false when the
// ConfigMap is missing, ok when the selected key is missing too. Without resolved ConfigMaps
// (Agent validation) it is a placeholder.
func configMapContent(e contextEntry, resolved *ConfigMaps) (content map[string]string, found, ok bool) {
	ref := e.item.ConfigMap
	if resolved == nil {
		k := ref.Key
		if k == "" {
			k = "placeholder"
		}
		return map[string]string{k: ""}, true, true
	}
	src := resolved.Agent
	if e.fromTask {
		src = resolved.Task
	}
	cm := src[ref.Name]
	if cm == nil {
		return nil, false, false
	}
	all := make(map[string]string, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		all[k] = v
	}
	for k, v := range cm.BinaryData {
		all[k] = string(v)
	}
	if ref.Key == "" {
		return all, true, true
	}
	v, ok := all[ref.Key]
	if !ok {
		return nil, true, false
	}
	return map[string]string{ref.Key: v}, true, true
}

// planGit adds one git-clone init container (run from the system image, hardened by podspec)
// and the mount of its checkout. The Git Secret is mounted into that init container only, with
// only the keys the transport needs; the credentials are bound to the repository's own host,
// computed here (T13).
func planGit(p *contextPlan, task *v1alpha1.Task, agent *v1alpha1.Agent, e contextEntry, in contextInputs, probs *problems) {
	g := e.item.Git
	gitPath := e.path.Child("git")
	before := len(probs.agent) + len(probs.task)
	ep, parseErr := gitclone.ParseRepository(g.Repository)
	if parseErr != nil {
		e.add(probs, false, invalid(gitPath.Child("repository"), parseErr.Error()))
	}
	if g.Path != "" {
		if err := gitclone.CheckSubPath(g.Path); err != nil {
			e.add(probs, false, invalid(gitPath.Child("path"), err.Error()))
		}
	}
	if e.fromTask && g.SecretRef != nil && task.Namespace != agent.Namespace {
		// T3: the API refuses this too; a Task's Secret is never sent into another namespace.
		e.add(probs, false, field.Forbidden(gitPath.Child("secretRef"), fmt.Sprintf(
			"a Task that runs on an Agent of another namespace (%s) may not name a Secret: it would be sent into that namespace", agent.Namespace)))
	}
	if parseErr == nil && ep.Scheme == gitclone.SchemeSSH && g.SecretRef == nil {
		e.add(probs, false, field.Required(gitPath.Child("secretRef"),
			fmt.Sprintf("the ssh repository %q needs a Secret with %q and %q", g.Repository, GitSecretSSHKey, GitSecretKnownHostsKey)))
	}
	if len(probs.agent)+len(probs.task) > before {
		return
	}
	vol := fmt.Sprintf("git-%d", e.n)
	name := fmt.Sprintf("git-clone-%d", e.n)
	depth := 1
	if g.Depth != nil {
		depth = int(*g.Depth)
	}
	args := []string{"git-clone", "--repository=" + g.Repository, "--depth=" + strconv.Itoa(depth), "--dest=" + gitDir + "/" + gitRepoDir}
	if g.Ref != "" {
		args = append(args, "--ref="+g.Ref)
	}
	if in.caBundle != nil && ep.Scheme == gitclone.SchemeHTTPS {
		args = append(args, "--ca-bundle-file="+caBundleDir+"/"+caBundleFile)
	}
	if g.Path != "" {
		args = append(args, "--path="+g.Path)
	}
	c := corev1.Container{
		Name: name, Image: in.systemImage, ImagePullPolicy: in.pullPolicy,
		Command: append([]string{SystemBinary}, args...),
		VolumeMounts: []corev1.VolumeMount{
			{Name: vol, MountPath: gitDir},
			{Name: podspec.TmpVolumeName, MountPath: podspec.TmpDir},
		},
		Env: []corev1.EnvVar{{Name: "HOME", Value: podspec.TmpDir}},
	}
	p.volumes = append(p.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: copyQuantity(in.gitSizeLimit)}}})
	if in.caBundle != nil && ep.Scheme == gitclone.SchemeHTTPS {
		if !p.caVolume {
			// One volume for every clone: the ConfigMap's one key, read-only, public content.
			p.caVolume = true
			p.volumes = append(p.volumes, corev1.Volume{Name: caBundleVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: in.caBundle.Name},
				Items:                []corev1.KeyToPath{{Key: caBundleKey(in.caBundle), Path: caBundleFile}},
				DefaultMode:          ptr.To[int32](0o444),
			}}})
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: caBundleVolume, MountPath: caBundleDir, ReadOnly: true})
	}
	if g.SecretRef != nil {
		secretVol := fmt.Sprintf("git-secret-%d", e.n)
		var items []corev1.KeyToPath
		if ep.Scheme == gitclone.SchemeSSH {
			items = []corev1.KeyToPath{{Key: GitSecretSSHKey, Path: GitSecretSSHKey}, {Key: GitSecretKnownHostsKey, Path: GitSecretKnownHostsKey}}
			c.Command = append(c.Command, "--ssh-key-file="+gitSecretDir+"/"+GitSecretSSHKey, "--known-hosts-file="+gitSecretDir+"/"+GitSecretKnownHostsKey)
		} else {
			items = []corev1.KeyToPath{{Key: GitSecretUsernameKey, Path: GitSecretUsernameKey}, {Key: GitSecretPasswordKey, Path: GitSecretPasswordKey}}
			c.Command = append(c.Command, "--username-file="+gitSecretDir+"/"+GitSecretUsernameKey, "--token-file="+gitSecretDir+"/"+GitSecretPasswordKey)
		}
		// T13: the credentials may reach the repository's own host and port, nothing else.
		c.Command = append(c.Command, "--allowed-host="+ep.Authority())
		p.volumes = append(p.volumes, corev1.Volume{Name: secretVol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: g.SecretRef.Name, Items: items, DefaultMode: ptr.To[int32](0o440),
		}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: secretVol, MountPath: gitSecretDir, ReadOnly: true})
	}
	p.inits = append(p.inits, c)
	subPath := gitRepoDir
	if g.Path != "" {
		subPath += "/" + g.Path
	}
	mountPath := podspec.ResolvePath(in.workspace, string(e.item.MountPath))
	if mountPath == "" {
		mountPath = defaultGitPath(e, in.workspace)
		line := fmt.Sprintf("The Git repository %s", g.Repository)
		if g.Ref != "" {
			line += " (ref " + g.Ref + ")"
		}
		if g.Path != "" {
			line += ", path " + g.Path + ","
		}
		p.contextMD = append(p.contextMD, section(e, line+" is checked out at "+mountPath+".\n"))
	}
	// Writable: the agent works in the checkout.
	p.mounts = append(p.mounts, corev1.VolumeMount{Name: vol, MountPath: mountPath, SubPath: subPath})
}

func copyQuantity(q *resource.Quantity) *resource.Quantity {
	if q == nil {
		return nil
	}
	return ptr.To(q.DeepCopy())
}

// defaultGitPath is where a Git context without mountPath is checked out:
// <workspaceDir>/<name>, or <workspaceDir>/git-<n> for an unnamed one.
func defaultGitPath(e contextEntry, workspace string) string {
	if e.item.Name != "" {
		return workspace + "/" + e.item.Name
	}
	return fmt.Sprintf("%s/git-%d", workspace, e.n)
}

// section is one context in context.md.
func section(e contextEntry, body string) string {
	title := e.item.Name
	if title == "" {
		title = string(e.item.Type) + " context"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", title)
	if e.item.Description != "" {
		b.WriteString(e.item.Description + "\n\n")
	}
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// runtimeText is the content of a Runtime context: where the agent runs and what it was given.
func runtimeText(task *v1alpha1.Task, agent *v1alpha1.Agent, workspace string) string {
	return fmt.Sprintf(`You are an AI coding agent running in a Kubernetes Pod managed by KubeOpenCode.

- Task: %s/%s (UID %s); environment TASK_NAME, TASK_NAMESPACE, TASK_UID.
- Agent: %s/%s; environment KUBEOPENCODE_AGENT_NAME, KUBEOPENCODE_AGENT_NAMESPACE.
- Workspace: %s (WORKSPACE_DIR); the task is in %s/%s, this file is %s/%s.
- The Pod ends when you exit; only files in the workspace and mounted volumes are writable.
`, task.Namespace, task.Name, task.UID, agent.Namespace, agent.Name,
		workspace, workspace, podspec.TaskFile, workspace, podspec.ContextFile)
}

// checkContextPaths is T11 and T20 for contexts: every mountPath (relative ones resolved under
// the workspace, and the default path of a Git context without one) is clean and collides with
// no other context, credential file, the workspace, the tools directory, the operator's
// directory, task.md or .kubeopencode/context.md. A Task's context also stays strictly inside the
// workspace (T20): not in HOME or /tmp even where the workspace contains them, not at, above or
// under the Agent's command, and no segment is OpenCode's configuration. Each conflict is a
// PathConflict naming the path (and the other path when there is one); bad marks, by position,
// the contexts that have one. A context with a conflict claims no path, so it is reported once
// and the contexts after it are checked against the others only.
func checkContextPaths(agent *v1alpha1.Agent, entries []contextEntry, workspace string, probs *problems) (bad map[int]bool) {
	taken := []claimed{
		{workspace, "the workspace (spec.workspaceDir)"},
		{podspec.ToolsDir, "the tools directory"},
		{podspec.InternalDir, "the operator's directory"},
		{podspec.HomeDir, "HOME"},
		{podspec.TmpDir, "/tmp"},
		{workspace + "/" + podspec.TaskFile, "task.md"},
		{path.Dir(workspace + "/" + podspec.ContextFile), "the context directory (context.md)"},
	}
	for _, c := range agent.Spec.Credentials {
		if c.MountPath != "" {
			taken = append(taken, claimed{string(c.MountPath), fmt.Sprintf("credential %q of the Agent", c.Name)})
		}
	}
	// The program the agent container runs, when the Agent names it by an absolute path: a Task
	// must not replace it (a command found through PATH lives in the image, outside the workspace).
	var program string
	if len(agent.Spec.Command) > 0 && podspec.CheckPath(agent.Spec.Command[0]) == "" {
		program = agent.Spec.Command[0]
	}
	nested := map[string]bool{workspace: true, podspec.HomeDir: true, podspec.TmpDir: true} // writable emptyDirs
	bad = map[int]bool{}
	for _, e := range entries {
		p := podspec.ResolvePath(workspace, string(e.item.MountPath))
		if p == "" && e.item.Type == v1alpha1.ContextTypeGit {
			p = defaultGitPath(e, workspace)
		}
		if p == "" {
			continue
		}
		if why := contextPathProblem(e, p, workspace, program, nested, taken); why != "" {
			bad[e.n] = true
			e.add(probs, true, field.Invalid(e.path.Child("mountPath"), p, why))
			continue
		}
		label := "Agent context "
		if e.fromTask {
			label = "Task context "
		}
		name := e.item.Name
		if name == "" {
			name = "#" + strconv.Itoa(e.n)
		}
		taken = append(taken, claimed{p, label + name + " (" + e.path.String() + ")"})
	}
	return bad
}

// claimed is a path of the Pod that a context may not take, with what it is.
type claimed struct{ path, what string }

// contextPathProblem says why the context e may not be mounted at p, or "".
func contextPathProblem(e contextEntry, p, workspace, program string, nested map[string]bool, taken []claimed) string {
	if why := podspec.CheckPath(p); why != "" {
		return why
	}
	var inRuntimeDir string
	for _, o := range taken {
		switch {
		case p == o.path:
			return fmt.Sprintf("is the same path as %s %q", o.what, o.path)
		case podspec.Within(o.path, p):
			return fmt.Sprintf("would contain %s %q", o.what, o.path)
		case podspec.Within(p, o.path) && !nested[o.path]:
			return fmt.Sprintf("is inside %s %q", o.what, o.path)
		case podspec.Within(p, o.path) && e.fromTask && o.path != workspace && inRuntimeDir == "":
			// Only the workspace takes a Task's files; HOME and /tmp belong to the Agent's
			// runtime (OpenCode's global configuration, shell start-up files) even when the
			// workspace contains them. Reported after the more precise conflicts.
			inRuntimeDir = fmt.Sprintf("is inside %s %q, which a Task may not write to", o.what, o.path)
		}
	}
	if inRuntimeDir != "" {
		return inRuntimeDir
	}
	if !e.fromTask {
		return ""
	}
	if program != "" && (podspec.Within(program, p) || podspec.Within(p, program)) {
		return fmt.Sprintf("would shadow the Agent's command %q", program)
	}
	if _, why := podspec.ResolveInWorkspace(workspace, p); why != "" {
		return fmt.Sprintf("is outside the workspace %q: a Task's files stay in the Agent's workspaceDir (write a relative path)", workspace)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if slices.Contains(v1alpha1.OpenCodeConfigNames(), seg) {
			return fmt.Sprintf("would take OpenCode's configuration name %q", seg)
		}
	}
	return ""
}

// caBundleKey is the ConfigMap key of a caBundle reference, with the API's default.
func caBundleKey(r *v1alpha1.CABundleReference) string {
	if r.Key == "" {
		return v1alpha1.DefaultCABundleKey
	}
	return r.Key
}
