package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixtureTruth is the part of a fixtures/*.truth.json file that Wireshark
// can confirm independently.
type fixtureTruth struct {
	Packets      int `json:"packets"`
	CustomBlocks int `json:"custom_blocks"` // Wireshark lists each custom block as a frame
	TCP          int `json:"tcp"`
	SynOnly      int `json:"syn_only"`
	UDP          int `json:"udp"`
}

// TestFixturesAgainstTshark checks the generator's own truth files against
// tshark, a reader nobody here wrote, so a bug shared by our generator and
// our reader cannot hide. Skipped when tshark is not installed (CI installs
// it).
func TestFixturesAgainstTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: fixture truth not cross-checked")
	}
	truths, _ := filepath.Glob("fixtures/*.truth.json")
	if len(truths) == 0 {
		t.Fatal("no fixtures/*.truth.json")
	}
	for _, tf := range truths {
		capture := strings.TrimSuffix(tf, ".truth.json")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(tf)
			if err != nil {
				t.Fatal(err)
			}
			var want fixtureTruth
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			count := func(filter string) int {
				args := []string{"-n", "-r", capture, "-T", "fields", "-e", "frame.number"}
				if filter != "" {
					args = append(args, "-Y", filter)
				}
				out, err := exec.Command(tshark, args...).Output()
				if err != nil {
					t.Fatalf("tshark %v: %v", args, err)
				}
				s := strings.TrimSpace(string(out))
				if s == "" {
					return 0
				}
				return len(strings.Split(s, "\n"))
			}
			checks := []struct {
				name   string
				filter string
				want   int
			}{
				{"packets (+ custom blocks)", "", want.Packets + want.CustomBlocks},
				// tshark's tcp and udp also match headers quoted inside ICMP
				// errors; the truth files count the outer transport only.
				{"tcp", "tcp && !icmp && !icmpv6", want.TCP},
				{"syn_only", "tcp.flags.syn == 1 && tcp.flags.ack == 0 && !icmp && !icmpv6", want.SynOnly},
				{"udp", "udp && !icmp && !icmpv6", want.UDP},
			}
			for _, c := range checks {
				if got := count(c.filter); got != c.want {
					t.Errorf("tshark %q counts %d, truth file says %s = %s", c.filter, got, c.name, strconv.Itoa(c.want))
				}
			}
		})
	}
}
