package policy

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Destinations an agent must never reach (threat T17): the link-local ranges, where clouds serve
// instance metadata and credentials (169.254.169.254 on AWS, GCP, Azure, OpenStack) and nodes
// serve local agents, and the metadata addresses outside them. Any allowed CIDR that contains one
// gets it as an ipBlock "except"; a CIDR inside one is refused.
const (
	// LinkLocalIPv4 is the IPv4 link-local range, with 169.254.169.254 (cloud metadata) in it.
	LinkLocalIPv4 = "169.254.0.0/16"
	// LinkLocalIPv6 is the IPv6 link-local range.
	LinkLocalIPv6 = "fe80::/10"
	// MetadataAlibaba is the metadata endpoint of Alibaba Cloud, outside the link-local range.
	MetadataAlibaba = "100.100.100.200/32"
	// MetadataIPv6 is the IPv6 metadata endpoint of AWS (IMDS on Nitro instances).
	MetadataIPv6 = "fd00:ec2::254/128"
	// MetadataIPv4 is the link-local metadata endpoint of AWS, GCP, Azure and OpenStack; it lies
	// in LinkLocalIPv4, which is excepted as a whole.
	MetadataIPv4 = "169.254.169.254/32"
)

// NeverAllowed returns the ranges no allow-list entry reaches, in the order the excepts list
// them: LinkLocalIPv4, MetadataAlibaba, LinkLocalIPv6, MetadataIPv6.
func NeverAllowed() []string {
	return []string{LinkLocalIPv4, MetadataAlibaba, LinkLocalIPv6, MetadataIPv6}
}

// neverAllowed is read-only after initialization.
var neverAllowed = []netip.Prefix{
	netip.MustParsePrefix(LinkLocalIPv4), netip.MustParsePrefix(MetadataAlibaba),
	netip.MustParsePrefix(LinkLocalIPv6), netip.MustParsePrefix(MetadataIPv6),
}

// DNS peers: the cluster DNS Pods, selected the way kubeadm, kind and most distributions label
// them (namespace kube-system, label k8s-app=kube-dns, which CoreDNS keeps for compatibility).
// A cluster whose Pods resolve through another server must add it to the allow-list; one on a
// link-local address (NodeLocal DNSCache on 169.254.20.10, for instance) cannot be allowed, so
// such Pods get no DNS unless their traffic reaches the kube-dns Pods. DNS itself stays a channel
// out: the names an agent resolves reach the cluster's DNS server and whatever it forwards to.
const (
	DNSNamespace     = "kube-system"
	DNSPodLabelKey   = "k8s-app"
	DNSPodLabelValue = "kube-dns"
	DNSPort          = 53
)

// EgressPort is one destination port of an allow-list entry.
type EgressPort struct {
	// Port is 1–65535.
	Port int32
	// Protocol is TCP, UDP or SCTP. Default TCP.
	Protocol corev1.Protocol
}

// EgressRule is one allow-list entry: a destination CIDR and its ports.
type EgressRule struct {
	// CIDR is an IPv4 or IPv6 prefix in canonical form (no host bits set, e.g. 10.0.0.0/8, not
	// 10.1.2.3/8: a typo must not silently widen what is allowed). IPv4-mapped IPv6 prefixes are
	// refused; write the IPv4 prefix.
	CIDR string
	// Ports limit the entry to these destination ports. Empty means every port, as in a
	// NetworkPolicy.
	Ports []EgressPort
}

// AgentEgress is the input of AgentEgressNetworkPolicy.
type AgentEgress struct {
	// Namespace and Name of the NetworkPolicy: the namespace where the Agent's Pods run.
	Namespace, Name string
	// PodSelector selects the Agent's Pods by the operator's labels (e.g. kubeopencode.io/agent and
	// app.kubernetes.io/managed-by=kubeopencode); the operator owns the keys, so it passes them. It
	// must not be empty: an empty selector would cut every Pod of the namespace off the network.
	PodSelector map[string]string
	// Labels are set on the NetworkPolicy itself. Default none.
	Labels map[string]string
	// Allow is the allow-list, in order.
	Allow []EgressRule
}

// AgentEgressNetworkPolicy builds the egress NetworkPolicy of one Agent's Pods (threat T17):
//
//   - default deny: the policy selects the Pods and has policyTypes [Egress], so only the rules
//     below are allowed (ingress is left alone);
//   - DNS: UDP and TCP 53 to the cluster DNS Pods (DNSNamespace, DNSPodLabelKey=DNSPodLabelValue);
//   - one rule per allow-list entry, in input order, ports sorted and de-duplicated;
//   - the ranges of NeverAllowed (the link-local ranges 169.254.0.0/16 and fe80::/10, and the
//     metadata addresses 100.100.100.200/32 and fd00:ec2::254/128) are in the except list of every
//     entry whose CIDR contains them, so even 0.0.0.0/0 does not reach them; an entry that lies
//     inside one of them is refused.
//
// Every invalid input is reported at once, as an [*Errors] of field errors naming the field of
// AgentEgress and the index (e.g. allow[2].cidr).
func AgentEgressNetworkPolicy(in AgentEgress) (*networkingv1.NetworkPolicy, error) {
	var errs field.ErrorList
	if !isNamespaceName(in.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), omit, fmt.Sprintf("%q must be a namespace name", in.Namespace)))
	}
	for _, msg := range validation.IsDNS1123Subdomain(in.Name) {
		errs = append(errs, field.Invalid(field.NewPath("name"), omit, fmt.Sprintf("%q: %s", in.Name, msg)))
	}
	if len(in.PodSelector) == 0 {
		errs = append(errs, field.Required(field.NewPath("podSelector"), "must not be empty: it would select every Pod in the namespace"))
	}
	errs = append(errs, validateLabels(field.NewPath("podSelector"), in.PodSelector)...)
	errs = append(errs, validateLabels(field.NewPath("labels"), in.Labels)...)

	rules := []networkingv1.NetworkPolicyEgressRule{dnsRule()}
	for i, entry := range in.Allow {
		rule, ruleErrs := egressRule(field.NewPath("allow").Index(i), entry)
		errs = append(errs, ruleErrs...)
		rules = append(rules, rule)
	}
	if len(errs) > 0 {
		return nil, toError(errs)
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: networkingv1.SchemeGroupVersion.String(), Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: in.Namespace, Name: in.Name, Labels: cloneMap(in.Labels)},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: cloneMap(in.PodSelector)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      rules,
		},
	}, nil
}

func dnsRule() networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: DNSNamespace}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{DNSPodLabelKey: DNSPodLabelValue}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{
			policyPort(corev1.ProtocolTCP, DNSPort),
			policyPort(corev1.ProtocolUDP, DNSPort),
		},
	}
}

func egressRule(fp *field.Path, entry EgressRule) (networkingv1.NetworkPolicyEgressRule, field.ErrorList) {
	var errs field.ErrorList
	block, err := ipBlock(entry.CIDR)
	if err != nil {
		errs = append(errs, field.Invalid(fp.Child("cidr"), omit, fmt.Sprintf("%q: %v", entry.CIDR, err)))
	}
	type key struct {
		protocol corev1.Protocol
		port     int32
	}
	var keys []key
	for j, p := range entry.Ports {
		protocol := p.Protocol
		if protocol == "" {
			protocol = corev1.ProtocolTCP
		}
		switch protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(fp.Child("ports").Index(j).Child("protocol"), p.Protocol,
				[]corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}))
		}
		if p.Port < 1 || p.Port > 65535 {
			errs = append(errs, field.Invalid(fp.Child("ports").Index(j).Child("port"), omit, fmt.Sprintf("%d must be between 1 and 65535", p.Port)))
		}
		keys = append(keys, key{protocol, p.Port})
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(string(a.protocol), string(b.protocol)), cmp.Compare(a.port, b.port))
	})
	keys = slices.Compact(keys)
	rule := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: block}}}
	for _, k := range keys {
		rule.Ports = append(rule.Ports, policyPort(k.protocol, k.port))
	}
	return rule, errs
}

// ipBlock parses a canonical CIDR and excepts the never-allowed ranges it contains.
func ipBlock(cidr string) (*networkingv1.IPBlock, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, errors.New("not a CIDR")
	}
	if prefix.Addr().Is4In6() {
		return nil, errors.New("IPv4-mapped IPv6 prefixes are not accepted; write the IPv4 prefix")
	}
	if masked := prefix.Masked(); masked != prefix {
		return nil, fmt.Errorf("host bits are set; the prefix is %s", masked)
	}
	block := &networkingv1.IPBlock{CIDR: prefix.String()}
	for _, never := range neverAllowed {
		if !prefix.Overlaps(never) {
			continue
		}
		// Two prefixes that overlap are nested: one contains the other.
		if prefix.Bits() >= never.Bits() {
			return nil, fmt.Errorf("lies inside %s (link-local or cloud metadata), which is never allowed", never)
		}
		block.Except = append(block.Except, never.String())
	}
	return block, nil
}

func policyPort(protocol corev1.Protocol, port int32) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(port)
	return networkingv1.NetworkPolicyPort{Protocol: &protocol, Port: &p}
}

func validateLabels(fp *field.Path, labels map[string]string) field.ErrorList {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic error order
	var errs field.ErrorList
	for _, k := range keys {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(fp.Key(k), omit, fmt.Sprintf("key %q: %s", k, msg)))
		}
		for _, msg := range validation.IsValidLabelValue(labels[k]) {
			errs = append(errs, field.Invalid(fp.Key(k), omit, fmt.Sprintf("value %q: %s", labels[k], msg)))
		}
	}
	return errs
}
