// Package kubeopencode holds KubeOpenCode's own RBAC, built with the generic package rbac: the
// operator's ClusterRole ([OperatorRules]), its per-namespace pods Role and leader-election Role
// ([LeaderElectionRules]), the agent ServiceAccount's Role ([AgentRules]), the log server's roles
// ([LogReaderObjects]), the metrics reader ([MetricsReaderClusterRole]) and the persona
// ClusterRoles ([Persona]: task-author, agent-user, viewer, finalizer-remover). [Manifest]
// gathers what the command kubeopencode-rbac prints as YAML (operator/config/rbac is its output).
//
// The operator holds one dangerous grant on purpose ([AcceptedOperatorGrants]: pods create,
// cluster-wide unless OperatorOptions.Namespaces narrows it to Roles in the watched namespaces);
// [WithoutAccepted] subtracts exactly those from what rbac.FindDangerous reports.
//
// # Errors
//
// The Objects builders return the rbac package's builder errors, wrapped with the object being
// built (e.g. "operator ClusterRoleBinding: ..."), for options that would make an invalid object,
// such as a namespace that is not a DNS label; ParsePersonas names an unknown persona.
package kubeopencode
