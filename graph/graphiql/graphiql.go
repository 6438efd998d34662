package graphiql

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets/*.js assets/*.css
var assets embed.FS

// AssetsPath is where Handler serves the assets, under the page's path.
const AssetsPath = "/graphiql/"

// Handler serves the GraphiQL page at any path it is mounted on, for the
// GraphQL endpoint at endpoint (a path on the same host; subscriptions use
// a websocket to the same path), and the assets under AssetsPath.
func Handler(title, endpoint string) http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded directory exists: it is compiled in
	}
	files := http.StripPrefix(strings.TrimSuffix(AssetsPath, "/"), http.FileServerFS(sub))
	mux := http.NewServeMux()
	mux.Handle("GET "+AssetsPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The assets change only with the binary.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// Everything the page loads comes from this server.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; "+
			"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:")
		_ = page.Execute(w, struct{ Title, Endpoint, Assets string }{title, endpoint, AssetsPath})
	})
	return mux
}

var page = template.Must(template.New("graphiql").Parse(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>body { margin: 0; } #graphiql { height: 100vh; } .loading { height: 100%; display: flex; align-items: center; justify-content: center; font-size: 4rem; }</style>
<link rel="stylesheet" href="{{.Assets}}graphiql.min.css">
<script src="{{.Assets}}react.production.min.js"></script>
<script src="{{.Assets}}react-dom.production.min.js"></script>
</head>
<body>
<div id="graphiql"><div class="loading">Loading…</div></div>
<script src="{{.Assets}}graphiql.min.js"></script>
<script>
  const url = location.protocol + '//' + location.host + {{.Endpoint}};
  const subscriptionUrl = (location.protocol == 'https:' ? 'wss:' : 'ws:') + '//' + location.host + {{.Endpoint}};
  ReactDOM.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url, subscriptionUrl }),
      isHeadersEditorEnabled: true,
      inputValueDeprecation: true,
    }),
    document.getElementById('graphiql'),
  );
</script>
</body>
</html>
`))
