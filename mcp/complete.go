package mcp

import (
	"context"
	"slices"
	"strings"

	"porthunter/jsonrpc"
	"porthunter/scan"
)

// Completion of prompt and resource-template arguments (offered only
// without the token, discover.go): capture paths (and the globs of the
// rotated sets) from the listing of the allowed directory, and the
// scanner addresses of a capture the server has already analysed. It
// never starts an analysis: a keystroke must not read a gigabyte.

// maxCompletions is the most values one answer holds (completion.mdx).
const maxCompletions = 100

type completeParams struct {
	Ref struct {
		Type string `json:"type"`
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"ref"`
	Argument *struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"argument"`
	Context struct {
		Arguments map[string]string `json:"arguments"`
	} `json:"context"`
}

// complete answers completion/complete.
func (s *server) complete(ctx context.Context, p completeParams) reply {
	if p.Argument == nil {
		return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "completion/complete needs params.argument")}
	}
	if len(p.Argument.Value) > maxPromptArg {
		return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "argument value longer than %d bytes", maxPromptArg)}
	}
	kind, rerr := completionKind(p)
	if rerr != nil {
		return reply{err: rerr}
	}
	var values []string
	switch kind {
	case "source":
		var err error
		if values, err = s.completePaths(ctx, p.Argument.Value); err != nil {
			return reply{err: jsonError(jsonrpc.CodeInternalError, err, "")}
		}
	case "ip":
		values = s.completeScanners(ctx, p.Context.Arguments["path"], p.Argument.Value)
	}
	total := len(values)
	values = values[:min(total, maxCompletions)]
	for i, v := range values {
		values[i] = s.red.str(v)
	}
	return reply{result: map[string]any{"completion": map[string]any{"values": nonNil(values), "total": total, "hasMore": total > len(values)}}}
}

// completionKind is what the referenced argument holds: "source" (a
// capture path or glob), "ip", or "" for arguments without completion
// (times); a reference or argument that does not exist is -32602.
func completionKind(p completeParams) (string, *jsonrpc.Error) {
	name := p.Argument.Name
	switch p.Ref.Type {
	case "ref/prompt":
		i := slices.IndexFunc(prompts, func(d promptDef) bool { return d.name == p.Ref.Name })
		if i < 0 {
			return "", jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown prompt: %s", clipString(p.Ref.Name, 64))
		}
		j := slices.IndexFunc(prompts[i].args, func(a promptArg) bool { return a.name == name })
		if j < 0 {
			return "", jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "prompt %s has no argument %s", prompts[i].name, clipString(name, 64))
		}
		if k := prompts[i].args[j].kind; k != "time" {
			return k, nil
		}
		return "", nil
	case "ref/resource":
		if !slices.ContainsFunc(templates, func(t map[string]any) bool { return t["uriTemplate"] == p.Ref.URI }) {
			return "", jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown resource template: %s", clipString(p.Ref.URI, maxEchoURI))
		}
		switch {
		case name == "path":
			return "source", nil
		case name == "ip" && strings.Contains(p.Ref.URI, "{ip}"):
			return "ip", nil
		}
		return "", jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "the template %s has no variable %s", p.Ref.URI, clipString(name, 64))
	}
	return "", jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "ref.type must be ref/prompt or ref/resource")
}

// completePaths are the captures whose path starts with prefix, then the
// globs of the rotated sets that do.
func (s *server) completePaths(ctx context.Context, prefix string) ([]string, error) {
	cat, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range cat.Captures {
		if strings.HasPrefix(e.Path, prefix) {
			out = append(out, e.Path)
		}
	}
	for _, rs := range cat.Sets {
		if rs.Glob != "" && strings.HasPrefix(rs.Glob, prefix) {
			out = append(out, rs.Glob)
		}
	}
	return out, nil
}

// completeScanners are the addresses listed as scanners (default
// thresholds, most distinct probes first) in the analysis of path that
// the server keeps, starting with prefix; none when path is not analysed.
func (s *server) completeScanners(ctx context.Context, path, prefix string) []string {
	if path == "" {
		return nil
	}
	info, err := s.sb.Peek(path)
	if err != nil {
		return nil
	}
	res := s.z.Cached(info)
	if res == nil {
		return nil
	}
	list, _, err := res.Analysis.SuspectsPage(ctx, scan.DefaultThresholds(), 0, 10_000)
	if err != nil {
		return nil
	}
	var out []string
	for _, x := range list {
		if a := x.IP.String(); strings.HasPrefix(a, prefix) {
			out = append(out, a)
		}
	}
	return out
}
