// Package contract is what every KubeOpenCode module shares, and nothing else: it imports only
// the standard library, so the libraries (podspec, credentials, policy, rbac) and the API types
// can all import it without importing each other (hack/verify.sh enforces both rules).
//
// It holds the values and rules that must be the same everywhere, so that they cannot drift:
//
//   - the agent's default user and group ([DefaultUID], [DefaultGID]) and credential file mode;
//   - the reserved paths ([ToolsDir], [InternalDir], [SystemReservedPaths], [ReservedPaths]) and
//     the path rules ([CheckPath], [Within]);
//   - the reserved environment variable names ([IsReservedEnvName], [SafeEnvPrefix]);
//   - DNS-label syntax ([IsDNSLabel]) and the deterministic name derivation ([DNSLabel],
//     [LabelValue]) that gives every generated object the same name in every module;
//   - the error categories ([ErrInvalid], [ErrReserved], [ErrConflict]) every library reports;
//   - the one YAML stream writer every generator uses ([WriteYAMLDocuments]), so manifests written
//     by different modules can be concatenated without losing a document.
//
// The libraries check Kubernetes syntax (label keys, Secret keys, subdomains) with apimachinery's
// validators; the contract keeps its own DNS-label check only because it must not import them.
package contract
