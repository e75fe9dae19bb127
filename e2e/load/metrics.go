package load

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// Sample is one line of a Prometheus text exposition.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// ParseSamples returns the samples of metric in a Prometheus text exposition. It understands the
// subset the API server prints (quoted label values with \" and \\ escapes); comments and other
// metrics are skipped.
func ParseSamples(text, metric string) ([]Sample, error) {
	var out []Sample
	s := bufio.NewScanner(strings.NewReader(text))
	s.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		labels := map[string]string{}
		switch {
		case strings.HasPrefix(rest, "{"):
			end, err := parseLabels(rest[1:], labels)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			rest = rest[1+end:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric sharing the prefix
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("line %d: no value", n)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value: %w", n, err)
		}
		out = append(out, Sample{Labels: labels, Value: v})
	}
	return out, s.Err()
}

// parseLabels reads `k="v",...}` into labels and returns the index just past the closing brace.
func parseLabels(s string, labels map[string]string) (int, error) {
	i := 0
	for {
		if i < len(s) && s[i] == '}' {
			return i + 1, nil
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return 0, fmt.Errorf("malformed labels %q", s)
		}
		key := strings.TrimPrefix(s[i:i+eq], ",")
		j := i + eq + 2
		var v strings.Builder
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
				if s[j] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(s[j])
		}
		if j >= len(s) {
			return 0, fmt.Errorf("unterminated label value in %q", s)
		}
		labels[key] = v.String()
		i = j + 1
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
}

// WriteKey names an API write by verb, resource and subresource, e.g. "POST pods",
// "PUT tasks/status".
func WriteKey(l map[string]string) string {
	k := l["verb"] + " " + l["resource"]
	if l["subresource"] != "" {
		k += "/" + l["subresource"]
	}
	return k
}

// isWrite reports whether an apiserver_request_total verb changes state.
func isWrite(verb string) bool {
	switch verb {
	case "POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY":
		return true
	}
	return false
}

// APIWrites reads the API server's apiserver_request_total and sums successful and failed writes
// by WriteKey, for the resources given (all when empty).
func APIWrites(ctx context.Context, cs kubernetes.Interface, resources ...string) (map[string]float64, error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	samples, err := ParseSamples(string(raw), "apiserver_request_total")
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	want := map[string]bool{}
	for _, r := range resources {
		want[r] = true
	}
	out := map[string]float64{}
	for _, s := range samples {
		if !isWrite(s.Labels["verb"]) || (len(want) > 0 && !want[s.Labels["resource"]]) {
			continue
		}
		out[WriteKey(s.Labels)] += s.Value
	}
	return out, nil
}

// Delta subtracts before from after, key by key, dropping zeros.
func Delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}
