//go:build e2e

package tests

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// TestT9CredentialFilesOnRealNode builds an agent Pod with the podspec and credentials libraries
// alone, runs it on the real node in a namespace that enforces Pod Security "restricted", and reads
// from inside the agent container what the libraries promise: the key file is owned by the agent's
// UID with exactly mode 0400 (0600 by default), readable by the agent, and the process has no
// capability (CapEff 0) that would let any other UID read it; the env credential is present.
func TestT9CredentialFilesOnRealNode(t *testing.T) {
	const (
		keyPath     = "/home/agent/.ssh/id_rsa"
		defaultPath = "/home/agent/.config/token"
	)
	f := features.New("credential files staged with exact owner and mode").
		Assess("the agent sees its files 0400/0600, owned by its UID", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ns := createNamespace(ctx, t, cfg, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
			r := cfg.Client().Resources(ns)
			for _, s := range []*corev1.Secret{
				{ObjectMeta: metav1.ObjectMeta{Name: "my-secrets", Namespace: ns}, StringData: map[string]string{"api-key": "k-123"}},
				{ObjectMeta: metav1.ObjectMeta{Name: "ssh-keys", Namespace: ns}, StringData: map[string]string{"id_rsa": "-----BEGIN KEY-----"}},
			} {
				if err := r.Create(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			keyMode := int32(0o400)
			proj, err := credentials.Project([]credentials.Credential{
				{Name: "api-key", SecretName: "my-secrets", Key: "api-key", Env: "API_KEY"},
				{Name: "ssh-key", SecretName: "ssh-keys", Key: "id_rsa", MountPath: keyPath, FileMode: &keyMode},
				{Name: "token", SecretName: "my-secrets", Key: "api-key", MountPath: defaultPath},
			}, credentials.Options{
				StagingImage: probeImage, StagingCommand: []string{"/stage-credentials"},
				StagingImagePullPolicy: corev1.PullNever,
			})
			if err != nil {
				t.Fatal(err)
			}
			pod, err := podspec.Build(podspec.Spec{
				Identity:  podspec.Identity{OwnerUID: string(uuid.NewUUID()), OwnerName: "t9", GroupName: "secure-agent"},
				Namespace: ns,
				// The probe image plays both parts: its init run stands in for copying the agent
				// binary, its main run reports what the agent container sees.
				AgentImage: probeImage, AgentInitCommand: []string{"/probe", "report"},
				ExecutorImage: probeImage, ImagePullPolicy: corev1.PullNever,
				Command:     []string{"/probe", "report", "-file", keyPath, "-file", defaultPath, "-env", "API_KEY"},
				Projections: []podspec.Projection{proj},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Create(ctx, pod); err != nil {
				t.Fatalf("creating the library-built Pod in a restricted namespace: %v", err)
			}
			waitPhase(ctx, t, r, pod, corev1.PodSucceeded)
			rep := readReport(ctx, t, cfg, ns, pod.Name, podspec.AgentContainerName)
			uid := int(podspec.DefaultUID)
			type file struct {
				Mode     string
				UID      int
				Readable bool
			}
			got := map[string]any{
				"uid": rep.UID, "capEff": rep.Status["CapEff"], "env": rep.Env["API_KEY"],
				keyPath:     file{rep.Files[keyPath].Mode, rep.Files[keyPath].UID, rep.Files[keyPath].Readable},
				defaultPath: file{rep.Files[defaultPath].Mode, rep.Files[defaultPath].UID, rep.Files[defaultPath].Readable},
			}
			want := map[string]any{
				"uid": uid, "capEff": "0000000000000000", "env": true,
				keyPath:     file{"0400", uid, true},
				defaultPath: file{"0600", uid, true},
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("what the agent container saw (-want +got):\n%s", d)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
