package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// resolveConfigMaps reads, uncached, the ConfigMaps whose content taskpod.Build needs
// (taskpod.ConfigMapsToRead): a Task's only ever from the Task's namespace (T3), the Agent's
// from the Agent's namespace. A ConfigMap that does not exist is a nil entry.
func resolveConfigMaps(ctx context.Context, r client.Reader, task *v1alpha1.Task, agent *v1alpha1.Agent) (*taskpod.ConfigMaps, error) {
	out := &taskpod.ConfigMaps{Task: map[string]*corev1.ConfigMap{}, Agent: map[string]*corev1.ConfigMap{}}
	inTask, inAgent := taskpod.ConfigMapsToRead(task, agent)
	read := func(ns string, names []string, into map[string]*corev1.ConfigMap) error {
		for _, name := range names {
			cm := &corev1.ConfigMap{}
			if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cm); err != nil {
				if !apierrors.IsNotFound(err) {
					return fmt.Errorf("reading ConfigMap %s/%s: %w", ns, name, err)
				}
				cm = nil
			}
			into[name] = cm
		}
		return nil
	}
	if err := read(agent.Namespace, inAgent, out.Agent); err != nil {
		return nil, err
	}
	if err := read(task.Namespace, inTask, out.Task); err != nil {
		return nil, err
	}
	return out, nil
}
