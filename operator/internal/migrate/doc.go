// Package migrate finds what changes for an existing upstream KubeOpenCode (v0.0.3) install when
// our CRDs replace upstream's: the same group, version and kinds (kubeopencode.io/v1alpha1 Agent,
// Task, KubeOpenCodeConfig) with a different schema.
//
// The API server does not revalidate stored objects when a CRD's schema changes. It prunes the
// fields the new schema does not know and applies its defaults every time it reads an object, and
// it validates only what is written afterwards. So an upstream object can be stored, served and
// read by our operator although our CRDs would refuse it, and fields upstream relied on vanish
// silently. Check reads the stored objects as unstructured JSON (it works while upstream's CRDs are
// still installed, which is when it is meant to run) and reports, for each object, every field our
// CRDs would refuse or our operator would interpret differently:
//
//   - Refused: the object, pruned and defaulted as the API server would, fails our CRD's schema,
//     list-type or CEL validation (the API server's own validators, compiled from the CRDs
//     embedded in the api module). Re-applying the manifest unchanged would be refused.
//   - Changed: the object is accepted, but means something else: a field our schema does not
//     know (dropped on read), or an explicit change of meaning such as an Agent without
//     allowedNamespaces (upstream: every namespace; ours: its own namespace only).
//
// Findings are sorted and formatted deterministically (a table or JSON); the command is
// "kubeopencode migrate check" (see Main).
package migrate
