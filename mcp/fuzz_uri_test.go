package mcp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseURI: resource URIs come from the client. Whatever the bytes,
// parseURI returns without panicking, and what it accepts is bounded and
// clean: a known kind, a path of 1 to 4096 bytes of UTF-8 without NUL, a
// valid evidence id; and the URI the server writes for an accepted path
// reads back to the same path.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"porthunter://capture/demo.pcapng/overview",
		"porthunter://capture/sensor1%2Fcap.pcap1/report",
		"porthunter://capture/sensor1/cap.pcap1/report",
		"porthunter://capture/demo.pcapng/scanner/203.0.113.66",
		"porthunter://capture/demo.pcapng/scanner/2001%3Adb8%3A%3A1",
		"porthunter://capture/a/scanner/1.2.3.4/overview",
		"porthunter://capture/..%2F..%2Fetc%2Fpasswd/overview",
		"porthunter://capture/%00/overview",
		"porthunter://capture/%zz/overview",
		"porthunter://capture//overview",
		"porthunter://evidence/0123456789abcdef0123456789abcdef/carve-1.pcapng",
		"porthunter://evidence/0123456789ABCDEF0123456789abcdef/x",
		"porthunter://evidence/x/y/z",
		"file:///etc/passwd",
		"porthunter://capture/x/overview?q=1#f",
		strings.Repeat("%41", 3000),
		"porthunter://capture/" + strings.Repeat("a/", 2100) + "overview",
		"\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseURI(s)
		if err != nil {
			if u != (resourceURI{}) {
				t.Fatalf("parseURI(%q) = %+v with error %v", s, u, err)
			}
			return
		}
		switch u.kind {
		case "evidence":
			if !validEvidenceID(u.id) || u.name == "" || !utf8.ValidString(u.name) || strings.IndexByte(u.name, 0) >= 0 {
				t.Fatalf("parseURI(%q) = %+v", s, u)
			}
			return
		case "overview", "report", "scanner":
		default:
			t.Fatalf("parseURI(%q): kind %q", s, u.kind)
		}
		if u.path == "" || len(u.path) > maxPathLen || !utf8.ValidString(u.path) || strings.IndexByte(u.path, 0) >= 0 {
			t.Fatalf("parseURI(%q): path %q", s, u.path)
		}
		if u.kind == "scanner" && !u.ip.IsValid() {
			t.Fatalf("parseURI(%q): no address", s)
		}
		what := u.kind
		if what == "scanner" {
			what = "scanner/" + uriEscape(u.ip.String())
		}
		back, err := parseURI(captureURI(u.path, what))
		if err != nil || back != u {
			t.Fatalf("parseURI(%q) = %+v; its canonical URI reads back as %+v, %v", s, u, back, err)
		}
	})
}

// FuzzGlobPattern: glob patterns come from the client; they are refused
// or matched within the bounds, never panic, and never name a file
// outside the allowed directory.
func FuzzGlobPattern(f *testing.F) {
	for _, s := range []string{"*", "*.pcap", "h.pcap*", "../*", "/etc/*", "a/[", "[]a]", "\\*", strings.Repeat("*a", 128), "sub/*/x", "\x00*"} {
		f.Add(s)
	}
	s, _, _ := setDir(f, nil)
	f.Fuzz(func(t *testing.T, pattern string) {
		req, err := s.request(Source{Glob: pattern})
		if err != nil {
			return
		}
		for _, p := range req.Paths {
			if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") {
				t.Fatalf("glob %q selected %q", pattern, p)
			}
		}
	})
}
