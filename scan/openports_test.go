package scan

import (
	"fmt"
	"testing"
)

// TestOpenPortsCapped: a host that answers every port (a tarpit, SYN
// cookies) gives a scanner thousands of open ports; the list answers cap
// them at MaxPortsHit and scanner_detail at MaxDetailList, say so, and
// the outcome count keeps the true number.
func TestOpenPortsCapped(t *testing.T) {
	const n = 1500
	sb := newBuilder(DefaultConfig())
	for port := range n {
		ts := t0 + int64(port)*1_000_000
		sb.tcp(ts, "203.0.113.66", 45000, "10.0.0.5", uint16(port+1), fS, 0)
		sb.tcp(ts+50_000, "10.0.0.5", uint16(port+1), "203.0.113.66", 45000, fS|fA, 0)
	}
	an := sb.agg.Finish()
	sus := an.Suspects(DefaultThresholds())
	if len(sus) != 1 {
		t.Fatalf("%d suspects", len(sus))
	}
	s := sus[0]
	if len(s.OpenPorts) != MaxPortsHit || !s.OpenPortsTruncated || s.OpenPorts[0] != 1 || s.OpenPorts[MaxPortsHit-1] != MaxPortsHit {
		t.Errorf("suspect: %d open ports (truncated %v), first %d", len(s.OpenPorts), s.OpenPortsTruncated, s.OpenPorts[0])
	}
	ov := an.Overview(DefaultThresholds(), 60, 20)
	if len(ov.Scanners) != 1 || len(ov.Scanners[0].OpenPorts) != MaxPortsHit || !ov.Scanners[0].OpenPortsTruncated {
		t.Errorf("overview scanners: %+v", ov.Scanners)
	}
	d, ok := an.Detail(ip("203.0.113.66"))
	if !ok {
		t.Fatal("no detail")
	}
	if len(d.OpenPorts) != MaxDetailList || !d.OpenPortsTruncated || d.Outcomes.Open != n {
		t.Errorf("detail: %d open ports (truncated %v), outcomes.open %d", len(d.OpenPorts), d.OpenPortsTruncated, d.Outcomes.Open)
	}
	if len(d.Targets) != 1 || len(d.Targets[0].OpenPorts) != MaxDetailList || !d.Targets[0].OpenPortsTruncated {
		t.Errorf("detail target: %s", fmt.Sprint(len(d.Targets)))
	}
}

// TestTimelineCapped: a window far shorter than the scan lists the first
// MaxTimelineWindows windows and says how many had probes.
func TestTimelineCapped(t *testing.T) {
	const n = MaxTimelineWindows + 500
	sb := newBuilder(DefaultConfig())
	for i := range n {
		sb.tcp(t0+int64(i)*1_000_000, "203.0.113.66", 45000, "10.0.0.5", uint16(i%65535+1), fS, 0)
	}
	an := sb.agg.Finish()
	ov := an.Overview(DefaultThresholds(), 0.001, 20) // one probe per window
	if len(ov.Timeline) != MaxTimelineWindows || !ov.TimelineTruncated || ov.TimelineWindows != n {
		t.Fatalf("timeline of %d windows, truncated %v, windows %d; want %d, true, %d",
			len(ov.Timeline), ov.TimelineTruncated, ov.TimelineWindows, MaxTimelineWindows, n)
	}
	if ov.Timeline[0].Probes != 1 || ov.Timeline[MaxTimelineWindows-1].Start.NS != t0+int64(MaxTimelineWindows-1)*1_000_000 {
		t.Errorf("first window %+v, last %+v", ov.Timeline[0], ov.Timeline[MaxTimelineWindows-1])
	}
	if ov = an.Overview(DefaultThresholds(), 60, 20); ov.TimelineTruncated || ov.TimelineWindows != 0 {
		t.Errorf("60 s windows: truncated %v", ov.TimelineTruncated)
	}
}
