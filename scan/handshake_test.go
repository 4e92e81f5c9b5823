package scan

import (
	"slices"
	"testing"
)

// TestSYNPayloadIsProbe: a SYN that carries payload (nmap --data-length)
// is a probe like any SYN, retransmitted with its payload; only the
// source's completion of the handshake makes a connection.
func TestSYNPayloadIsProbe(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 40 {
		ts := t0 + int64(i)*sec/100
		port := uint16(1 + i)
		b.tcp(ts, scanner, 45000, victim, port, fS, 40)
		switch {
		case i%10 == 0: // open: SYN/ACK acknowledging the SYN alone, the scanner's kernel resets it
			b.tcp(ts+100, victim, port, scanner, 45000, fS|fA, 0)
			b.tcp(ts+200, scanner, 45000, victim, port, fR, 0)
		case i == 39: // unanswered: retransmitted, payload and all
			b.tcp(ts+sec, scanner, 45001, victim, port, fS, 40)
		default:
			b.tcp(ts+100, victim, port, scanner, 45000, fR|fA, 0)
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatalf("SYN scan with payload not listed: %+v", an.Suspects(DefaultThresholds()))
	}
	if s.Kind != "vertical" || !slices.Equal(s.Techniques, []string{"syn_scan"}) || s.Probes != 40 ||
		!slices.Equal(s.OpenPorts, []int{1, 11, 21, 31}) {
		t.Errorf("suspect %+v", s)
	}
	d := mustDetail(t, an, scanner)
	if d.SuccessfulConnections != 0 || d.ProbePkts != 41 || d.TRW.Decision != "scanner" {
		t.Errorf("successful %d, probe packets %d, TRW %+v; want 0, 41, scanner", d.SuccessfulConnections, d.ProbePkts, d.TRW)
	}
}
