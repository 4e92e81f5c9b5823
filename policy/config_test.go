package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := LoadConfig(mapEnv(nil))
	if err != nil {
		t.Fatalf("LoadConfig(empty) = %v", err)
	}
	want := Config{
		Token: "TEST_TOKEN", TokenIsDefault: true, RequireToken: true,
		AllowedDir: ".", MaxPcapBytes: 50 * 1024 * 1024,
		MaxConcurrentAnalyses: 2, CallTimeout: 300 * time.Second, MemoryBudgetBytes: 1024 * 1024 * 1024,
		MaxSetFiles: 64, MaxPackets: 100_000_000,
	}
	if got != want {
		t.Errorf("LoadConfig(empty) = %+v, want %+v", got, want)
	}
}

func TestLoadConfigEveryVariable(t *testing.T) {
	got, err := LoadConfig(mapEnv(map[string]string{
		"PORT_HUNTER_TOKEN":          "s3cret-tok",
		"PORT_HUNTER_REQUIRE_TOKEN":  "No",
		"PORT_HUNTER_ALLOWED_DIR":    "/data",
		"PORT_HUNTER_MAX_PCAP_MB":    "7",
		"PORT_HUNTER_ALLOW_PRIVATE":  "YES",
		"PORT_HUNTER_INTEL_DIR":      "intel",
		"PORT_HUNTER_ONLINE":         "1",
		"PORT_HUNTER_OTX_KEY":        "otx-key-123",
		"PORT_HUNTER_GREYNOISE_KEY":  "gn-key-456",
		"PORT_HUNTER_EVIDENCE_DIR":   "/evidence",
		"PORT_HUNTER_MAX_SET_FILES":  "12",
		"PORT_HUNTER_MAX_PACKETS":    "5000",
		"PORT_HUNTER_UNRELATED_NAME": "ignored",
	}))
	if err != nil {
		t.Fatalf("LoadConfig = %v", err)
	}
	want := Config{
		Token: "s3cret-tok", RequireToken: false,
		AllowedDir: "/data", MaxPcapBytes: 7 << 20, AllowPrivate: true,
		IntelDir: "intel", Online: true, OTXKey: "otx-key-123", GreyNoiseKey: "gn-key-456",
		MaxConcurrentAnalyses: 2, CallTimeout: 300 * time.Second, MemoryBudgetBytes: 1 << 30,
		EvidenceDir: "/evidence", MaxSetFiles: 12, MaxPackets: 5000,
	}
	if got != want {
		t.Errorf("LoadConfig = %+v, want %+v", got, want)
	}
}

func TestLoadConfigBooleans(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"true", true}, {"TRUE", true}, {"True", true}, {"1", true}, {"yes", true}, {"Yes", true},
		{"false", false}, {"FALSE", false}, {"0", false}, {"no", false}, {"NO", false}, {" true ", true},
	} {
		for _, name := range []string{EnvRequireToken, EnvAllowPrivate, EnvOnline} {
			c, err := LoadConfig(mapEnv(map[string]string{name: tc.v}))
			if err != nil {
				t.Fatalf("LoadConfig(%s=%q) = %v", name, tc.v, err)
			}
			got := map[string]bool{EnvRequireToken: c.RequireToken, EnvAllowPrivate: c.AllowPrivate, EnvOnline: c.Online}[name]
			if got != tc.want {
				t.Errorf("LoadConfig(%s=%q) = %t, want %t", name, tc.v, got, tc.want)
			}
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{EnvRequireToken, "maybe"},
		{EnvRequireToken, "t"},
		{EnvAllowPrivate, "on"},
		{EnvOnline, "2"},
		{EnvMaxPcapMB, "abc"},
		{EnvMaxPcapMB, "0"},
		{EnvMaxPcapMB, "-5"},
		{EnvMaxPcapMB, "1.5"},
		{EnvMaxPcapMB, "50MB"},
		{EnvMaxPcapMB, "1048577"},             // MaxPcapMBLimit + 1
		{EnvMaxPcapMB, "9223372036854775807"}, // would overflow as bytes
		{EnvMaxPcapMB, "99999999999999999999"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := LoadConfig(mapEnv(map[string]string{tc.name: tc.value}))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("LoadConfig(%s=%q) = %v, want %v", tc.name, tc.value, err, ErrConfig)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("LoadConfig(%s=%q) error %q does not name the variable", tc.name, tc.value, err)
			}
		})
	}
	c, err := LoadConfig(mapEnv(map[string]string{EnvMaxPcapMB: "1048576"}))
	if err != nil || c.MaxPcapBytes != 1<<40 {
		t.Errorf("LoadConfig(%s=1048576) = %d, %v, want %d", EnvMaxPcapMB, c.MaxPcapBytes, err, int64(1)<<40)
	}
}

func TestTokenIsDefault(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  bool
	}{{"", true}, {"TEST_TOKEN", true}, {"test_token", false}, {"other", false}} {
		c, err := LoadConfig(mapEnv(map[string]string{EnvToken: tc.token}))
		if err != nil {
			t.Fatal(err)
		}
		if c.TokenIsDefault != tc.want {
			t.Errorf("LoadConfig(%s=%q).TokenIsDefault = %t, want %t", EnvToken, tc.token, c.TokenIsDefault, tc.want)
		}
	}
}

func TestConfigStringRedacts(t *testing.T) {
	secrets := map[string]string{
		EnvToken: "tok-Zq81", EnvOTXKey: "otx-Yh52", EnvGreyNoiseKey: "gn-Wp09",
		EnvAllowedDir: "/captures", EnvIntelDir: "/intel",
	}
	c, err := LoadConfig(mapEnv(secrets))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, name := range []string{EnvToken, EnvOTXKey, EnvGreyNoiseKey} {
		if strings.Contains(s, secrets[name]) {
			t.Errorf("Config.String() = %q contains the value of %s", s, name)
		}
	}
	for _, want := range []string{"token=set", "otx_key=set", "greynoise_key=set", `allowed_dir="/captures"`, `intel_dir="/intel"`} {
		if !strings.Contains(s, want) {
			t.Errorf("Config.String() = %q, want it to contain %q", s, want)
		}
	}
	if strings.Contains(s, "\n") {
		t.Errorf("Config.String() = %q spans several lines", s)
	}
}

func TestCheckToken(t *testing.T) {
	tests := []struct {
		name, want, got string
		ok              bool
	}{
		{"right", "s3cret", "s3cret", true},
		{"default right", "TEST_TOKEN", "TEST_TOKEN", true},
		{"wrong same length", "s3cret", "s3creT", false},
		{"empty", "s3cret", "", false},
		{"empty want and got", "", "", false},
		{"prefix", "s3cret", "s3c", false},
		{"longer", "s3cret", "s3cret-and-more", false},
		{"trailing space", "s3cret", "s3cret ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckToken(tc.want, tc.got)
			if tc.ok && err != nil {
				t.Errorf("CheckToken(%q, %q) = %v, want nil", tc.want, tc.got, err)
			}
			if !tc.ok && !errors.Is(err, ErrUnauthorized) {
				t.Errorf("CheckToken(%q, %q) = %v, want %v", tc.want, tc.got, err, ErrUnauthorized)
			}
		})
	}
}

func TestLoadConfigBounds(t *testing.T) {
	c, err := LoadConfig(mapEnv(map[string]string{EnvMaxAnalyses: "4", EnvCallTimeoutS: "30", EnvMemoryMB: "256"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConcurrentAnalyses != 4 || c.CallTimeout != 30*time.Second || c.MemoryBudgetBytes != 256<<20 {
		t.Errorf("got %d %s %d", c.MaxConcurrentAnalyses, c.CallTimeout, c.MemoryBudgetBytes)
	}
	for name, bad := range map[string]string{EnvMaxAnalyses: "0", EnvCallTimeoutS: "-1", EnvMemoryMB: "8",
		EnvMaxSetFiles: "0", EnvMaxPackets: "0", "PORT_HUNTER_MAX_SET_FILES ": "x"} {
		if strings.HasSuffix(name, " ") {
			name, bad = EnvMaxSetFiles, "100000"
		}
		if _, err := LoadConfig(mapEnv(map[string]string{name: bad})); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, bad, err)
		}
	}
}
