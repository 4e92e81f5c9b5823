package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"porthunter/jsonrpc"
)

// Resources, prompts and completion, beside the tools, and what the
// token means for them.
//
// Tools carry the token in their auth_token argument; resources/read,
// prompts/get and completion/complete have no argument for it, and a
// URI or a prompt argument would put it in every log and transcript. So:
//
//   - With PORT_HUNTER_REQUIRE_TOKEN=false (the allowed directory is the
//     only boundary, as for a stdio host the operator trusts), everything
//     is offered: the captures as resources (resources/list, their
//     templates, resources/read of an overview, a scanner or a report),
//     prompts, and completion of capture paths and scanner addresses.
//   - With the token required (the default), nothing that reads the
//     allowed directory is offered without it: resources/list and
//     resources/templates/list are empty, resources/read refuses the
//     capture URIs, and completion is not declared. Two things stay:
//     prompts (fixed texts that read nothing: they tell the agent which
//     tools to call, and those need the token), and resources/read of
//     the evidence a tool call created (carve, report). An evidence URI
//     holds 128 random bits, known only from the answer of a call that
//     passed the token, and names an artefact held in memory, not a file.
//
// Both eras declare the same capabilities (initialize's result and
// server/discover's); none has listChanged or subscribe, so the server
// never sends a request or notification about them.

// offersCaptureResources reports whether the captures are offered as
// resources, with templates and completion: only without the token.
func (s *server) offersCaptureResources() bool { return !s.cfg.RequireToken }

// capabilities are the server's capabilities, in both eras.
func (s *server) capabilities() map[string]any {
	caps := map[string]any{
		"tools":     map[string]any{},
		"resources": map[string]any{},
		"prompts":   map[string]any{},
	}
	if s.offersCaptureResources() {
		caps["completions"] = map[string]any{}
	}
	return caps
}

// Caching hints of the modern era (caching.mdx): lists that never change
// while the process runs are public for listTTL; what depends on the
// allowed directory is private and immediately stale; evidence, which
// never changes once made, is private for listTTL.
const (
	cachePublic  = "public"
	cachePrivate = "private"
)

// cacheable adds the modern era's caching hints to res.
func cacheable(res map[string]any, modern bool, ttlMs int, scope string) map[string]any {
	if modern {
		res["ttlMs"], res["cacheScope"] = ttlMs, scope
	}
	return res
}

// feature answers the methods of resources, prompts and completion. The
// cheap ones are answered inline; those that read the directory or a
// capture run as jobs, within the calls in flight and the call's time
// limit, cancellable, with progress when asked.
func (s *server) feature(ctx context.Context, req *jsonrpc.Request, meta requestMeta, modern bool) {
	if req.Method == "completion/complete" && !s.offersCaptureResources() {
		s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound,
			"completion/complete is not offered while PORT_HUNTER_REQUIRE_TOKEN is true: completion would list the captures without the token"))
		return
	}
	switch req.Method {
	case "prompts/list":
		var p listParams
		if err := decodeParams(req.Params, &p); err != nil {
			s.w.Error(req.ID, err)
			return
		}
		s.send(req.ID, s.safely(req.Method, func() reply { return s.listPrompts(p, modern) }), modern)
		return
	case "prompts/get":
		s.send(req.ID, s.safely(req.Method, func() reply { return s.getPrompt(req.Params) }), modern)
		return
	case "resources/templates/list":
		var p listParams
		if err := decodeParams(req.Params, &p); err != nil {
			s.w.Error(req.ID, err)
			return
		}
		s.send(req.ID, s.safely(req.Method, func() reply { return s.listTemplates(p, modern) }), modern)
		return
	}
	var run func(ctx context.Context, c *call) reply
	switch req.Method {
	case "resources/list":
		var p listParams
		if err := decodeParams(req.Params, &p); err != nil {
			s.w.Error(req.ID, err)
			return
		}
		run = func(ctx context.Context, _ *call) reply { return s.listResources(ctx, p, modern) }
	case "resources/read":
		var p struct {
			URI *string `json:"uri"`
		}
		if err := decodeParams(req.Params, &p); err != nil || p.URI == nil {
			s.w.Error(req.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "resources/read needs params.uri, a string"))
			return
		}
		uri := *p.URI
		run = func(ctx context.Context, c *call) reply { return s.readResource(ctx, c, uri, modern) }
	case "completion/complete":
		var p completeParams
		if err := decodeParams(req.Params, &p); err != nil {
			s.w.Error(req.ID, err)
			return
		}
		run = func(ctx context.Context, _ *call) reply { return s.complete(ctx, p) }
	}
	s.startJob(ctx, req, meta, modern, job{
		run: func(ctx context.Context, c *call) reply {
			return s.safely(req.Method, func() reply { return run(ctx, c) })
		},
		stopped: func(err error) reply { return reply{err: s.stoppedError(err)} },
		refused: func(err error) reply { return reply{err: jsonError(jsonrpc.CodeInternalError, err, "")} },
	})
}

// safely runs f, turning a panic into an internal error: a bug must cost
// one answer, not the session.
func (s *server) safely(method string, f func() reply) (r reply) {
	defer func() {
		if v := recover(); v != nil {
			s.logf("porthunter: internal error in %s: %v", method, v)
			r = reply{err: jsonrpc.Errorf(jsonrpc.CodeInternalError, "internal error; the server log has the details")}
		}
	}()
	return f()
}

// listParams are the params of a list method.
type listParams struct {
	Cursor *string `json:"cursor"`
}

// decodeParams decodes params (absent is empty) into dst, or says why
// not as -32602.
func decodeParams(params json.RawMessage, dst any) *jsonrpc.Error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	if params[0] != '{' {
		return jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: must be an object")
	}
	if err := json.Unmarshal(params, dst); err != nil {
		return jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %v", err)
	}
	return nil
}

// jsonError is a JSON-RPC error for err, a tool-layer error, with its
// contract code, sentence and fix as data, so that a client reading
// resources learns what a tool caller would.
func jsonError(code int, err error, uri string) *jsonrpc.Error {
	c, fix, ok := errorCode(err)
	if !ok {
		c, fix = codeInternal, fixInternal
	}
	data := map[string]any{"error": c, "detail": errorDetail(err), "fix": fix}
	if uri != "" {
		data["uri"] = clipString(uri, maxEchoURI)
	}
	return &jsonrpc.Error{Code: code, Message: errorDetail(err), Data: data}
}

// stoppedError is the JSON-RPC error of a job whose context ended.
func (s *server) stoppedError(err error) *jsonrpc.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return jsonError(jsonrpc.CodeInternalError, fmt.Errorf("%w (%s, PORT_HUNTER_CALL_TIMEOUT_S)", errCallTimeout, s.cfg.CallTimeout), "")
	}
	return jsonrpc.Errorf(jsonrpc.CodeInternalError, "cancelled")
}

// logf writes one line to the server's (redacting) log.
func (s *server) logf(format string, a ...any) { fmt.Fprintf(s.log, format+"\n", a...) }
