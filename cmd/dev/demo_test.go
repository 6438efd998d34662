package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestDemoThenGraphiQLInABrowser runs `dev` as `make dev` does, with the demo: the story must
// end with the upgrade executed by the timelock executor and a rollback awaiting one approval.
// Then headless Chromium, cut off from everything but 127.0.0.1, opens GraphiQL from dev's
// server, runs a query, starts an approvals subscription, and sees the approval that the member
// CLI then gives appear on the page.
func TestDemoThenGraphiQLInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole dev environment")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	env := startDev(ctx, t, "-demo-pause", "200ms")

	var tour strings.Builder
	approve := regexp.MustCompile(`approve (\S+) --keypair (\S+)`)
	var rollback, member5 string
	for !strings.Contains(tour.String(), "to stop everything") {
		select {
		case line, ok := <-env.lines:
			if !ok {
				t.Fatalf("dev exited before the demo ended: %v", <-env.exited)
			}
			tour.WriteString(line + "\n")
			if m := approve.FindStringSubmatch(line); m != nil {
				rollback, member5 = m[1], m[2]
			}
		case <-ctx.Done():
			t.Fatalf("the demo did not end (see the log above): %v\n%s", ctx.Err(), tour.String())
		}
	}
	go func() {
		for range env.lines {
		}
	}()
	for _, want := range []string{"GraphiQL: http://127.0.0.1:", "subscription {", "status --governance"} {
		if !strings.Contains(tour.String(), want) {
			t.Errorf("the tour lacks %q:\n%s", want, tour.String())
		}
	}
	graphqlURL := env.urls["GRAPHQL_URL"]

	// The read model holds the story: one executed upgrade, one rollback waiting.
	var data struct {
		Proposals struct {
			Edges []struct {
				Node struct {
					Address, Kind, Status string
					ApprovalCount         int
				}
			}
		}
	}
	eventually(t, time.Minute, func() bool {
		data.Proposals.Edges = nil
		if err := graphqlQuery(ctx, graphqlURL, `{ proposals(first: 10) { edges { node { address kind status approvalCount } } } }`, &data); err != nil {
			t.Log(err)
			return false
		}
		executed, waiting := false, false
		for _, e := range data.Proposals.Edges {
			n := e.Node
			executed = executed || (n.Kind == "UPGRADE" && n.Status == "EXECUTED")
			waiting = waiting || (n.Address == rollback && n.Kind == "ROLLBACK" && n.ApprovalCount == 1)
		}
		return executed && waiting
	}, "GraphQL to show the executed upgrade and the rollback with one approval")

	// The migration driver moved every example position to v2.
	var jobs struct {
		Migrations struct {
			Edges []struct {
				Node struct {
					Status                       string
					TotalAccounts, MigratedCount string
				}
			}
		}
	}
	if err := graphqlQuery(ctx, graphqlURL, `{ migrations(first: 5) { edges { node { status totalAccounts migratedCount } } } }`, &jobs); err != nil {
		t.Fatal(err)
	}
	if e := jobs.Migrations.Edges; len(e) != 1 || e[0].Node.Status != "COMPLETED" || e[0].Node.MigratedCount != e[0].Node.TotalAccounts || e[0].Node.TotalAccounts == "0" {
		t.Errorf("migrations after the demo: %+v, want one COMPLETED job with every account migrated", e)
	}

	chromium := chromiumPath()
	if chromium == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium on a CI machine: .ci/run installs it")
		}
		t.Skip("no chromium (apt-get install -y chromium)")
	}
	bctx, requests := browser(ctx, t, chromium)
	page := strings.TrimSuffix(graphqlURL, "graphql")
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open GraphiQL at %s: %v", page, err)
	}
	// Not on the first run's context: its deadline would end the browser.
	wctx, cancelWait := context.WithTimeout(bctx, time.Minute)
	defer cancelWait()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button"))); err != nil {
		text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("GraphiQL at %s did not render its editor: %v\npage: %q\nrequests: %q", page, err, text, requests())
	}
	runInGraphiQL(t, bctx, tourQuery)
	waitForResponse(t, bctx, "EXECUTED", time.Minute)

	runInGraphiQL(t, bctx, tourSubscription)
	// The subscription is live once the server counts it; give the page a moment to send it.
	time.Sleep(time.Second)
	umctl := filepath.Join(t.TempDir(), "umctl")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", umctl, "../umctl").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/umctl: %v\n%s", err, out)
	}
	rpcURL := env.rpcURL
	if out, err := exec.CommandContext(ctx, umctl, "approve", rollback, "--keypair", member5, "--url", rpcURL, "--json").CombinedOutput(); err != nil {
		t.Fatalf("umctl approve: %v\n%s", err, out)
	}
	waitForResponse(t, bctx, `"approvals": 2`, time.Minute)

	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "graphiql.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range requests() {
		if !local(u) {
			t.Errorf("the page asked for %s: everything it loads must come from dev's server", u)
		}
	}
}

// runInGraphiQL types query into GraphiQL's editor and presses its run button.
func runInGraphiQL(t *testing.T, ctx context.Context, query string) {
	t.Helper()
	q, _ := json.Marshal(query)
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const cm = document.querySelector('.graphiql-query-editor .CodeMirror');
			if (!cm || !cm.CodeMirror) return false;
			cm.CodeMirror.setValue(%s);
			return true;
		})()`, q)))
	if err != nil || !ok {
		t.Fatalf("set GraphiQL's query: ok=%v err=%v", ok, err)
	}
	// GraphiQL parses the editor's text after a pause in typing; run before that and it would
	// still take the previous operation for the new text's kind.
	time.Sleep(1500 * time.Millisecond)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".graphiql-execute-button"))); err != nil {
		t.Fatalf("run the query: %v", err)
	}
}

// waitForResponse waits until GraphiQL's response pane contains want.
func waitForResponse(t *testing.T, ctx context.Context, want string, within time.Duration) {
	t.Helper()
	w, _ := json.Marshal(want)
	js := fmt.Sprintf(`(() => {
		const cm = document.querySelector('.graphiql-response .CodeMirror');
		const text = cm && cm.CodeMirror ? cm.CodeMirror.getValue() : (document.querySelector('.graphiql-response') || {}).innerText || '';
		return text.includes(%s);
	})()`, w)
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(within))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.graphiql-response') || {}).innerText || ''`))
		t.Fatalf("GraphiQL's response never showed %s: %v\nresponse pane: %s", want, err, text)
	}
}

// browser starts headless Chromium that resolves no host but 127.0.0.1, and returns a function
// listing every URL the page requested.
func browser(ctx context.Context, t *testing.T, path string) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1400, 900),
	)
	var mu sync.Mutex
	var urls []string
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		var u string
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			u = e.Request.URL
		case network.EventRequestWillBeSent:
			u = e.Request.URL
		default:
			return
		}
		mu.Lock()
		urls = append(urls, u)
		mu.Unlock()
	}))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return bctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}

func local(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about":
		return true
	}
	return u.Hostname() == "127.0.0.1"
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func graphqlQuery(ctx context.Context, endpoint, query string, out any) error {
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("graphql: %s", r.Errors[0].Message)
	}
	return json.Unmarshal(r.Data, out)
}
