package graphiql_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/graph/graphiql"
)

// The page loads everything from the server itself, and every asset it
// names is served, whole, with its type.
func TestPageNeedsNoInternet(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(graphiql.Handler("test", "/graphql"))
	defer srv.Close()
	page := get(t, srv.URL+"/", "text/html")
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 4 {
		t.Fatalf("page names %d assets, want 4:\n%s", len(refs), page)
	}
	var total int
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, graphiql.AssetsPath) {
			t.Fatalf("asset %q is not served by the server", ref)
		}
		want := "text/javascript"
		if strings.HasSuffix(ref, ".css") {
			want = "text/css"
		}
		body := get(t, srv.URL+ref, want)
		disk, err := os.ReadFile(path.Join("assets", path.Base(ref)))
		if err != nil {
			t.Fatal(err)
		}
		if body != string(disk) {
			t.Errorf("%s: served %d bytes, the file has %d", ref, len(body), len(disk))
		}
		total += len(body)
	}
	if total > 3<<20 {
		t.Errorf("assets total %d bytes; keep them to a few MB", total)
	}
}

func get(t *testing.T, url, contentType string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), contentType) {
		t.Fatalf("GET %s: %d %s, want 200 %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), contentType)
	}
	return string(b)
}
