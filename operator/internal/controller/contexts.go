package controller

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/gitclone"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// Context files and the operator's ConfigMap.
const (
	// ContextFileKey is the key of <workspaceDir>/.kubeopencode/context.md in the Task's context
	// ConfigMap.
	ContextFileKey = "context.md"
	// DefaultContextFileMode is the mode of a mounted context file without fileMode.
	DefaultContextFileMode int32 = 0o644

	// gitDir is where a git-clone init container sees its checkout volume; the clone is
	// gitDir/gitRepoDir, mounted into the agent container by subPath.
	gitDir     = "/kubeopencode/git"
	gitRepoDir = "repo"
	// gitSecretDir is where a git-clone init container, and no other container, sees its Git
	// Secret (only the keys it needs, mode 0440 with fsGroup = the agent's GID).
	gitSecretDir = "/kubeopencode/git-secret"
	// caBundleDir is where git-clone init containers see the Agent's caBundle; CABundlePath is
	// the same file in the agent container.
	caBundleDir    = "/kubeopencode/ca"
	caBundleFile   = "ca-bundle.crt"
	caBundleVolume = "ca-bundle"
	CABundlePath   = "/kubeopencode/" + caBundleFile
)

// Keys the operator reads from a Git context's Secret (git.secretRef). HTTPS: the
// kubernetes.io/basic-auth keys, the token as password. SSH: the kubernetes.io/ssh-auth key
// and known_hosts (strict host-key checking; there is no mode without it).
const (
	GitSecretUsernameKey   = "username"
	GitSecretPasswordKey   = "password"
	GitSecretSSHKey        = "ssh-privatekey"
	GitSecretKnownHostsKey = "known_hosts"
)

// resolvedConfigMaps holds the ConfigMaps the operator read for a Task's contexts, by name; a
// nil value is a ConfigMap that does not exist.
type resolvedConfigMaps struct {
	task  map[string]*corev1.ConfigMap // in the Task's namespace (Task contexts, T3)
	agent map[string]*corev1.ConfigMap // in the Agent's namespace (Agent contexts inlined into context.md)
}

// resolveConfigMaps reads, uncached, the ConfigMaps whose content the operator needs: every
// ConfigMap of a Task context, only ever from the Task's namespace (T3: a Task never reaches an
// object of the Agent's namespace), and the Agent's ConfigMap contexts without mountPath, from
// the Agent's namespace (the platform team's own references). Agent ConfigMaps with a mountPath
// are mounted by the kubelet and not read.
func resolveConfigMaps(ctx context.Context, r client.Reader, task *v1alpha1.Task, agent *v1alpha1.Agent) (*resolvedConfigMaps, error) {
	out := &resolvedConfigMaps{task: map[string]*corev1.ConfigMap{}, agent: map[string]*corev1.ConfigMap{}}
	read := func(ns, name string, into map[string]*corev1.ConfigMap) error {
		if _, done := into[name]; done {
			return nil
		}
		cm := &corev1.ConfigMap{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cm); err != nil {
			if apierrors.IsNotFound(err) {
				into[name] = nil
				return nil
			}
			return fmt.Errorf("reading ConfigMap %s/%s: %w", ns, name, err)
		}
		into[name] = cm
		return nil
	}
	for _, c := range agent.Spec.Contexts {
		if c.Type == v1alpha1.ContextTypeConfigMap && c.ConfigMap != nil && c.MountPath == "" {
			if err := read(agent.Namespace, c.ConfigMap.Name, out.agent); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range task.Spec.Contexts {
		if c.Type == v1alpha1.ContextTypeConfigMap && c.ConfigMap != nil {
			if err := read(task.Namespace, c.ConfigMap.Name, out.task); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// contextPlan is what a Task's contexts add to its Pod. configMap (the data of the Task's
// context ConfigMap) is nil when nothing needs one.
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
	field    string // "spec.contexts[i]" of the Agent or the Task
	n        int    // position among all contexts (Agent's first), for derived names
}

func (e contextEntry) label() string {
	owner := "Agent"
	if e.fromTask {
		owner = "Task"
	}
	name := e.item.Name
	if name == "" {
		name = "#" + strconv.Itoa(e.n)
	}
	return fmt.Sprintf("%s context %s (%s)", owner, name, e.field)
}

// contextInputs is what planContexts needs besides the Task and the Agent.
type contextInputs struct {
	workspace   string
	configMap   string // name of the Task's context ConfigMap
	systemImage string
	pullPolicy  corev1.PullPolicy
	resolved    *resolvedConfigMaps // nil: validation of an Agent (content not read)
	// caBundle is the Agent's spec.caBundle.configMapRef, nil for none.
	caBundle *v1alpha1.CABundleReference
	// gitSizeLimit bounds each Git checkout volume; nil leaves it unbounded.
	gitSizeLimit *resource.Quantity
}

// planContexts turns the Agent's contexts, then the Task's, into files, volumes, init
// containers and the content of the Task's context ConfigMap. It does no I/O. Errors are
// *taskError (InvalidConfiguration, or PathConflict naming both paths: T11).
func planContexts(task *v1alpha1.Task, agent *v1alpha1.Agent, in contextInputs) (*contextPlan, error) {
	var entries []contextEntry
	for i, c := range agent.Spec.Contexts {
		entries = append(entries, contextEntry{item: c, field: fmt.Sprintf("spec.contexts[%d]", i), n: len(entries)})
	}
	for i, c := range task.Spec.Contexts {
		entries = append(entries, contextEntry{item: c, fromTask: true, field: fmt.Sprintf("spec.contexts[%d]", i), n: len(entries)})
	}
	p := &contextPlan{}
	if len(entries) == 0 {
		return p, nil
	}
	fail := func(e contextEntry, reason, format string, args ...any) error {
		msg := e.label() + ": " + fmt.Sprintf(format, args...)
		if !e.fromTask {
			msg = agentProblem(task, agent, msg)
		}
		return &taskError{reason: reason, message: msg}
	}
	if err := checkContextPaths(task, agent, entries, in.workspace); err != nil {
		return nil, err
	}
	put := func(key, value string) {
		if p.data == nil {
			p.data = map[string]string{}
		}
		p.data[key] = value
	}
	for _, e := range entries {
		c := e.item
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
					return nil, fail(e, v1alpha1.ReasonInvalidConfiguration, "ConfigMap %s/%s has no key %q (set optional: true to run without it)", ns, ref.Name, ref.Key)
				}
				return nil, fail(e, v1alpha1.ReasonInvalidConfiguration, "ConfigMap %s/%s does not exist (set optional: true to run without it)", ns, ref.Name)
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
			if err := planGit(p, task, agent, e, in, fail); err != nil {
				return nil, err
			}

		default:
			// The API refuses other types; never a weaker Pod (T16).
			return nil, fail(e, v1alpha1.ReasonInvalidConfiguration, "unknown context type %q", c.Type)
		}
	}
	if len(p.contextMD) > 0 {
		put(ContextFileKey, "# Context\n\n"+strings.Join(p.contextMD, "\n"))
		p.files = append(p.files, podspec.File{Path: in.workspace + "/" + podspec.ContextFile, ConfigMap: in.configMap, Key: ContextFileKey, Mode: DefaultContextFileMode})
	}
	return p, nil
}

// configMapContent returns the keys a ConfigMap context selects; found is false when the
// ConfigMap is missing, ok when the selected key is missing too. Without resolved ConfigMaps
// (Agent validation) it is a placeholder.
func configMapContent(e contextEntry, resolved *resolvedConfigMaps) (content map[string]string, found, ok bool) {
	ref := e.item.ConfigMap
	if resolved == nil {
		k := ref.Key
		if k == "" {
			k = "placeholder"
		}
		return map[string]string{k: ""}, true, true
	}
	src := resolved.agent
	if e.fromTask {
		src = resolved.task
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
func planGit(p *contextPlan, task *v1alpha1.Task, agent *v1alpha1.Agent, e contextEntry, in contextInputs,
	fail func(contextEntry, string, string, ...any) error) error {
	g := e.item.Git
	ep, err := gitclone.ParseRepository(g.Repository)
	if err != nil {
		return fail(e, v1alpha1.ReasonInvalidConfiguration, "git.repository: %v", err)
	}
	if g.Path != "" {
		if err := gitclone.CheckSubPath(g.Path); err != nil {
			return fail(e, v1alpha1.ReasonInvalidConfiguration, "git.path: %v", err)
		}
	}
	if e.fromTask && g.SecretRef != nil && task.Namespace != agent.Namespace {
		// T3: the API refuses this too; a Task's Secret is never sent into another namespace.
		return fail(e, v1alpha1.ReasonInvalidConfiguration,
			"git.secretRef: a Task that runs on an Agent of another namespace (%s) may not name a Secret: it would be sent into that namespace", agent.Namespace)
	}
	if ep.Scheme == gitclone.SchemeSSH && g.SecretRef == nil {
		return fail(e, v1alpha1.ReasonInvalidConfiguration,
			"git.secretRef: the ssh repository %q needs a Secret with %q and %q", g.Repository, GitSecretSSHKey, GitSecretKnownHostsKey)
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
	return nil
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
// under the Agent's command, and no segment is OpenCode's configuration. A conflict is a
// PathConflict naming the path (and the other path when there is one).
func checkContextPaths(task *v1alpha1.Task, agent *v1alpha1.Agent, entries []contextEntry, workspace string) error {
	type claimed struct{ path, what string }
	var taken []claimed
	taken = append(taken,
		claimed{workspace, "the workspace (spec.workspaceDir)"},
		claimed{podspec.ToolsDir, "the tools directory"},
		claimed{podspec.InternalDir, "the operator's directory"},
		claimed{podspec.HomeDir, "HOME"},
		claimed{podspec.TmpDir, "/tmp"},
		claimed{workspace + "/" + podspec.TaskFile, "task.md"},
		claimed{path.Dir(workspace + "/" + podspec.ContextFile), "the context directory (context.md)"},
	)
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
	for _, e := range entries {
		p := podspec.ResolvePath(workspace, string(e.item.MountPath))
		if p == "" && e.item.Type == v1alpha1.ContextTypeGit {
			p = defaultGitPath(e, workspace)
		}
		if p == "" {
			continue
		}
		if why := podspec.CheckPath(p); why != "" {
			return conflictError(task, agent, e, fmt.Sprintf("mountPath %q %s", p, why))
		}
		var inRuntimeDir error
		for _, o := range taken {
			switch {
			case p == o.path:
				return conflictError(task, agent, e, fmt.Sprintf("mountPath %q is the same path as %s %q", p, o.what, o.path))
			case podspec.Within(o.path, p):
				return conflictError(task, agent, e, fmt.Sprintf("mountPath %q would contain %s %q", p, o.what, o.path))
			case podspec.Within(p, o.path) && !nested[o.path]:
				return conflictError(task, agent, e, fmt.Sprintf("mountPath %q is inside %s %q", p, o.what, o.path))
			case podspec.Within(p, o.path) && e.fromTask && o.path != workspace && inRuntimeDir == nil:
				// Only the workspace takes a Task's files; HOME and /tmp belong to the Agent's
				// runtime (OpenCode's global configuration, shell start-up files) even when the
				// workspace contains them. Reported after the more precise conflicts.
				inRuntimeDir = conflictError(task, agent, e, fmt.Sprintf("mountPath %q is inside %s %q, which a Task may not write to", p, o.what, o.path))
			}
		}
		if inRuntimeDir != nil {
			return inRuntimeDir
		}
		if e.fromTask {
			if program != "" && (podspec.Within(program, p) || podspec.Within(p, program)) {
				return conflictError(task, agent, e, fmt.Sprintf("mountPath %q would shadow the Agent's command %q", p, program))
			}
			if _, why := podspec.ResolveInWorkspace(workspace, p); why != "" {
				return conflictError(task, agent, e, fmt.Sprintf("mountPath %q is outside the workspace %q: a Task's files stay in the Agent's workspaceDir (write a relative path)", p, workspace))
			}
			for seg := range strings.SplitSeq(p, "/") {
				if slices.Contains(v1alpha1.OpenCodeConfigNames(), seg) {
					return conflictError(task, agent, e, fmt.Sprintf("mountPath %q would take OpenCode's configuration name %q", p, seg))
				}
			}
		}
		taken = append(taken, claimed{p, e.label()})
	}
	return nil
}

func conflictError(task *v1alpha1.Task, agent *v1alpha1.Agent, e contextEntry, detail string) error {
	msg := e.label() + ": " + detail
	if !e.fromTask {
		// Only the Agent's own paths are involved: the platform team's to fix.
		msg = agentProblem(task, agent, msg)
	}
	return &taskError{reason: v1alpha1.ReasonPathConflict, message: msg}
}

// caBundleKey is the ConfigMap key of a caBundle reference, with the API's default.
func caBundleKey(r *v1alpha1.CABundleReference) string {
	if r.Key == "" {
		return v1alpha1.DefaultCABundleKey
	}
	return r.Key
}
