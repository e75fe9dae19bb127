package conformance

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// NewEvaluator returns the upstream Pod Security evaluator with its default checks.
func NewEvaluator() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
}

// Restricted returns the "restricted" level at the given policy version.
func Restricted(v api.Version) api.LevelVersion {
	return api.LevelVersion{Level: api.LevelRestricted, Version: v}
}

// Forbidden evaluates pod and returns each forbidden reason with its detail, e.g.
// `privileged (container "agent" must not set securityContext.privileged=true)`; none means allowed.
func Forbidden(ev policy.Evaluator, lv api.LevelVersion, pod *corev1.Pod) []string {
	agg := policy.AggregateCheckResults(ev.EvaluatePod(lv, &pod.ObjectMeta, &pod.Spec))
	if agg.Allowed {
		return nil
	}
	out := make([]string, len(agg.ForbiddenReasons))
	for i, r := range agg.ForbiddenReasons {
		out[i] = r
		if d := agg.ForbiddenDetails[i]; d != "" {
			out[i] += " (" + d + ")"
		}
	}
	return out
}

// LoadPods reads every *.yaml file under dir (recursively) whose kind is Pod, strictly: unknown
// fields are an error, so a typo in a golden cannot hide a field from the evaluator. It returns the
// Pods by path, and the sorted paths.
func LoadPods(dir string) (map[string]*corev1.Pod, []string, error) {
	pods := map[string]*corev1.Pod{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if meta.Kind != "Pod" {
			return nil
		}
		pod := &corev1.Pod{}
		if err := yaml.UnmarshalStrict(data, pod); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		pods[path] = pod
		return nil
	})
	paths := make([]string, 0, len(pods))
	for p := range pods {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return pods, paths, err
}

// CheckGoldens evaluates every Pod golden under dir at "restricted" for each named version. It
// returns how many goldens it found and one message per refusal, naming the file, the version and
// the exact forbidden reasons.
func CheckGoldens(ev policy.Evaluator, dir string, versions map[string]api.Version) (int, []string, error) {
	pods, paths, err := LoadPods(dir)
	if err != nil {
		return 0, nil, err
	}
	names := make([]string, 0, len(versions))
	for name := range versions {
		names = append(names, name)
	}
	sort.Strings(names)
	var failures []string
	for _, path := range paths {
		for _, name := range names {
			if reasons := Forbidden(ev, Restricted(versions[name]), pods[path]); len(reasons) > 0 {
				failures = append(failures, fmt.Sprintf("%s is not allowed by restricted@%s: %s", path, name, strings.Join(reasons, "; ")))
			}
		}
	}
	return len(paths), failures, nil
}
