//go:build harness

package capture

import (
	"context"
	"os"
	"runtime"
	"testing"

	"porthunter/pcapng"
	"porthunter/scan"
)

// TestProfileCapture reads PORTHUNTER_PROFILE_FILE once (for go test
// -cpuprofile/-memprofile); skipped otherwise. The test runs in capture/,
// so a relative path starts there.
func TestProfileCapture(t *testing.T) {
	path := os.Getenv("PORTHUNTER_PROFILE_FILE")
	if path == "" {
		t.Skip("PORTHUNTER_PROFILE_FILE not set")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	sc := scan.DefaultConfig()
	sc.Workers = runtime.GOMAXPROCS(0)
	res, err := readCaptures(context.Background(), []captureInput{{r: f, size: fi.Size()}}, pcapng.DefaultLimits(), sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d packets, %d suspects", res.Analysis.Capture().TotalPackets, len(res.Analysis.Suspects(scan.DefaultThresholds())))
}
