// Package sandbox is a small third-party controller built on KubeOpenCode's libraries and on
// nothing else of KubeOpenCode: it imports podspec, credentials, policy and rbac, never the
// kubeopencode.io API or the operator (a test enforces it).
//
// Its API (package v1alpha1, group sandbox.example.com) has two kinds. A platform team's
// SandboxTemplate says which images run, with which credentials from Secrets of its namespace,
// and which namespaces may use it (allowedNamespaces). A tenant's Sandbox names a template,
// possibly in another namespace, and a command. For each Sandbox the Reconciler:
//
//  1. decides namespace access with policy.NewNamespacePolicy (refused: Ready=False with the
//     policy's reason and message, which never reveals the template's patterns; no Pod);
//  2. builds the Pod with podspec.Build, hardened for Pod Security "restricted", in the template's
//     namespace, with the credentials projected by credentials.Project: env variables from
//     secretKeyRef and files staged with their exact mode (0400 for a key) for the sandbox's UID;
//  3. judges the Pod with policy.PodSecurityJudge ("restricted", "latest") before creating it
//     (refused: Ready=False, PodSecurityViolation);
//  4. creates it under a name derived from the Sandbox UID, finds it again only by that UID's
//     label, and deletes it, through a finalizer, when the Sandbox is deleted.
//
// Its RBAC is built with the rbac module ([Rules], [WriteRBAC]): no Secrets (the kubelet mounts
// them), no pods/exec, no wildcards. The command cmd/sandbox-controller runs the controller, or
// prints that RBAC with --print-rbac.
package sandbox
