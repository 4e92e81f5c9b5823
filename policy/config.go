package policy

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variable names (contract §2). Secrets come only from the
// environment, never from flags, because flags are visible in ps.
const (
	EnvToken        = "PORT_HUNTER_TOKEN"
	EnvRequireToken = "PORT_HUNTER_REQUIRE_TOKEN"
	EnvAllowedDir   = "PORT_HUNTER_ALLOWED_DIR"
	EnvMaxPcapMB    = "PORT_HUNTER_MAX_PCAP_MB"
	EnvAllowPrivate = "PORT_HUNTER_ALLOW_PRIVATE"
	EnvIntelDir     = "PORT_HUNTER_INTEL_DIR"
	EnvOnline       = "PORT_HUNTER_ONLINE"
	EnvOTXKey       = "PORT_HUNTER_OTX_KEY"
	EnvGreyNoiseKey = "PORT_HUNTER_GREYNOISE_KEY"

	// Extensions beyond the contract's table: the resource bounds.
	EnvMaxAnalyses  = "PORT_HUNTER_MAX_ANALYSES"   // captures analysed at once
	EnvCallTimeoutS = "PORT_HUNTER_CALL_TIMEOUT_S" // seconds one tool call may take
	EnvMemoryMB     = "PORT_HUNTER_MEMORY_MB"      // memory budget of the analyses, MiB

	// Extensions for rotated sets and evidence (issue 20).
	EnvEvidenceDir = "PORT_HUNTER_EVIDENCE_DIR"  // where carve also writes its pcapng files
	EnvMaxSetFiles = "PORT_HUNTER_MAX_SET_FILES" // files one call may read as one capture
	EnvMaxPackets  = "PORT_HUNTER_MAX_PACKETS"   // records one call may read, over all its files
)

// Defaults (contract §2) and limits that have no environment variable.
const (
	// DefaultToken is the documented development token; running with it
	// makes main print a warning once.
	DefaultToken = "TEST_TOKEN"
	// DefaultAllowedDir is the working directory.
	DefaultAllowedDir = "."
	// DefaultMaxPcapMB is the largest capture accepted, in MiB.
	DefaultMaxPcapMB = 50
	// MaxPcapMBLimit bounds PORT_HUNTER_MAX_PCAP_MB (1 TiB). It keeps
	// MiB→bytes far from int64 overflow; a larger value is refused, not
	// clamped, so a typo is reported instead of silently changed.
	MaxPcapMBLimit = 1 << 20
	// DefaultMaxConcurrentAnalyses bounds captures read at once: the
	// target hosts have two cores and each analysis is CPU-bound.
	DefaultMaxConcurrentAnalyses = 2
	// DefaultCallTimeout bounds one tool call, so a pathological capture
	// cannot hold a worker forever.
	DefaultCallTimeout = 300 * time.Second
	// DefaultMemoryBudgetBytes is the memory all analyses may share (1 GiB).
	DefaultMemoryBudgetBytes = 1 << 30
	// MaxAnalysesLimit bounds PORT_HUNTER_MAX_ANALYSES: more parallel
	// readers than this only compete for the same cores and memory.
	MaxAnalysesLimit = 64
	// MaxCallTimeoutS bounds PORT_HUNTER_CALL_TIMEOUT_S (a day).
	MaxCallTimeoutS = 86400
	// DefaultMaxSetFiles bounds the files of a rotated set read as one
	// capture: a day of hourly rotation is 24, a dumpcap ring rarely
	// passes a few dozen, and each file costs an open descriptor for the
	// whole call.
	DefaultMaxSetFiles = 64
	// MaxSetFilesLimit bounds PORT_HUNTER_MAX_SET_FILES, far below the
	// descriptors a process may hold.
	MaxSetFilesLimit = 1024
	// DefaultMaxPackets bounds the records one call reads, a set's files
	// together: far above what the default size limit can hold (50 MiB
	// of 16-byte records, or 1 GiB once decompressed, is under 70
	// million), so it binds only when PORT_HUNTER_MAX_PCAP_MB is raised.
	DefaultMaxPackets = 100_000_000
	// MaxPacketsLimit bounds PORT_HUNTER_MAX_PACKETS (2^40, a file of
	// 16 TiB of the smallest records).
	MaxPacketsLimit = 1 << 40
)

// Config is the server configuration read from the environment.
type Config struct {
	Token          string // expected auth_token; never logged
	TokenIsDefault bool   // Token equals DefaultToken (main warns once)
	RequireToken   bool   // every tool call must carry the right auth_token

	AllowedDir   string // root that captures and intel files are read from
	MaxPcapBytes int64  // largest capture accepted, in bytes
	AllowPrivate bool   // enrich private and special addresses too

	IntelDir     string // offline intel directory; "" when unset
	Online       bool   // online intel providers may be asked
	OTXKey       string // never logged
	GreyNoiseKey string // never logged

	MaxConcurrentAnalyses int           // captures analysed at the same time
	CallTimeout           time.Duration // upper bound for one tool call
	MemoryBudgetBytes     int64         // memory shared by all analyses

	EvidenceDir string // where carve writes its files too; "" when unset (memory only)
	MaxSetFiles int    // files one call may read as one capture
	MaxPackets  int64  // records one call may read, all its files together

	// HomeNets is PORT_HUNTER_HOME_NETS as given, checked by LoadConfig
	// (Config stays comparable); "" when unset: the engine's defaults.
	// Home parses it.
	HomeNets      string
	KnownScanners string // PORT_HUNTER_KNOWN_SCANNERS: the allow-list file; "" when unset
	Darknets      string // PORT_HUNTER_DARKNETS as given, checked by LoadConfig; DarknetNets parses it
}

// LoadConfig reads the configuration through getenv (os.Getenv in main, a
// map in tests). An empty value counts as unset. Every error wraps ErrConfig
// and names the variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Token:                 getenv(EnvToken),
		AllowedDir:            getenv(EnvAllowedDir),
		IntelDir:              getenv(EnvIntelDir),
		OTXKey:                getenv(EnvOTXKey),
		GreyNoiseKey:          getenv(EnvGreyNoiseKey),
		MaxConcurrentAnalyses: DefaultMaxConcurrentAnalyses,
		CallTimeout:           DefaultCallTimeout,
		MemoryBudgetBytes:     DefaultMemoryBudgetBytes,
		EvidenceDir:           getenv(EnvEvidenceDir),
		KnownScanners:         strings.TrimSpace(getenv(EnvKnownScanners)),
	}
	if c.Token == "" {
		c.Token = DefaultToken
	}
	c.TokenIsDefault = c.Token == DefaultToken
	if c.AllowedDir == "" {
		c.AllowedDir = DefaultAllowedDir
	}

	var err error
	if c.RequireToken, err = envBool(getenv, EnvRequireToken, true); err != nil {
		return Config{}, err
	}
	if c.AllowPrivate, err = envBool(getenv, EnvAllowPrivate, false); err != nil {
		return Config{}, err
	}
	if c.Online, err = envBool(getenv, EnvOnline, false); err != nil {
		return Config{}, err
	}
	mb, err := envMiB(getenv, EnvMaxPcapMB, DefaultMaxPcapMB)
	if err != nil {
		return Config{}, err
	}
	c.MaxPcapBytes = mb << 20
	n, err := envInt(getenv, EnvMaxAnalyses, DefaultMaxConcurrentAnalyses, 1, MaxAnalysesLimit)
	if err != nil {
		return Config{}, err
	}
	c.MaxConcurrentAnalyses = int(n)
	if n, err = envInt(getenv, EnvCallTimeoutS, int64(DefaultCallTimeout/time.Second), 1, MaxCallTimeoutS); err != nil {
		return Config{}, err
	}
	c.CallTimeout = time.Duration(n) * time.Second
	if n, err = envInt(getenv, EnvMemoryMB, DefaultMemoryBudgetBytes>>20, 16, MaxPcapMBLimit); err != nil {
		return Config{}, err
	}
	c.MemoryBudgetBytes = n << 20
	if n, err = envInt(getenv, EnvMaxSetFiles, DefaultMaxSetFiles, 1, MaxSetFilesLimit); err != nil {
		return Config{}, err
	}
	c.MaxSetFiles = int(n)
	if c.MaxPackets, err = envInt(getenv, EnvMaxPackets, DefaultMaxPackets, 1, MaxPacketsLimit); err != nil {
		return Config{}, err
	}
	c.HomeNets = strings.TrimSpace(getenv(EnvHomeNets))
	if _, err = ParsePrefixes(c.HomeNets); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, EnvHomeNets, err)
	}
	c.Darknets = strings.TrimSpace(getenv(EnvDarknets))
	if _, err = ParsePrefixes(c.Darknets); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, EnvDarknets, err)
	}
	return c, nil
}

// Home is the home networks of PORT_HUNTER_HOME_NETS; nil when unset.
func (c Config) Home() []netip.Prefix {
	nets, _ := ParsePrefixes(c.HomeNets) // checked by LoadConfig
	return nets
}

// DarknetNets is the darknets of PORT_HUNTER_DARKNETS; nil when unset.
func (c Config) DarknetNets() []netip.Prefix {
	nets, _ := ParsePrefixes(c.Darknets) // checked by LoadConfig
	return nets
}

// AllowedDirIsRoot reports whether the allowed directory is the file
// system's root, as written or once its symbolic links are resolved: a
// sandbox there confines nothing, so main warns at start. A directory that
// cannot be resolved is not the root (opening it fails later, and says so).
func (c Config) AllowedDirIsRoot() bool {
	abs, err := filepath.Abs(c.AllowedDir)
	if err != nil {
		return false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return filepath.Dir(abs) == abs // "/", or a volume's root on Windows
}

// envInt parses a whole number in [lo, hi].
func envInt(getenv func(string) string, name string, def, lo, hi int64) (int64, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s=%q is not a whole number between %d and %d", ErrConfig, name, v, lo, hi)
	}
	return n, nil
}

// envBool parses true/false/1/0/yes/no in any case (contract §2).
func envBool(getenv func(string) string, name string, def bool) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s=%q is not a boolean (true/false/1/0/yes/no)", ErrConfig, name, v)
}

// envMiB parses a positive whole number of MiB no larger than MaxPcapMBLimit.
func envMiB(getenv func(string) string, name string, def int64) (int64, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > MaxPcapMBLimit {
		return 0, fmt.Errorf("%w: %s=%q is not a whole number of MiB between 1 and %d", ErrConfig, name, v, MaxPcapMBLimit)
	}
	return n, nil
}

// String describes c on one line for the startup log. Secrets appear only
// as "set" or "unset" (the token as "default" or "set").
func (c Config) String() string {
	token := "set"
	if c.TokenIsDefault {
		token = "default"
	}
	intel := "unset"
	if c.IntelDir != "" {
		intel = strconv.Quote(c.IntelDir)
	}
	evidence := "unset"
	if c.EvidenceDir != "" {
		evidence = strconv.Quote(c.EvidenceDir)
	}
	home := "default"
	if nets := c.Home(); len(nets) > 0 {
		home = strconv.Itoa(len(nets))
	}
	known := "unset"
	if c.KnownScanners != "" {
		known = strconv.Quote(c.KnownScanners)
	}
	return fmt.Sprintf("token=%s require_token=%t allowed_dir=%q max_pcap_mb=%d allow_private=%t intel_dir=%s online=%t otx_key=%s greynoise_key=%s max_concurrent_analyses=%d call_timeout=%s memory_budget_mb=%d evidence_dir=%s max_set_files=%d max_packets=%d home_nets=%s known_scanners=%s darknets=%d",
		token, c.RequireToken, c.AllowedDir, c.MaxPcapBytes>>20, c.AllowPrivate,
		intel, c.Online, setOrUnset(c.OTXKey), setOrUnset(c.GreyNoiseKey),
		c.MaxConcurrentAnalyses, c.CallTimeout, c.MemoryBudgetBytes>>20, evidence, c.MaxSetFiles, c.MaxPackets, home, known, len(c.DarknetNets()))
}

func setOrUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}
