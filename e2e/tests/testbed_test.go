//go:build e2e

package tests

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

func onKwokNode(spec *corev1.PodSpec) {
	spec.NodeSelector = map[string]string{"type": "kwok"}
	spec.Tolerations = []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
}

// TestTestbedFakeNode proves the kwok fake node: Pods there go Running without a container, and the
// exit Stage ends them Succeeded or Failed with the exit code the annotation asks for.
func TestTestbedFakeNode(t *testing.T) {
	f := features.New("kwok fake node runs Pods to a final phase").
		Assess("exit code 0 ends Succeeded, 7 ends Failed with exit code 7", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ns := createNamespace(ctx, t, cfg, nil)
			r := cfg.Client().Resources(ns)
			for _, tc := range []struct {
				code  string
				phase corev1.PodPhase
				exit  int32
			}{{"0", corev1.PodSucceeded, 0}, {"7", corev1.PodFailed, 7}} {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: "fake-exit-" + tc.code, Namespace: ns},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "agent", Image: "example.local/not-pulled:v1"}},
					},
				}
				onKwokNode(&pod.Spec)
				if err := r.Create(ctx, pod); err != nil {
					t.Fatal(err)
				}
				waitPhase(ctx, t, r, pod, corev1.PodRunning)
				patch := []byte(`{"metadata":{"annotations":{"` + kwokExitCodeAnnotation + `":"` + tc.code + `"}}}`)
				if err := r.Patch(ctx, pod, k8s.Patch{PatchType: types.MergePatchType, Data: patch}); err != nil {
					t.Fatal(err)
				}
				waitPhase(ctx, t, r, pod, tc.phase)
				if err := r.Get(ctx, pod.Name, ns, pod); err != nil {
					t.Fatal(err)
				}
				if pod.Spec.NodeName != "kwok-node-0" {
					t.Errorf("pod ran on %q, want the kwok node", pod.Spec.NodeName)
				}
				st := pod.Status.ContainerStatuses
				if len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != tc.exit {
					t.Errorf("container status %+v, want terminated with exit code %d", st, tc.exit)
				}
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// TestTestbedRealNode proves the real kubelet node: a restricted Pod in a namespace that enforces
// Pod Security "restricted" really runs the locally imported probe image, reads a mounted Secret,
// and reports from inside what the kernel enforces.
func TestTestbedRealNode(t *testing.T) {
	f := features.New("real node runs a restricted Pod to Succeeded").
		Assess("the container sees the security context the spec asked for", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ns := createNamespace(ctx, t, cfg, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
			r := cfg.Client().Resources(ns)
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
				StringData: map[string]string{"token": "s3cr3t"},
			}
			if err := r.Create(ctx, secret); err != nil {
				t.Fatal(err)
			}
			const uid = 65532
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](uid), RunAsGroup: ptr.To[int64](uid),
						FSGroup:        ptr.To[int64](uid),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullNever,
						Args: []string{"report", "-file", "/creds/token", "-env", "HOME"},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/creds", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{
						Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr.To[int32](0o440)},
					}}},
				},
			}
			if err := r.Create(ctx, pod); err != nil {
				t.Fatalf("creating a restricted Pod in a restricted namespace: %v", err)
			}
			waitPhase(ctx, t, r, pod, corev1.PodSucceeded)
			if err := r.Get(ctx, pod.Name, ns, pod); err != nil {
				t.Fatal(err)
			}
			if pod.Spec.NodeName == "kwok-node-0" || pod.Spec.NodeName == "" {
				t.Fatalf("pod ran on %q, want the real node", pod.Spec.NodeName)
			}
			rep := readReport(ctx, t, cfg, ns, pod.Name, "probe")
			type seen struct {
				UID, GID                            int
				CapEff, NoNewPrivs, Seccomp         string
				RootFSWritable, ServiceAccountToken bool
				TokenMode                           string
				TokenGID                            int
				TokenReadable                       bool
			}
			got := seen{
				UID: rep.UID, GID: rep.GID,
				CapEff: rep.Status["CapEff"], NoNewPrivs: rep.Status["NoNewPrivs"], Seccomp: rep.Status["Seccomp"],
				RootFSWritable: rep.RootFSWritable, ServiceAccountToken: rep.ServiceAccountToken,
				TokenMode: rep.Files["/creds/token"].Mode, TokenGID: rep.Files["/creds/token"].GID,
				TokenReadable: rep.Files["/creds/token"].Readable,
			}
			want := seen{
				UID: uid, GID: uid, CapEff: "0000000000000000", NoNewPrivs: "1", Seccomp: "2",
				TokenMode: "0440", TokenGID: uid, TokenReadable: true,
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("what the container saw (-want +got):\n%s", d)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
