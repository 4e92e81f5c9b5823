package pcapng

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tsharkSample is what TestWriterTshark writes: link types Wireshark
// knows, µs and ns interfaces, every padding, a packet cut to its
// snaplen, the largest packet, and timestamps from 1970 to 2262.
func tsharkSample() []writtenRec {
	ifaces := []InterfaceInfo{
		{ID: 0, LinkType: LinkEthernet, SnapLen: MaxCapLen, TSResolDigits: 6, Name: "eth0"},
		{ID: 1, LinkType: LinkRaw, SnapLen: 65535, TSResolDigits: 9, Name: "tun0"},
		{ID: 2, LinkType: LinkSLL, SnapLen: 64, TSResolDigits: 9},
		{Section: 1, ID: 0, LinkType: LinkIPv4, SnapLen: 1500, TSResolDigits: 3, Name: "ipv4 only"},
	}
	var recs []writtenRec
	add := func(in InterfaceInfo, ts int64, data []byte, orig int) {
		recs = append(recs, writtenRec{in, Record{Interface: in.ID, LinkType: in.LinkType, Timestamp: ts, Data: data, CapLen: len(data), OrigLen: orig}})
	}
	frame := benchFrame(0)
	sll := append([]byte{0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00}, frame[14:]...)
	add(ifaces[0], 1773480413_589793_000, frame, len(frame))
	for n := 1; n <= 8; n++ { // every padding, on raw IP
		add(ifaces[1], 1773480413_589793_000+int64(n), frame[14:][:20+n], 20+n)
	}
	add(ifaces[2], 1, sll[:64], 1500) // cut to the snaplen
	add(ifaces[3], 0, frame[14:], 1500)
	add(ifaces[0], 1<<62/1000*1000, bytes.Repeat([]byte{0xa5}, MaxCapLen), MaxCapLen)
	// Wireshark shows an original length above 2^31-1 as 2^31-1; the
	// package's reader reads up to 2^32-1 back (TestWriterRoundTrip).
	add(ifaces[1], math.MaxInt64-1, frame[14:], math.MaxInt32)
	return recs
}

// TestWriterTshark has tshark and capinfos, readers nobody here wrote,
// read a written file: each packet's time to the nanosecond, lengths,
// interface and bytes, each interface's link type, snaplen, name and
// resolution, and no complaint. tshark names an interface without
// if_name "unknown". tshark's answer is cached (cachedTshark: testdata/
// tshark/written.pcapng.json, made under -update); capinfos runs when
// installed.
func TestWriterTshark(t *testing.T) {
	recs := tsharkSample()
	path := filepath.Join(t.TempDir(), "written.pcapng")
	if err := os.WriteFile(path, writeAll(t, recs), 0o644); err != nil {
		t.Fatal(err)
	}
	// capinfos, from the same package as tshark, runs beside it.
	capinfos, _ := exec.LookPath("capinfos")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if capinfos != "" {
			checkCapinfos(t, capinfos, path, recs)
		}
	}()
	defer func() { <-done }()

	out := []byte(cachedTshark(t, "written.pcapng.json", path, "-n", "-r", "<path>", "-T", "json", "-x"))
	var pkts []struct {
		Source struct {
			Layers struct {
				FrameRaw []any `json:"frame_raw"`
				Frame    struct {
					InterfaceID string `json:"frame.interface_id"`
					IDTree      struct {
						Name string `json:"frame.interface_name"`
					} `json:"frame.interface_id_tree"`
					TimeEpoch string `json:"frame.time_epoch"`
					Len       string `json:"frame.len"`
					CapLen    string `json:"frame.cap_len"`
				} `json:"frame"`
			} `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		t.Fatalf("tshark -T json: %v", err)
	}
	if len(pkts) != len(recs) {
		t.Fatalf("tshark reads %d packets, %d written", len(pkts), len(recs))
	}
	ids := map[ifaceKey]int{}
	for i, p := range pkts {
		w := recs[i]
		key := ifaceKey{w.in.Section, w.in.ID}
		if _, ok := ids[key]; !ok {
			ids[key] = len(ids)
		}
		f := p.Source.Layers.Frame
		wantTime := fmt.Sprintf("%d.%09d", w.rec.Timestamp/1e9, w.rec.Timestamp%1e9)
		raw := ""
		if len(p.Source.Layers.FrameRaw) > 0 {
			raw, _ = p.Source.Layers.FrameRaw[0].(string)
		}
		switch {
		case f.TimeEpoch != wantTime:
			t.Errorf("packet %d: tshark time %s, wrote %s", i+1, f.TimeEpoch, wantTime)
		case f.Len != strconv.Itoa(w.rec.OrigLen) || f.CapLen != strconv.Itoa(len(w.rec.Data)):
			t.Errorf("packet %d: tshark lengths %s/%s, wrote %d/%d", i+1, f.CapLen, f.Len, len(w.rec.Data), w.rec.OrigLen)
		case f.InterfaceID != strconv.Itoa(ids[key]) || f.IDTree.Name != w.in.Name && !(w.in.Name == "" && f.IDTree.Name == "unknown"):
			t.Errorf("packet %d: tshark interface %s %q, want %d %q", i+1, f.InterfaceID, f.IDTree.Name, ids[key], w.in.Name)
		case raw != hex.EncodeToString(w.rec.Data):
			t.Errorf("packet %d: tshark bytes differ from the %d written", i+1, len(w.rec.Data))
		}
	}
}

// checkCapinfos has capinfos describe path's interfaces: those of recs in
// the order of their first packet, with their link type, snaplen, name,
// resolution and packet count. It runs on its own goroutine, so it
// reports with t.Errorf only.
func checkCapinfos(t *testing.T, capinfos, path string, recs []writtenRec) {
	cmd := exec.Command(capinfos, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("capinfos: %v (%s)", err, stderr.String())
		return
	}
	checkToolStderr(t, "capinfos", stderr.String())
	// Wireshark's names for the link types written (wtap encapsulations).
	encap := map[LinkType]string{LinkEthernet: "ether", LinkRaw: "rawip", LinkSLL: "linux-sll", LinkIPv4: "rawip4"}
	var ifaces []InterfaceInfo
	count := map[ifaceKey]int{}
	for _, r := range recs {
		key := ifaceKey{r.in.Section, r.in.ID}
		if count[key] == 0 {
			ifaces = append(ifaces, r.in)
		}
		count[key]++
	}
	blocks := regexp.MustCompile(`(?m)^Interface #\d+ info:\n`).Split(string(out), -1)[1:]
	if len(blocks) != len(ifaces) {
		t.Errorf("capinfos lists %d interfaces, %d written:\n%s", len(blocks), len(ifaces), out)
		return
	}
	for i, b := range blocks {
		in := ifaces[i]
		precision := "microseconds (6)"
		if wantPrecision(in) == 9 {
			precision = "nanoseconds (9)"
		}
		want := []string{
			fmt.Sprintf(" - %s)\n", encap[in.LinkType]),
			fmt.Sprintf("Capture length = %d\n", in.SnapLen),
			fmt.Sprintf("Time precision = %s\n", precision),
			fmt.Sprintf("Number of packets = %d\n", count[ifaceKey{in.Section, in.ID}]),
		}
		if in.Name != "" {
			want = append(want, fmt.Sprintf("Name = %s\n", in.Name))
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				t.Errorf("capinfos interface %d: no %q in\n%s", i, w, b)
			}
		}
	}
}

// checkToolStderr: a Wireshark tool says nothing on stderr but its
// warning about running as root.
func checkToolStderr(t *testing.T, tool, stderr string) {
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line != "" && !strings.HasPrefix(line, "Running as user") {
			t.Errorf("%s: %s", tool, line)
		}
	}
}
