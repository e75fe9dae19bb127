// Package admissiontest proves the policy module's admission artefacts against a real
// kube-apiserver (envtest): the ValidatingAdmissionPolicy that requires the RBAC verb "use" on the
// referenced Agent before a Task is created (threat T2), the PodSecurityJudge verdicts matching
// the PodSecurity admission plugin word for word (T8), and the generated NetworkPolicies being
// accepted by API validation (T17). It holds only tests.
package admissiontest
