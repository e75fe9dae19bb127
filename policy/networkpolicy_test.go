package policy

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
)

func agentEgress(allow ...EgressRule) AgentEgress {
	return AgentEgress{
		Namespace: "agents",
		Name:      "kubeopencode-agent-coder-egress",
		PodSelector: map[string]string{
			"app.kubernetes.io/managed-by": "kubeopencode",
			"kubeopencode.io/agent":        "coder",
		},
		Labels: map[string]string{"app.kubernetes.io/managed-by": "kubeopencode"},
		Allow:  allow,
	}
}

func TestAgentEgressNetworkPolicyGolden(t *testing.T) {
	tests := []struct {
		file string
		in   AgentEgress
	}{
		// No allow-list: DNS only.
		{"egress-dns-only.yaml", agentEgress()},
		// The whole IPv4 Internet on HTTPS and SSH: link-local and metadata are still excepted.
		{"egress-internet-with-ports.yaml", agentEgress(EgressRule{CIDR: "0.0.0.0/0", Ports: []EgressPort{{Port: 443}, {Port: 22, Protocol: "TCP"}, {Port: 443}}})},
		// A /8 that contains the link-local range gets it as an except; one that does not, does not.
		{"egress-link-local-8.yaml", agentEgress(
			EgressRule{CIDR: "169.0.0.0/8", Ports: []EgressPort{{Port: 8080}}},
			EgressRule{CIDR: "10.0.0.0/8", Ports: []EgressPort{{Port: 5432}, {Port: 53, Protocol: "UDP"}}},
		)},
		// IPv6: link-local and the AWS IPv6 metadata address are excepted from ::/0; a /32 is not; a
		// rule without ports allows every port.
		{"egress-ipv6.yaml", agentEgress(
			EgressRule{CIDR: "::/0", Ports: []EgressPort{{Port: 443}}},
			EgressRule{CIDR: "2001:db8::/32"},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			np, err := AgentEgressNetworkPolicy(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := RenderYAML(np)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, out)
		})
	}
}

// TestLinkLocalAndMetadataAlwaysExcepted pins T17 independently of the golden files: every
// ipBlock that contains a link-local range or a metadata address excepts it, and no other gets an
// except; an entry inside one is refused.
func TestLinkLocalAndMetadataAlwaysExcepted(t *testing.T) {
	tests := []struct {
		cidr       string
		wantExcept []string
	}{
		{"0.0.0.0/0", []string{"169.254.0.0/16", "100.100.100.200/32"}},
		{"128.0.0.0/1", []string{"169.254.0.0/16"}},
		{"169.0.0.0/8", []string{"169.254.0.0/16"}},
		{"100.64.0.0/10", []string{"100.100.100.200/32"}},
		{"100.100.100.200/31", []string{"100.100.100.200/32"}},
		{"10.0.0.0/8", nil},
		{"169.255.0.0/16", nil},
		{"0.0.0.0/1", []string{"100.100.100.200/32"}},
		{"0.0.0.0/2", nil},
		{"::/0", []string{"fe80::/10", "fd00:ec2::254/128"}},
		{"fe00::/7", []string{"fe80::/10"}},
		{"fd00::/8", []string{"fd00:ec2::254/128"}},
		{"2001:db8::/32", nil},
		{"fec0::/10", nil},
	}
	for _, tt := range tests {
		np, err := AgentEgressNetworkPolicy(agentEgress(EgressRule{CIDR: tt.cidr, Ports: []EgressPort{{Port: 443}}}))
		if err != nil {
			t.Fatalf("%s: %v", tt.cidr, err)
		}
		got := np.Spec.Egress[1].To[0].IPBlock
		if got.CIDR != tt.cidr || !cmp.Equal(got.Except, tt.wantExcept) {
			t.Errorf("ipBlock for %s = %+v, want except %q", tt.cidr, got, tt.wantExcept)
		}
	}
	for _, cidr := range []string{"169.254.0.0/16", "169.254.169.254/32", "169.254.20.10/32", "169.254.0.0/24", "100.100.100.200/32", "fe80::/10", "fe80::1/128", "febf::/16", "fd00:ec2::254/128"} {
		if _, err := AgentEgressNetworkPolicy(agentEgress(EgressRule{CIDR: cidr})); err == nil || !strings.Contains(err.Error(), "never allowed") {
			t.Errorf("%s: error %v, want it refused as never allowed", cidr, err)
		}
	}
}

func TestAgentEgressShape(t *testing.T) {
	np, err := AgentEgressNetworkPolicy(agentEgress(EgressRule{CIDR: "10.0.0.0/8"}))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes = %v, want [Egress] (default-deny egress)", np.Spec.PolicyTypes)
	}
	if len(np.Spec.Ingress) != 0 {
		t.Errorf("ingress rules = %v, want none", np.Spec.Ingress)
	}
	if diff := cmp.Diff(map[string]string{"app.kubernetes.io/managed-by": "kubeopencode", "kubeopencode.io/agent": "coder"}, np.Spec.PodSelector.MatchLabels); diff != "" {
		t.Errorf("podSelector (-want +got):\n%s", diff)
	}
	dns := np.Spec.Egress[0]
	if len(dns.To) != 1 || dns.To[0].IPBlock != nil || dns.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system" ||
		dns.To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" || len(dns.Ports) != 2 {
		t.Errorf("DNS rule = %+v, want kube-system/k8s-app=kube-dns on 53", dns)
	}
}

func TestAgentEgressRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   AgentEgress
		want []string
	}{
		{"bad cidrs", agentEgress(
			EgressRule{CIDR: "10.0.0.0/8"},
			EgressRule{CIDR: "not-a-cidr"},
			EgressRule{CIDR: "10.1.2.3/8"},
			EgressRule{CIDR: "169.254.169.254/32"},
			EgressRule{CIDR: "::ffff:10.0.0.0/104"},
			EgressRule{CIDR: "fd00:ec2::254/128"},
			EgressRule{CIDR: "10.0.0.1"},
		), []string{
			`allow[1].cidr: Invalid value: "not-a-cidr": not a CIDR`,
			`allow[2].cidr: Invalid value: "10.1.2.3/8": host bits are set; the prefix is 10.0.0.0/8`,
			`allow[3].cidr: Invalid value: "169.254.169.254/32": lies inside 169.254.0.0/16 (link-local or cloud metadata), which is never allowed`,
			`allow[4].cidr: Invalid value: "::ffff:10.0.0.0/104": IPv4-mapped IPv6 prefixes are not accepted; write the IPv4 prefix`,
			`allow[5].cidr: Invalid value: "fd00:ec2::254/128": lies inside fd00:ec2::254/128 (link-local or cloud metadata), which is never allowed`,
			`allow[6].cidr: Invalid value: "10.0.0.1": not a CIDR`,
		}},
		{"bad ports", agentEgress(EgressRule{CIDR: "10.0.0.0/8", Ports: []EgressPort{{Port: 0}, {Port: 443, Protocol: "ICMP"}, {Port: 65536}, {Port: 80, Protocol: "tcp"}}}), []string{
			`allow[0].ports[0].port: Invalid value: 0 must be between 1 and 65535`,
			`allow[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`,
			`allow[0].ports[2].port: Invalid value: 65536 must be between 1 and 65535`,
			`allow[0].ports[3].protocol: Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"`,
		}},
		{"bad identity", AgentEgress{Namespace: "Agents", Name: "x_y", PodSelector: map[string]string{"bad key!": "v"}}, []string{
			`namespace: Invalid value: "Agents" must be a namespace name`,
			`name: Invalid value: "x_y": a lowercase RFC 1123 subdomain must consist of`,
			`podSelector[bad key!]: Invalid value: key "bad key!": name part must consist of`,
		}},
		{"empty selector", AgentEgress{Namespace: "agents", Name: "np"}, []string{
			`podSelector: Required value: must not be empty: it would select every Pod in the namespace`,
		}},
		{"bad label value", AgentEgress{Namespace: "agents", Name: "np", PodSelector: map[string]string{"a": "b"}, Labels: map[string]string{"k": strings.Repeat("v", 64)}}, []string{
			`labels[k]: Invalid value: value "` + strings.Repeat("v", 64) + `": must be no more than 63 bytes`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np, err := AgentEgressNetworkPolicy(tt.in)
			if err == nil || np != nil {
				t.Fatalf("AgentEgressNetworkPolicy = %v, nil; want errors", np)
			}
			var es *Errors
			if !errors.As(err, &es) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want *Errors of invalid input", err)
			}
			var got []string
			for _, p := range es.Problems {
				got = append(got, p.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzEgressCIDR: whatever the CIDR, the builder never panics, and an accepted entry never lets an
// address of a never-allowed range through: the range is excepted whole.
func FuzzEgressCIDR(f *testing.F) {
	for _, s := range []string{"0.0.0.0/0", "169.254.169.254/32", "169.254.0.0/16", "::/0", "fd00:ec2::/64", "::ffff:169.254.169.254/128", "10.0.0.0/8", "1.2.3.4/33", "", "fe80::/10", "100.100.100.200/32", "100.0.0.0/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cidr string) {
		np, err := AgentEgressNetworkPolicy(agentEgress(EgressRule{CIDR: cidr}))
		if err != nil {
			return
		}
		block := np.Spec.Egress[1].To[0].IPBlock
		p, perr := netip.ParsePrefix(block.CIDR)
		if perr != nil {
			t.Fatalf("accepted %q produced unparsable %q", cidr, block.CIDR)
		}
		for _, never := range neverAllowed {
			if p.Overlaps(never) && (p.Bits() >= never.Bits() || !slices.Contains(block.Except, never.String())) {
				t.Fatalf("%q overlaps %s but except = %q", cidr, never, block.Except)
			}
		}
	})
}

func BenchmarkAgentEgressNetworkPolicy(b *testing.B) {
	in := agentEgress(EgressRule{CIDR: "0.0.0.0/0", Ports: []EgressPort{{Port: 443}, {Port: 22}}}, EgressRule{CIDR: "10.0.0.0/8"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AgentEgressNetworkPolicy(in); err != nil {
			b.Fatal(err)
		}
	}
}
