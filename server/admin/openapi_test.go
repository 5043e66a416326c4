package admin_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/server/admin"
)

// registeredRoutes returns "METHOD /path" of every route that the
// package's source registers with a method, read from its calls of
// Handle: the 405 fallbacks, without a method, are left out.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			lit, isLit := call.Args[0].(*ast.BasicLit)
			if !ok || sel.Sel.Name != "Handle" || !isLit || lit.Kind != gotoken.STRING {
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			if method, path, ok := strings.Cut(pattern, " "); ok {
				routes = append(routes, method+" "+path)
			}
			return true
		})
	}
	slices.Sort(routes)
	return routes
}

// describedRoutes returns "METHOD /path" of every operation of
// docs/openapi.yaml.
func describedRoutes(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pathLine := regexp.MustCompile(`^  (/\S*):\s*$`)
	opLine := regexp.MustCompile(`^    (get|put|post|delete|patch|head|options):`)
	var routes []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) > 0 && line[0] != ' ' && line[0] != '#' {
			inPaths = strings.HasPrefix(line, "paths:")
			continue
		}
		if !inPaths {
			continue
		}
		if m := pathLine.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := opLine.FindStringSubmatch(line); m != nil && path != "" {
			routes = append(routes, strings.ToUpper(m[1])+" "+path)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(routes)
	return routes
}

func TestOpenAPI_DescribesEveryRoute(t *testing.T) {
	registered, described := registeredRoutes(t), describedRoutes(t)
	if len(registered) < 10 {
		t.Fatalf("found only %q in the source", registered)
	}
	for _, r := range registered {
		if !slices.Contains(described, r) {
			t.Errorf("%s is served but not in docs/openapi.yaml", r)
		}
	}
	for _, r := range described {
		if !slices.Contains(registered, r) {
			t.Errorf("%s is in docs/openapi.yaml but not served", r)
		}
	}
}

// TestOpenAPI_DescribesEveryField checks that each field of the bodies of
// the operators' list endpoints is a property in docs/openapi.yaml, so
// that a field added to one, such as a cluster's missing_nodes, is
// described too.
func TestOpenAPI_DescribesEveryField(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	for _, v := range []any{admin.Status{}, admin.Rates{}, admin.ClusterStatus{}, admin.TopicList{}, admin.Topic{},
		admin.ConnectionList{}, admin.Connection{}, admin.Presence{}, admin.PresenceClient{}, admin.Disconnected{},
		admin.Node{}, admin.NodeList{}} {
		typ := reflect.TypeOf(v)
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !regexp.MustCompile(`(?m)^ +` + regexp.QuoteMeta(name) + `:`).MatchString(spec) {
				t.Errorf("%s.%s (%q) is not in docs/openapi.yaml", typ.Name(), f.Name, name)
			}
		}
	}
}
