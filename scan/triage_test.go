package scan

import (
	"slices"
	"testing"
)

// TestPriorityOf: the README's cut-offs, at and around each boundary.
func TestPriorityOf(t *testing.T) {
	for _, c := range []struct {
		score int
		want  string
	}{
		{-3, PriorityLow}, {0, PriorityLow}, {1, PriorityLow}, {2, PriorityMedium}, {3, PriorityMedium},
		{4, PriorityHigh}, {6, PriorityHigh}, {7, PriorityCritical}, {20, PriorityCritical},
	} {
		if got := priorityOf(c.score); got != c.want {
			t.Errorf("priorityOf(%d) = %s, want %s", c.score, got, c.want)
		}
	}
	ranks := []int{PriorityRank(PriorityCritical), PriorityRank(PriorityHigh), PriorityRank(PriorityMedium), PriorityRank(PriorityLow), PriorityRank("")}
	if !slices.IsSorted(ranks) || ranks[0] == ranks[1] {
		t.Errorf("PriorityRank order %v", ranks)
	}
}

// TestAttackOf: each kind and technique to its ATT&CK IDs.
func TestAttackOf(t *testing.T) {
	ids := func(as []Attack) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	for _, c := range []struct {
		kind       string
		techniques []string
		ports      int
		hosts      int
		read       bool
		want       []string
	}{
		{"vertical", []string{"syn_scan"}, 1000, 1, false, []string{"T1046"}},
		{"horizontal", []string{"syn_scan"}, 1, 60, false, []string{"T1595.001"}},
		{"block", []string{"syn_scan"}, 20, 20, true, []string{"T1046", "T1595.001", "T1595.002"}},
		{"horizontal", []string{"ping_sweep"}, 0, 254, false, []string{"T1018"}},
		{"", []string{"udp_scan"}, 3, 3, false, []string{"T1046", "T1595.001"}},
	} {
		if got := ids(AttackOf(c.kind, c.techniques, c.ports, c.hosts, c.read)); !slices.Equal(got, c.want) {
			t.Errorf("AttackOf(%s, %v, %d, %d, %t) = %v, want %v", c.kind, c.techniques, c.ports, c.hosts, c.read, got, c.want)
		}
	}
	if u := AttackVulnerabilityScanning.URL(); u != "https://attack.mitre.org/techniques/T1595/002/" {
		t.Errorf("URL = %s", u)
	}
}
