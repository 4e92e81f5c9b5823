package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"porthunter/internal/race"
	"porthunter/pcapng"
	"porthunter/scan"
)

// TestReadCaptureWorkers reads every fixture through readCaptures on one
// goroutine and with 2, 3 and 4 aggregating workers (3 under the race
// detector), and checks that the
// tools' answers (capture report, overview, suspects, first event, and the
// detail of every suspect) are byte-identical. scan's
// TestParallelEqualsSequential covers every address and generated traffic.
func TestReadCaptureWorkers(t *testing.T) {
	files, _ := filepath.Glob("../fixtures/*.pcap*")
	lab, _ := filepath.Glob("../fixtures/lab/*.pcap*")
	frag, _ := filepath.Glob("../fixtures/lab/frag/*.pcap*")
	files = append(append(files, lab...), frag...)
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, path := range files {
		if strings.HasSuffix(path, ".json") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			var want []byte
			workers := []int{1, 2, 3, 4}
			if race.Enabled {
				// One parallel run: three workers share the four shards
				// unevenly. .ci/run runs them all without the detector.
				workers = []int{1, 3}
			}
			for _, workers := range workers {
				got := readAnswers(t, path, workers)
				if want == nil {
					want = got
				} else if !bytes.Equal(got, want) {
					t.Errorf("answers with %d workers differ from one:\n%s\nwant\n%s", workers, got, want)
				}
			}
		})
	}
}

// readAnswers reads path with the given number of workers and renders the
// answers of the capture tools as JSON, made as package main's
// overviewView and suspectsView make them.
func readAnswers(t *testing.T, path string, workers int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sc := scan.DefaultConfig()
	sc.Workers = workers
	res, err := readCaptures(context.Background(), []captureInput{{r: f, size: fi.Size()}}, pcapng.DefaultLimits(), sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	th := scan.DefaultThresholds()
	sus := res.Analysis.Suspects(th)
	if sus == nil {
		sus = []scan.Suspect{}
	}
	ov := res.Analysis.Overview(th, 60, 50)
	ov.File, ov.Capture = path, res.Report
	out := map[string]any{
		"overview": ov,
		"suspects": sus,
		"first":    res.Analysis.FirstEvent(th),
	}
	var details []any
	for _, s := range sus {
		d, _ := res.Analysis.Detail(s.IP)
		details = append(details, d)
	}
	out["details"] = details
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
