package mcp

import (
	"strconv"
	"strings"
)

// Ports is a list of ports as answers write it: sorted ranges joined by
// commas, "1-1024,3306,8080". A dense scan of a thousand ports is a few
// characters instead of a thousand numbers, and reads at a glance.
type Ports string

// JSONSchema: Ports is a string (mcp.SchemaDefiner).
func (Ports) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "description": `ports as sorted ranges, e.g. "1-1024,3306,8080"; "" for none`}
}

// portRanges writes ports (sorted ascending, duplicates allowed) as
// ranges, at most maxItems of them (a range or a single port is one
// item; maxItems <= 0 means no cap), and reports whether it cut.
func portRanges(ports []int, maxItems int) (Ports, bool) {
	var b strings.Builder
	items := 0
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && (ports[j+1] == ports[j] || ports[j+1] == ports[j]+1) {
			j++
		}
		if maxItems > 0 && items == maxItems {
			return Ports(b.String()), true
		}
		if items > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ports[i]))
		if ports[j] != ports[i] {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ports[j]))
		}
		items++
		i = j + 1
	}
	return Ports(b.String()), false
}

// Expand is the sorted list of ports p names; ok is false when p is not
// a list of ports and ranges.
func (p Ports) Expand() (ports []int, ok bool) {
	if p == "" {
		return nil, true
	}
	for _, item := range strings.Split(string(p), ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || a > 65535 {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b > 65535 {
				return nil, false
			}
		}
		for x := a; x <= b; x++ {
			ports = append(ports, x)
		}
	}
	return ports, true
}
