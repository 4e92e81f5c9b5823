package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"porthunter/pcapng"
)

// sctp adds an SCTP packet whose first chunk is chunk.
func (b *builder) sctp(ts int64, src string, sp uint16, dst string, dp uint16, chunk uint8) *pcapng.Packet {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoSCTP, pcapng.L4SCTP
	p.SrcPort, p.DstPort, p.SCTPChunk = sp, dp, chunk
	b.agg.Add(&p)
	return &p
}

// TestLabSCTP: nmap -sY and -sZ recorded by fixtures/lab/record_sctp.sh.
// Each scan is listed once with its own technique, every probed port
// counted, the open ports those the target answered INIT ACK on (none
// for -sZ, whose open ports stay silent: open|filtered), the closed
// ones those it aborted, and the first event the first probe with its
// chunk named.
func TestLabSCTP(t *testing.T) {
	for _, c := range []struct {
		file             string
		open             []int
		closed, unanswer int
		flag, class      string
	}{
		{"nmap_sctp_init.pcap", []int{2905, 3868, 36412}, 100, 0, "INIT", "SCTP_INIT"},
		{"nmap_sctp_cookie.pcap", []int{}, 100, 3, "COOKIE_ECHO", "SCTP_COOKIE_ECHO"},
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../fixtures/lab", c.file+".labels.json"))
			if err != nil {
				t.Fatal(err)
			}
			var l struct {
				labLabels
				InitAckPorts []int `json:"init_ack_ports"`
				AbortPorts   int   `json:"abort_ports_count"`
			}
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			if c.class == "SCTP_INIT" && !slices.Equal(l.InitAckPorts, c.open) || l.AbortPorts != c.closed {
				t.Fatalf("labels (tshark) INIT ACK on %v, ABORT on %d ports; the test expects %v and %d", l.InitAckPorts, l.AbortPorts, c.open, c.closed)
			}
			an := analyzeFile(t, filepath.Join("../fixtures/lab", c.file), DefaultConfig())
			sus := an.Suspects(DefaultThresholds())
			if len(sus) != 1 || sus[0].IP.String() != *l.Scanner {
				t.Fatalf("suspects %+v, want %s alone", sus, *l.Scanner)
			}
			s := sus[0]
			if !slices.Equal(s.Techniques, []string{*l.Technique}) || s.DistinctPorts != l.PortsScanned || s.Probes != l.PortsScanned ||
				!slices.Equal(s.OpenPorts, c.open) || !slices.Equal(s.FlagsSeen, []string{c.class}) {
				t.Errorf("suspect %v ports %d probes %d open %v flags %v; want [%s] %d %v [%s]", s.Techniques, s.DistinctPorts, s.Probes,
					s.OpenPorts, s.FlagsSeen, *l.Technique, l.PortsScanned, c.open, c.class)
			}
			d := mustDetail(t, an, *l.Scanner)
			if d.Outcomes.Open != len(c.open) || d.Outcomes.Closed != c.closed || d.Outcomes.Unanswered != c.unanswer || d.SuccessfulConnections != 0 {
				t.Errorf("outcomes %+v, %d associations; want open %d closed %d unanswered %d, none", d.Outcomes, d.SuccessfulConnections,
					len(c.open), c.closed, c.unanswer)
			}
			fe := an.FirstEvent(DefaultThresholds())
			if fe == nil || fe.Frame != l.FirstProbe.Frame || fe.Proto != "sctp" || fe.Flags == nil || *fe.Flags != c.flag ||
				int(fe.Port) != l.FirstProbe.Port || fe.Technique != *l.Technique {
				t.Errorf("first event %+v, label %+v", fe, l.FirstProbe)
			}
		})
	}
}

// TestSCTPAssociations: SCTP peers that set up associations (INIT, INIT
// ACK, COOKIE ECHO, COOKIE ACK, DATA), as Diameter or M3UA peers do to
// many hosts, are connections, not probes, and nobody is listed; the
// same INITs aborted after the INIT ACK (nmap -sY from a host whose
// kernel speaks SCTP) are a scan, and so are COOKIE ECHOs that begin
// nothing, on only a few ports (a stealth class).
func TestSCTPAssociations(t *testing.T) {
	b := newBuilder(DefaultConfig())
	ts := t0
	for i := range 30 {
		dst := "10.1.0." + strconv.Itoa(10+i)
		ts += sec / 10
		b.sctp(ts, "10.9.0.1", 40000, dst, 3868, pcapng.SCTPChunkInit)
		b.sctp(ts+1000, dst, 3868, "10.9.0.1", 40000, pcapng.SCTPChunkInitAck)
		b.sctp(ts+2000, "10.9.0.1", 40000, dst, 3868, pcapng.SCTPChunkCookieEcho)
		b.sctp(ts+3000, dst, 3868, "10.9.0.1", 40000, pcapng.SCTPChunkCookieAck)
		b.sctp(ts+4000, "10.9.0.1", 40000, dst, 3868, pcapng.SCTPChunkData)
	}
	for p := range uint16(30) {
		ts += sec / 100
		b.sctp(ts, "10.9.0.2", 50000, "10.1.0.99", 2000+p, pcapng.SCTPChunkInit)
		b.sctp(ts+1000, "10.1.0.99", 2000+p, "10.9.0.2", 50000, pcapng.SCTPChunkInitAck)
		b.sctp(ts+2000, "10.9.0.2", 50000, "10.1.0.99", 2000+p, pcapng.SCTPChunkAbort)
	}
	for p := range uint16(4) {
		ts += sec / 100
		b.sctp(ts, "10.9.0.3", 50001, "10.1.0.98", 3000+p, pcapng.SCTPChunkCookieEcho)
		b.sctp(ts+1000, "10.1.0.98", 3000+p, "10.9.0.3", 50001, pcapng.SCTPChunkAbort)
	}
	// A chunk of an association begun before the capture opens nothing.
	b.sctp(ts+sec, "10.9.0.4", 50002, "10.1.0.97", 3868, pcapng.SCTPChunkData)
	an := b.agg.Finish()
	sus := listed(an)
	if _, ok := sus["10.9.0.1"]; ok || len(sus) != 2 {
		t.Fatalf("listed %v, want 10.9.0.2 and 10.9.0.3, not the peer 10.9.0.1", sus)
	}
	if d := mustDetail(t, an, "10.9.0.1"); d.SuccessfulConnections != 30 || d.Probes != 0 {
		t.Errorf("peer: %d associations, %d probes; want 30, 0", d.SuccessfulConnections, d.Probes)
	}
	if s := sus["10.9.0.2"]; !slices.Equal(s.Techniques, []string{"sctp_init_scan"}) || len(s.OpenPorts) != 30 {
		t.Errorf("aborted INITs: %v open %v", s.Techniques, s.OpenPorts)
	}
	if s := sus["10.9.0.3"]; !slices.Equal(s.Techniques, []string{"sctp_cookie_echo_scan"}) || !slices.Contains(s.Reasons, "stealth_targets") {
		t.Errorf("COOKIE ECHOs: %v reasons %v", s.Techniques, s.Reasons)
	}
	if _, ok := an.Detail(ip("10.9.0.4")); !ok {
		t.Error("the DATA sender is unknown")
	} else if d := mustDetail(t, an, "10.9.0.4"); d.Probes != 0 {
		t.Errorf("a DATA chunk made %d probes", d.Probes)
	}
}

// TestTargetSize: a target is 64 bytes, one cache line, which the cache
// behaviour of Add assumes; a field added without finding room in the
// padding makes it 72, which costs every capture 4 % of its CPU time (and
// a lookup two lines).
func TestTargetSize(t *testing.T) {
	if n := unsafe.Sizeof(target{}); n != 64 {
		t.Errorf("target is %d bytes, want 64", n)
	}
}
