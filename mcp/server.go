package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/jsonrpc"
	"porthunter/policy"
	"porthunter/scan"
)

// Protocol revisions. Legacy ones are negotiated by initialize; the modern
// (stateless) one is named in every request's _meta.
const (
	latestLegacy  = "2025-11-25"
	modernVersion = "2026-07-28"

	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	metaClientCaps      = "io.modelcontextprotocol/clientCapabilities"
	metaServerInfo      = "io.modelcontextprotocol/serverInfo"
)

var legacyVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// Limits of the server loop.
const (
	// MaxInflightCalls bounds tool calls running at once, so a flood of
	// requests costs memory for 64 calls, not for every line queued in
	// the pipe. A call past it is refused at once (error busy) instead of
	// making the reader wait: a reader that waits cannot read the
	// cancellations that would free a slot. A slot is held until the
	// call's work has returned, not only until it is answered. As many
	// answers again may wait for stdout (see runCall).
	MaxInflightCalls = 64

	// shutdownGrace is how long a signal (SIGTERM, SIGINT) lets the
	// cancelled calls return before serve exits anyway: the stages stop
	// within 100 ms of a cancellation, and the process must be gone within
	// a second (MCP clients send SIGKILL 2 s after SIGTERM).
	shutdownGrace = 500 * time.Millisecond

	// ProgressInterval spaces progress notifications; progressQuiet is the
	// pause kept between the last one and the response, because SDK
	// clients dispatch notifications after responses and would otherwise
	// see a progress for a request they already closed.
	ProgressInterval = 100 * time.Millisecond
	progressQuiet    = 60 * time.Millisecond

	// listTTL is how long a modern client may cache tools/list and
	// server/discover: the tool table never changes while the process runs.
	listTTL = 3600_000
)

const instructions = "PortHunter reads PCAP/PCAPNG captures under the server's allowed directory and reports port scans: " +
	"list_captures finds the captures and rotated sets, scan_overview or list_suspects come next, then first_scan_event and " +
	"scanner_detail; enrich_ip and correlate say who the addresses are; report writes the incident summary with its frame " +
	"numbers and carve hands over an address's packets as pcapng. A rotated set is read as one capture (paths or glob), " +
	"and since/until restrict any analysis. Every tool call needs auth_token unless the server was started without it."

// server is one MCP session over one pair of streams.
type server struct {
	cfg   policy.Config
	w     *jsonrpc.Writer
	log   io.Writer
	z     *capture.Analyzer
	tools []*toolDef
	ver   string

	sb      *policy.Sandbox
	intelDB *intel.DB
	home    []netip.Prefix      // PORT_HUNTER_HOME_NETS; nil: the engine's defaults
	known   []scan.KnownScanner // PORT_HUNTER_KNOWN_SCANNERS
	dark    []netip.Prefix      // PORT_HUNTER_DARKNETS
	cats    catalogCache
	store   *evidenceStore
	evDir   *policy.EvidenceDir // nil unless PORT_HUNTER_EVIDENCE_DIR is set

	mu       sync.Mutex
	inflight map[string]*call // by the request id's JSON text
	stopping bool             // a signal came: no call starts any more
	slots    chan struct{}
	writing  chan struct{} // answers of returned calls waiting for stdout
	wg       sync.WaitGroup
	red      *redactor
}

// call is one running tools/call.
type call struct {
	id        json.RawMessage
	cancel    context.CancelFunc
	cancelled atomic.Bool
	progress  json.RawMessage // the progressToken, nil when none

	mu           sync.Mutex // orders progress notifications before the answer
	answered     bool       // no progress notification after this
	lastProgress time.Time
	lastValue    float64
}

// inMessage is one read of stdin: a request, a fault to answer, or the
// end of the input.
type inMessage struct {
	req   *jsonrpc.Request
	fault *jsonrpc.Fault
	err   error
}

// Serve runs the MCP server until stdin ends, then waits for the calls in
// flight so that every request read is answered (each finishes or reaches
// its time limit). When ctx ends (SIGTERM, SIGINT) it stops at once: the
// calls in flight are cancelled, nothing more is written, and it returns
// nil within shutdownGrace.
func Serve(ctx context.Context, cfg policy.Config, version string, stdin io.Reader, stdout, stderr io.Writer) error {
	s, err := newServer(cfg, version, stdout, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	return s.serve(ctx, stdin)
}

// serve is the session of serve over stdin, on a server already open.
func (s *server) serve(ctx context.Context, stdin io.Reader) error {
	cfg := s.cfg
	if cfg.RequireToken && cfg.TokenIsDefault {
		fmt.Fprintln(s.log, "porthunter: warning: PORT_HUNTER_TOKEN is the default TEST_TOKEN; set your own token")
	}
	if cfg.AllowedDirIsRoot() {
		fmt.Fprintln(s.log, "porthunter: warning: PORT_HUNTER_ALLOWED_DIR is the file system root: every file this user can read may be opened; set it to the captures' directory")
	}
	fmt.Fprintf(s.log, "porthunter %s: serving MCP on stdio; %s\n", s.ver, cfg)

	// stdin is read on its own goroutine so that a signal is seen while
	// a read blocks; the unbuffered channel keeps it one message ahead.
	msgs := make(chan inMessage)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		rd := jsonrpc.NewReader(stdin)
		for {
			req, fault, err := rd.Next()
			select {
			case msgs <- inMessage{req, fault, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	// The messages are served on a goroutine too: an answer written
	// inline blocks while the client does not read stdout, and a signal
	// must end the process then as well.
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		for {
			var m inMessage
			select {
			case <-ctx.Done():
				return
			case m = <-msgs:
			}
			if m.err != nil {
				if !errors.Is(m.err, io.EOF) {
					fmt.Fprintf(s.log, "porthunter: reading stdin: %v\n", m.err)
				}
				return
			}
			if m.fault != nil {
				s.w.Error(m.fault.ID, m.fault.Err)
				continue
			}
			s.dispatch(callCtx, m.req)
		}
	}()
	select {
	case <-eof:
	case <-ctx.Done():
		return s.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return s.shutdown()
	}
}

// shutdown ends the session on a signal: nothing more is written (the
// client asked the process to end, and a late answer could be half read),
// the calls in flight are cancelled (their contexts derive from serve's),
// and serve waits for them at most shutdownGrace.
func (s *server) shutdown() error {
	s.w.Close()
	s.mu.Lock()
	s.stopping = true // no call starts after this, so wg.Wait below is final
	n := len(s.inflight)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		fmt.Fprintf(s.log, "porthunter: stopped by a signal; %d calls in flight cancelled and not answered\n", n)
	case <-time.After(shutdownGrace):
		fmt.Fprintf(s.log, "porthunter: stopped by a signal; %d calls in flight cancelled and not answered, some still running after %v\n", n, shutdownGrace)
	}
	return nil
}

// newServer opens the sandbox and the intel database of cfg.
func newServer(cfg policy.Config, version string, stdout, stderr io.Writer) (*server, error) {
	sb, err := policy.NewSandbox(cfg.AllowedDir, cfg.MaxPcapBytes)
	if err != nil {
		return nil, err
	}
	var evDir *policy.EvidenceDir
	if cfg.EvidenceDir != "" {
		if evDir, err = policy.OpenEvidenceDir(cfg.AllowedDir, cfg.EvidenceDir); err != nil {
			sb.Close()
			return nil, err
		}
	}
	known, err := loadKnown(cfg, sb)
	if err != nil {
		sb.Close()
		if evDir != nil {
			evDir.Close()
		}
		return nil, err
	}
	db, err := openIntel(cfg, sb, stderr)
	if err != nil {
		sb.Close()
		if evDir != nil {
			evDir.Close()
		}
		return nil, err
	}
	red := newRedactor(cfg.Token, cfg.OTXKey, cfg.GreyNoiseKey)
	tools := toolTable()
	note := intelNote(db.Health())
	for _, t := range tools {
		if t.online { // enrich_ip and correlate: what they can answer depends on the intel
			t.description += note
		}
	}
	w := jsonrpc.NewWriter(stdout)
	w.SetRedact(red.str)
	log := &redactingWriter{w: stderr, r: red}
	return &server{
		cfg:      cfg,
		w:        w,
		log:      log,
		sb:       sb,
		z:        capture.NewAnalyzer(cfg, sb).LogTo(log),
		intelDB:  db,
		home:     cfg.Home(),
		known:    known,
		dark:     cfg.DarknetNets(),
		store:    newEvidenceStore(),
		evDir:    evDir,
		tools:    tools,
		ver:      version,
		inflight: make(map[string]*call),
		slots:    make(chan struct{}, MaxInflightCalls),
		writing:  make(chan struct{}, MaxInflightCalls),
		red:      red,
	}, nil
}

func (s *server) close() {
	s.sb.Close()
	if s.evDir != nil {
		s.evDir.Close()
	}
}

// openIntel opens the intel database: the offline directory through the
// sandbox (so it must lie inside the allowed directory), online providers
// only when enabled. What was loaded, refused over the memory budget, in
// error, ignored or stale is logged to stderr, one line per file, at start
// and at every reload. The first load runs before any request is read,
// bounded by the intel limits (memory budget, gzip ratio), not by a call's
// context.
//
// A directory that cannot be opened (missing, unreadable, outside the
// allowed directory) is one warning line, not a reason to stop: the
// server answers without offline intel, and every enrich_ip and correlate
// answer says so in its intel member.
func openIntel(cfg policy.Config, sb *policy.Sandbox, stderr io.Writer) (*intel.DB, error) {
	o := intel.Options{Online: cfg.Online, OTXKey: cfg.OTXKey, GreyNoiseKey: cfg.GreyNoiseKey, AllowPrivate: cfg.AllowPrivate,
		Log: stderr}
	if cfg.IntelDir != "" {
		dir, err := sb.DirFS(cfg.IntelDir)
		if err != nil {
			o.DirError = fmt.Errorf("PORT_HUNTER_INTEL_DIR %q: %w", cfg.IntelDir, err)
			fmt.Fprintf(stderr, "porthunter: warning: %v; enrich_ip and correlate answer without offline intel until it is fixed and the server restarted\n", o.DirError)
		} else {
			o.Dir = dir
		}
	}
	return intel.Open(context.Background(), o)
}

// requestMeta is what the server reads of params._meta.
type requestMeta struct {
	ProgressToken json.RawMessage `json:"progressToken"`
	Version       json.RawMessage `json:"io.modelcontextprotocol/protocolVersion"`
	ClientCaps    json.RawMessage `json:"io.modelcontextprotocol/clientCapabilities"`
}

func readMeta(params json.RawMessage) (requestMeta, error) {
	var p struct {
		Meta json.RawMessage `json:"_meta"`
	}
	var m requestMeta
	if params == nil {
		return m, nil
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return m, err
	}
	if p.Meta == nil || string(p.Meta) == "null" {
		return m, nil
	}
	if p.Meta[0] != '{' {
		return m, errors.New("_meta must be an object")
	}
	return m, json.Unmarshal(p.Meta, &m)
}

// dispatch answers one request or notification. Fast methods are answered
// inline, in order; tools/call runs on its own goroutine.
func (s *server) dispatch(ctx context.Context, req *jsonrpc.Request) {
	if req.IsNotification() {
		if req.Method == "notifications/cancelled" {
			s.cancel(req.Params)
		}
		return // initialized, progress, roots, unknown: nothing to answer
	}
	meta, err := readMeta(req.Params)
	if err != nil {
		s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %v", err))
		return
	}
	modern := meta.Version != nil
	if modern {
		var v string
		if json.Unmarshal(meta.Version, &v) != nil || v != modernVersion {
			s.w.Error(req.ID, &jsonrpc.Error{Code: jsonrpc.CodeUnsupportedProtocolVersion, Message: "unsupported protocol version",
				Data: map[string]any{"supported": []string{modernVersion}, "requested": json.RawMessage(meta.Version)}})
			return
		}
		if meta.ClientCaps == nil || meta.ClientCaps[0] != '{' {
			s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "_meta lacks %s", metaClientCaps))
			return
		}
	}
	switch req.Method {
	case "initialize":
		s.w.Result(req.ID, s.initialize(req.Params))
	case "ping":
		if modern {
			s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "ping is not part of %s", modernVersion))
			return
		}
		s.w.Result(req.ID, struct{}{})
	case "server/discover":
		s.w.Result(req.ID, s.modernResult(map[string]any{
			"supportedVersions": append([]string{modernVersion}, legacyVersions...),
			"capabilities":      s.capabilities(),
			"serverInfo":        s.serverInfo(),
			"instructions":      instructions,
			"ttlMs":             listTTL,
			"cacheScope":        "public",
		}))
	case "tools/list":
		var p struct {
			Cursor *string `json:"cursor"`
		}
		if req.Params != nil {
			if err := json.Unmarshal(req.Params, &p); err != nil {
				s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %v", err))
				return
			}
		}
		if p.Cursor != nil {
			s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid cursor: this server lists every tool in one page and issues no cursors"))
			return
		}
		list := make([]any, len(s.tools))
		for i, t := range s.tools {
			d := t.descriptor(s.cfg.Online)
			if t.writes && s.evDir != nil {
				// It creates a file in the evidence directory: not read-only,
				// a new file each call, never overwriting one.
				ann := d["annotations"].(map[string]any)
				ann["readOnlyHint"], ann["destructiveHint"], ann["idempotentHint"] = false, false, false
			}
			list[i] = d
		}
		res := map[string]any{"tools": list}
		if modern {
			res["ttlMs"], res["cacheScope"] = listTTL, "public"
			res = s.modernResult(res)
		}
		s.w.Result(req.ID, res)
	case "tools/call":
		s.startCall(ctx, req, meta, modern)
	case "resources/list", "resources/templates/list", "resources/read", "prompts/list", "prompts/get", "completion/complete":
		s.feature(ctx, req, meta, modern)
	default:
		s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "method not found: %s", req.Method))
	}
}

func (s *server) serverInfo() map[string]any {
	return map[string]any{"name": "porthunter", "title": "PortHunter", "version": s.ver}
}

// modernResult adds what 2026-07-28 requires on every result.
func (s *server) modernResult(res map[string]any) map[string]any {
	res["resultType"] = "complete"
	res["_meta"] = map[string]any{metaServerInfo: s.serverInfo()}
	return res
}

func (s *server) initialize(params json.RawMessage) map[string]any {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if params != nil {
		json.Unmarshal(params, &p) // a missing or odd version gets our latest
	}
	v := latestLegacy
	if slices.Contains(legacyVersions, p.ProtocolVersion) {
		v = p.ProtocolVersion
	}
	return map[string]any{
		"protocolVersion": v,
		"capabilities":    s.capabilities(),
		"serverInfo":      s.serverInfo(),
		"instructions":    instructions,
	}
}

// cancel handles notifications/cancelled: the call's context is cancelled
// and its answer suppressed. Unknown or finished ids are ignored.
func (s *server) cancel(params json.RawMessage) {
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
	}
	if params == nil || json.Unmarshal(params, &p) != nil || p.RequestID == nil {
		return
	}
	s.mu.Lock()
	c := s.inflight[idKey(p.RequestID)]
	s.mu.Unlock()
	if c != nil {
		c.cancelled.Store(true)
		c.cancel()
	}
}

// idKey is a request id in compact form, so "7" and 7 stay distinct but
// whitespace does not matter.
func idKey(id json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, id) != nil {
		return string(id)
	}
	return b.String()
}

type callParams struct {
	Name      *string         `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// startCall validates a tools/call request and runs it on its own
// goroutine. Protocol faults (no name, unknown tool) are JSON-RPC errors;
// everything about the arguments is a tool error.
func (s *server) startCall(ctx context.Context, req *jsonrpc.Request, meta requestMeta, modern bool) {
	var p callParams
	if req.Params == nil || json.Unmarshal(req.Params, &p) != nil || p.Name == nil {
		s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "tools/call needs params.name"))
		return
	}
	var t *toolDef
	for _, x := range s.tools {
		if x.name == *p.Name {
			t = x
		}
	}
	if t == nil {
		s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown tool: %s", *p.Name))
		return
	}
	s.startJob(ctx, req, meta, modern, job{
		run: func(ctx context.Context, c *call) reply {
			return reply{result: s.redactResult(s.runTool(ctx, t, c, p.Arguments))}
		},
		stopped: func(err error) reply { return reply{result: s.stoppedResult(err)} },
		refused: func(err error) reply { return reply{result: errorResult(err)} },
	})
}

// job is a request served on its own goroutine, within the calls in
// flight: a tool call, or a resource read or listing, which may read a
// capture or the allowed directory.
type job struct {
	run     func(ctx context.Context, c *call) reply
	stopped func(err error) reply // the call's context ended first (timeout, cancel)
	refused func(err error) reply // MaxInflightCalls were running
}

// reply is a request's answer: a result, or a JSON-RPC error.
type reply struct {
	result map[string]any
	err    *jsonrpc.Error
}

// send writes r as the answer to id.
func (s *server) send(id json.RawMessage, r reply, modern bool) {
	if r.err != nil {
		s.w.Error(id, r.err)
		return
	}
	res := r.result
	if modern {
		res = s.modernResult(res)
	}
	s.w.Result(id, res)
}

// startJob runs j for req on its own goroutine, with the request's
// cancellation, progress token and time limit.
func (s *server) startJob(ctx context.Context, req *jsonrpc.Request, meta requestMeta, modern bool, j job) {
	key := idKey(req.ID)
	s.mu.Lock()
	_, dup := s.inflight[key]
	s.mu.Unlock()
	if dup {
		s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "request id %s is already in use", key))
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.send(req.ID, j.refused(fmt.Errorf("%w with %d calls, its limit", errServerBusy, MaxInflightCalls)), modern)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	c := &call{id: req.ID, cancel: cancel}
	if meta.ProgressToken != nil && string(meta.ProgressToken) != "null" {
		c.progress = meta.ProgressToken
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		cancel()
		<-s.slots
		return
	}
	s.inflight[key] = c
	s.wg.Add(1)
	s.mu.Unlock()
	go s.runCall(cctx, c, key, j, modern)
}

// runCall runs one accepted call and answers it.
//
// A call whose work returns gives its slot back before its answer is
// written, so a client that sends a call after each answer never meets
// busy; the answers waiting for stdout hold a place in s.writing instead,
// so that a client that does not read cannot pile them up.
//
// The answer does not wait for work that overstays the call's context:
// when the context ends first the call is answered timeout (or, cancelled,
// not at all) at once, and its slot is kept until the work returns, so
// that the limit counts the work actually running.
func (s *server) runCall(ctx context.Context, c *call, key string, j job, modern bool) {
	defer s.wg.Done()
	done := make(chan reply, 1)
	go func() { done <- j.run(ctx, c) }()
	select {
	case r := <-done:
		s.writing <- struct{}{}
		s.release(c, key)
		s.answer(c, r, modern)
		<-s.writing
	case <-ctx.Done():
		s.answer(c, j.stopped(ctx.Err()), modern)
		<-done
		s.release(c, key)
	}
}

// release ends a call whose work has returned: its id and slot are free.
func (s *server) release(c *call, key string) {
	c.cancel()
	s.mu.Lock()
	if s.inflight[key] == c {
		delete(s.inflight, key)
	}
	s.mu.Unlock()
	<-s.slots
}

// answer writes a call's result, unless the client cancelled it, after a
// short pause when a progress notification was just sent. No progress
// notification follows it.
func (s *server) answer(c *call, r reply, modern bool) {
	c.mu.Lock()
	c.answered = true
	last := c.lastProgress
	c.mu.Unlock()
	if c.cancelled.Load() {
		return // the client no longer waits for it
	}
	if !last.IsZero() {
		if d := progressQuiet - time.Since(last); d > 0 {
			time.Sleep(d)
		}
	}
	s.send(c.id, r, modern)
}

// runTool checks the token and the arguments, runs the handler and builds
// the CallToolResult: structuredContent plus the same JSON as text.
func (s *server) runTool(ctx context.Context, t *toolDef, c *call, rawArgs json.RawMessage) (res map[string]any) {
	defer func() {
		if r := recover(); r != nil { // a bug must cost one answer, not the session
			fmt.Fprintf(s.log, "porthunter: internal error in %s: %v\n", t.name, r)
			res = encodeResult(&ErrorAnswer{Error: codeInternal, Detail: "Internal error; the server log has the details.", Fix: fixInternal}, true)
		}
	}()
	answer, err := s.invoke(ctx, t, c, rawArgs)
	if err != nil {
		if _, _, ok := errorCode(err); !ok {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return s.stoppedResult(err)
			}
			fmt.Fprintf(s.log, "porthunter: %s: %v\n", t.name, err)
		}
		return errorResult(err)
	}
	answer.envelope().OK = true
	res = encodeResult(answer, false)
	if l, ok := answer.(linker); ok {
		// Artefacts too large for an answer (a carved capture, a whole
		// report) follow the JSON as links to resources.
		for _, link := range l.links() {
			res["content"] = append(res["content"].([]any), link)
		}
	}
	return res
}

// errorResult is the tool error of err: its contract code (internal_error
// when it has none), a sentence, and the fix.
func errorResult(err error) map[string]any {
	code, fix, ok := errorCode(err)
	if !ok {
		code, fix = codeInternal, fixInternal
	}
	return encodeResult(&ErrorAnswer{Error: code, Detail: errorDetail(err), Fix: fix}, true)
}

// stoppedResult is the answer of a call whose context ended: timeout when
// its time limit passed, cancelled otherwise (then it is seldom written:
// a cancelled call is not answered, and a signal stops all output).
func (s *server) stoppedResult(err error) map[string]any {
	if errors.Is(err, context.DeadlineExceeded) {
		return errorResult(fmt.Errorf("%w (%s, PORT_HUNTER_CALL_TIMEOUT_S)", errCallTimeout, s.cfg.CallTimeout))
	}
	return encodeResult(&ErrorAnswer{Error: codeCancelled, Detail: errorDetail(err), Fix: "Nothing to fix: the client cancelled the call."}, true)
}

// invoke checks the token before anything else (an unauthorized caller
// learns nothing about the arguments), then runs the tool.
func (s *server) invoke(ctx context.Context, t *toolDef, c *call, rawArgs json.RawMessage) (enveloped, error) {
	if s.cfg.RequireToken {
		var a struct {
			Token json.RawMessage `json:"auth_token"`
		}
		var tok string
		if len(rawArgs) == 0 || rawArgs[0] != '{' || json.Unmarshal(rawArgs, &a) != nil || json.Unmarshal(a.Token, &tok) != nil ||
			policy.CheckToken(s.cfg.Token, tok) != nil {
			return nil, policy.ErrUnauthorized
		}
	}
	return t.run(ctx, s, c, rawArgs)
}

// minRedactLen is the shortest secret redacted from answers: such a short
// token protects nothing, and its text would turn up in ordinary values.
const minRedactLen = 6

// redactor replaces every secret of the configuration (the token, the API
// keys) in the strings the server writes. Answers quote the caller's input
// in places (an invalid address, a path, an unknown tool), and a caller who
// pasted a secret there must not see it echoed into a log or a model's
// context.
//
// A secret is looked for in every form the server may have quoted it in:
// as is, %q-quoted (Go escapes " and \ and non-printable bytes), and
// JSON-escaped (& < > and the rest, as in a JSON text inside a string),
// each also with its invalid UTF-8 bytes replaced by U+FFFD, as
// encoding/json writes them.
type redactor struct {
	needles []string // the forms, longest first, so a longer form is not cut by a shorter one
	encoded [][]byte // each needle as encoding/json writes it inside a string
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	seen := map[string]bool{}
	for _, sec := range secrets {
		if len(sec) < minRedactLen {
			continue
		}
		q := strconv.Quote(sec)
		for _, f := range []string{sec, q[1 : len(q)-1], jsonInner(sec, true), jsonInner(sec, false)} {
			for _, n := range []string{f, jsonDecodeInner(jsonInner(f, false))} {
				if n != "" && !seen[n] {
					seen[n] = true
					r.needles = append(r.needles, n)
				}
			}
		}
	}
	slices.SortStableFunc(r.needles, func(a, b string) int { return len(b) - len(a) })
	for _, n := range r.needles {
		r.encoded = append(r.encoded, []byte(jsonInner(n, false)), []byte(jsonInner(n, true)))
	}
	return r
}

// jsonInner is s as encoding/json writes it, without the quotes, with
// & < > escaped (json.Marshal) or not (the server's encoders).
func jsonInner(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	enc.Encode(s)
	out := bytes.TrimRight(b.Bytes(), "\n")
	return string(out[1 : len(out)-1])
}

// jsonDecodeInner is the string whose JSON form (without quotes) is e.
func jsonDecodeInner(e string) string {
	var s string
	if json.Unmarshal([]byte(`"`+e+`"`), &s) != nil {
		return e
	}
	return s
}

// str returns s with every secret replaced by "[redacted]".
func (r *redactor) str(s string) string {
	for _, n := range r.needles {
		if strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, "[redacted]")
		}
	}
	return s
}

// json redacts the string values of b, an encoded JSON value. Only string
// values are rewritten, never keys or numbers, so the value keeps its
// shape whatever the secret looks like. b itself is returned when it
// holds no secret, the common case, without decoding it.
func (r *redactor) json(b []byte) []byte {
	found := false
	for _, e := range r.encoded {
		if bytes.Contains(b, e) {
			found = true
			break
		}
	}
	if !found {
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return b
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case string:
			return r.str(x)
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return x
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(walk(v)) != nil {
		return b
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

// redactingWriter is the server's log: each write (one line) with the
// secrets replaced.
type redactingWriter struct {
	w io.Writer
	r *redactor
}

func (w *redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.r.str(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// encodeResult is the CallToolResult of an answer: its JSON as
// structuredContent and, the same text, as a text block (hosts differ in
// which one they show the model). Nothing is HTML-escaped: a model
// should read ">=", not "\u003e=".
func encodeResult(answer enveloped, isError bool) map[string]any {
	answer.envelope().GeneratedAt = now()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(answer); err != nil {
		buf.Reset()
		enc.Encode(&ErrorAnswer{Envelope: Envelope{GeneratedAt: now()}, Error: codeInternal, Detail: "The answer could not be encoded.", Fix: fixInternal})
		isError = true
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	return map[string]any{
		"content":           []any{map[string]any{"type": "text", "text": string(b)}},
		"structuredContent": json.RawMessage(b),
		"isError":           isError,
	}
}

// redactResult applies redact to a CallToolResult's text and structured
// content.
func (s *server) redactResult(res map[string]any) map[string]any {
	sc, ok := res["structuredContent"].(json.RawMessage)
	if !ok || len(sc) == 0 {
		return res
	}
	clean := s.red.json(sc)
	if &clean[0] == &sc[0] && len(clean) == len(sc) {
		return res
	}
	res["structuredContent"] = json.RawMessage(clean)
	content, _ := res["content"].([]any)
	res["content"] = append([]any{map[string]any{"type": "text", "text": string(clean)}}, content[min(1, len(content)):]...)
	return res
}

// now is generated_at: UTC, RFC 3339, whole seconds, Z.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05Z") }

// progressFunc returns the reading loop's progress callback for c, or nil
// when the request carries no progressToken. Notifications are spaced by
// ProgressInterval and strictly increasing; none is sent once the reading
// ends, because the loop only calls it while reading.
func (s *server) progressFunc(c *call) func(done, total int64) {
	if c.progress == nil {
		return nil
	}
	return func(done, total int64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.answered || time.Since(c.lastProgress) < ProgressInterval || float64(done) <= c.lastValue {
			return
		}
		c.lastValue = float64(done)
		c.lastProgress = time.Now()
		p := map[string]any{"progressToken": c.progress, "progress": done, "message": "reading capture"}
		if total > 0 {
			p["total"] = total
		}
		s.w.Notify("notifications/progress", p)
	}
}
