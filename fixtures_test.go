package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// tsharkFields are the fields each cached line holds, tab-separated, one
// line per frame.
var tsharkFields = []string{"frame.number", "frame.protocols", "tcp.flags.syn", "tcp.flags.ack"}

// TestFixturesAgainstTshark checks the generator's own truth files against
// tshark, a reader nobody here wrote, so a bug shared by our generator and
// our reader cannot hide. It reads tshark's output from
// testdata/tshark/<fixture>.tsv (cachedTshark): one run per fixture.
// `go test . -run TestFixturesAgainstTshark -update` runs tshark again
// (CI installs it) and rewrites the cache.
func TestFixturesAgainstTshark(t *testing.T) {
	truths, _ := filepath.Glob("fixtures/*.truth.json")
	if len(truths) == 0 {
		t.Fatal("no fixtures/*.truth.json")
	}
	for _, tf := range truths {
		capture := strings.TrimSuffix(tf, ".truth.json")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			b, err := os.ReadFile(tf)
			if err != nil {
				t.Fatal(err)
			}
			var want fixtureTruth
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			args := []string{"-n", "-r", "<path>", "-T", "fields"}
			for _, f := range tsharkFields {
				args = append(args, "-e", f)
			}
			body := cachedTshark(t, filepath.Base(capture)+".tsv", capture, args...)
			got, err := countTsharkFrames(body)
			if err != nil {
				t.Fatalf("tshark's output for %s: %v", capture, err)
			}
			checks := []struct {
				name      string
				got, want int
			}{
				{"packets (+ custom blocks)", got.Packets, want.Packets + want.CustomBlocks},
				{"tcp", got.TCP, want.TCP},
				{"syn_only", got.SynOnly, want.SynOnly},
				{"udp", got.UDP, want.UDP},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("tshark counts %d, truth file says %s = %d", c.got, c.name, c.want)
				}
			}
		})
	}
}

// countTsharkFrames counts tshark's frames (fields tsharkFields, one
// frame a line) the way these display filters would select them:
//
//	packets   (every frame)
//	tcp       tcp && !icmp && !icmpv6
//	syn_only  tcp.flags.syn == 1 && tcp.flags.ack == 0 && !icmp && !icmpv6
//	udp       udp && !icmp && !icmpv6
//
// tshark's tcp and udp also match headers quoted inside ICMP errors; the
// truth files count the outer transport only. A field that occurs more
// than once is comma-separated, and == matches any occurrence, as in a
// display filter.
func countTsharkFrames(body string) (fixtureTruth, error) {
	var c fixtureTruth
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != len(tsharkFields) {
			return c, fmt.Errorf("line %q: %d fields, want %d", sc.Text(), len(f), len(tsharkFields))
		}
		c.Packets++
		protos := strings.Split(f[1], ":")
		if slices.Contains(protos, "icmp") || slices.Contains(protos, "icmpv6") {
			continue
		}
		if slices.Contains(protos, "tcp") {
			c.TCP++
			if anyFlag(f[2], true) && anyFlag(f[3], false) {
				c.SynOnly++
			}
		}
		if slices.Contains(protos, "udp") {
			c.UDP++
		}
	}
	return c, sc.Err()
}

// anyFlag reports whether one of a boolean field's comma-separated values
// is want (tshark prints 1/0, or True/False in later versions).
func anyFlag(values string, want bool) bool {
	for _, v := range strings.Split(values, ",") {
		switch v {
		case "1", "True":
			if want {
				return true
			}
		case "0", "False":
			if !want {
				return true
			}
		}
	}
	return false
}
