package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The project's documents live in docs/ (docs/README.md). A comment that
// cites one must name a file and a section that exist there, so that a
// reader of the code can follow every citation without leaving the
// repository.

// docRefName finds a citation: a document's name, with or without docs/
// and .md. Without .md it counts only when a section follows ("CONTRACT
// §3.4"): "MCP" alone is the protocol, not the file.
var docRefName = regexp.MustCompile(`\b(?:docs/)?(CONTRACT|DETECTION|MCP|INTEL|ARCHITECTURE|STYLE)(\.md)?`)

// contractRef is the lower-case form the policy package uses ("contract §2").
var contractRef = regexp.MustCompile(`\bcontract\s+§`)

// docSection reads "§3.2", and further sections listed after it
// (", §2.2", " and §5").
var (
	firstSection = regexp.MustCompile(`^\s*§\s*([0-9]+(?:\.[0-9]+)*)`)
	moreSection  = regexp.MustCompile(`^\s*(?:,|and|or)\s*§\s*([0-9]+(?:\.[0-9]+)*)`)
)

// docRef is one citation: the document (e.g. "CONTRACT.md") and the
// section ("3.2"; "" for the whole document).
type docRef struct {
	where, doc, section string
}

// citeWords are words every citation docRefName or contractRef matches
// holds: text with none of them cites nothing.
var citeWords = []string{"CONTRACT", "DETECTION", "MCP", "INTEL", "ARCHITECTURE", "STYLE", "contract"}

// mayCite reports whether text holds a citeWord. The regular expressions
// over every comment and string of the repository were most of the
// test's time; most hold no citation.
func mayCite(text string) bool {
	for _, w := range citeWords {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// findDocRefs returns the citations in text; where names text's origin.
func findDocRefs(where, text string) []docRef {
	if !mayCite(text) {
		return nil
	}
	text = strings.Join(strings.Fields(text), " ") // a citation may span lines
	var out []docRef
	add := func(doc string, end int, needSection bool) {
		rest := text[end:]
		var secs []string
		if m := firstSection.FindStringSubmatch(rest); m != nil {
			secs = append(secs, m[1])
			rest = rest[len(m[0]):]
			for m = moreSection.FindStringSubmatch(rest); m != nil; m = moreSection.FindStringSubmatch(rest) {
				secs = append(secs, m[1])
				rest = rest[len(m[0]):]
			}
		}
		if len(secs) == 0 && !needSection {
			out = append(out, docRef{where, doc, ""})
		}
		for _, s := range secs {
			out = append(out, docRef{where, doc, s})
		}
	}
	for _, m := range docRefName.FindAllStringSubmatchIndex(text, -1) {
		name, md := text[m[2]:m[3]], m[4] >= 0
		add(name+".md", m[1], !md)
	}
	for _, m := range contractRef.FindAllStringIndex(text, -1) {
		add("CONTRACT.md", m[1]-len("§"), true)
	}
	return out
}

// docSections lists the sections of a Markdown document: the numbers of
// its headings ("## 3. Tools" is 3, "### 3.2 x" is 3.2) and, under a
// numbered heading N, its numbered items ("18. ..." is N.18). Fenced code
// is skipped: a "# comment" there is not a heading.
func docSections(md string) map[string]bool {
	secs := map[string]bool{}
	heading := regexp.MustCompile(`^#+\s+([0-9]+(?:\.[0-9]+)*)\.?(?:\s|$)`)
	item := regexp.MustCompile(`^\s{0,3}([0-9]+)\.\s`)
	current, fenced := "", false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if strings.HasPrefix(line, "#") {
			current = ""
			if m := heading.FindStringSubmatch(line); m != nil {
				current = m[1]
				secs[current] = true
			}
			continue
		}
		if m := item.FindStringSubmatch(line); m != nil && current != "" {
			secs[current+"."+m[1]] = true
		}
	}
	return secs
}

// checkDocRefs returns one message per citation of refs that docs (file
// name → contents) cannot resolve.
func checkDocRefs(refs []docRef, docs map[string]string) []string {
	var bad []string
	sections := map[string]map[string]bool{}
	for _, r := range refs {
		md, ok := docs[r.doc]
		if !ok {
			bad = append(bad, r.where+": cites "+r.doc+", which is not in docs/")
			continue
		}
		if r.section == "" {
			continue
		}
		if sections[r.doc] == nil {
			sections[r.doc] = docSections(md)
		}
		if !sections[r.doc][r.section] {
			bad = append(bad, r.where+": cites docs/"+r.doc+" §"+r.section+", which has no such section")
		}
	}
	return bad
}

// repoFiles walks the repository for files ending in ext, leaving out
// test data, build output and hidden directories.
func repoFiles(t *testing.T, ext string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch n := d.Name(); {
			case p != "." && strings.HasPrefix(n, "."), n == "testdata", n == "node_modules", p == "bin", p == "dist", p == filepath.Join("fixtures", "out"):
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ext) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// goDocRefs returns the citations in a Go file's comments and string
// literals (a schema description cites the contract too).
func goDocRefs(t *testing.T, file string) []docRef {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var refs []docRef
	at := func(p token.Pos) string { return file + ":" + strconv.Itoa(fset.Position(p).Line) }
	for _, cg := range f.Comments {
		refs = append(refs, findDocRefs(at(cg.Pos()), cg.Text())...)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				refs = append(refs, findDocRefs(at(lit.Pos()), s)...)
			}
		}
		return true
	})
	return refs
}

// TestDocReferences: every document and section a Go comment, a Go string
// or a Markdown file of the repository cites exists in docs/.
func TestDocReferences(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	docs := map[string]string{}
	entries, err := os.ReadDir("docs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if path.Ext(e.Name()) == ".md" && e.Name() != "README.md" {
			b, err := os.ReadFile(filepath.Join("docs", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			docs[e.Name()] = string(b)
		}
	}
	var refs []docRef
	for _, f := range repoFiles(t, ".go") {
		if f != "docrefs_test.go" { // its cases cite missing sections on purpose
			refs = append(refs, goDocRefs(t, f)...)
		}
	}
	for _, f := range repoFiles(t, ".md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			refs = append(refs, findDocRefs(f+":"+strconv.Itoa(i+1), line)...)
		}
	}
	if len(refs) < 50 {
		t.Fatalf("found %d citations; the code cites the documents far more often: is the pattern broken?", len(refs))
	}
	for _, msg := range checkDocRefs(refs, docs) {
		t.Error(msg)
	}
}

// TestDocReferenceChecker: the checker finds citations in their written
// forms and fails on a missing document or section.
func TestDocReferenceChecker(t *testing.T) {
	docs := map[string]string{
		"CONTRACT.md":  "# C\n## 1. Running\n## 3. Tools\n### 3.2 `list_suspects`\n```\n# 9. not a heading\n```\n",
		"DETECTION.md": "## 6. Defaults\n1. **Probe**\n18. **Tool attribution**\n## 7. Open points\n",
	}
	cases := []struct {
		text string
		bad  int // unresolved citations
	}{
		{"list_suspects (CONTRACT.md §3.2)", 0},
		{"see docs/CONTRACT.md §3.2 and DETECTION.md §6.18", 0},
		{"the answer is answered at the top level (CONTRACT §1)", 0},
		{"Environment variable names (contract §3).", 0},
		{"CONTRACT.md §1, §3.2 and §3", 0},
		{"a section that is not there: docs/CONTRACT.md §3.9", 1},
		{"an item that is not there: DETECTION.md §6.19", 1},
		{"inside a fence is no heading: CONTRACT.md §9", 1},
		{"a listed section missing: CONTRACT.md §1, §4", 1},
		{"a document that is not there: " + "ARCHITECTURE" + ".md", 1}, // split, so no scan of the sources takes it for a citation
		{"contract §2", 1},
		{"MCP over stdio; PORT_HUNTER_INTEL_DIR; the MCP/docs tree", 0},
		{"DETECTION.md\n§7", 0},
	}
	for _, c := range cases {
		refs := findDocRefs("case", c.text)
		if got := checkDocRefs(refs, docs); len(got) != c.bad {
			t.Errorf("%q: %d unresolved %q, want %d", c.text, len(got), got, c.bad)
		}
	}
	if refs := findDocRefs("case", "the MCP protocol, INTEL and DETECTION without a file"); len(refs) != 0 {
		t.Errorf("bare names taken for citations: %v", refs)
	}
}
