package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
)

// Limits protect the server from expensive or oversized requests.
type Limits struct {
	// Complexity bounds an operation's cost; list fields cost their page
	// size times their selection.
	Complexity int
	// Depth bounds how deeply selections nest.
	Depth int
	// MaxPageSize bounds first and last; DefaultPageSize applies when
	// neither is given.
	MaxPageSize, DefaultPageSize int
	// MaxBodyBytes bounds a request body, a GET query string and a
	// websocket message.
	MaxBodyBytes int64
}

// DefaultLimits are the limits the server runs with unless told otherwise.
var DefaultLimits = Limits{
	Complexity:      20000,
	Depth:           10,
	MaxPageSize:     100,
	DefaultPageSize: 20,
	MaxBodyBytes:    1 << 20,
}

// HandlerConfig is what NewHandler serves.
type HandlerConfig struct {
	Resolver *Resolver
	Logger   *slog.Logger
	Limits   Limits
	// AllowedOrigins are the browser origins (https://app.example) that may
	// call the API and open websockets; "*" allows any. Same-origin pages
	// are always allowed.
	AllowedOrigins []string
	// KeepAlive is the websocket keepalive interval.
	KeepAlive time.Duration
	// Registry receives the server's metrics; Gatherer serves /metrics.
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Health reports whether the server can serve; /healthz answers 503
	// with its error otherwise.
	Health func(ctx context.Context) error
	// Gate, when set, must pass before /graphql serves anything: while it
	// fails, /graphql answers 503 with a CLUSTER_MISMATCH error (the
	// database does not hold the RPC's cluster's data), and /healthz
	// reports it.
	Gate func(ctx context.Context) error
}

// NewHandler returns the HTTP handler of the GraphQL server: /graphql
// (POST, GET, websocket), GraphiQL at /, /metrics and /healthz.
func NewHandler(cfg HandlerConfig) http.Handler {
	r := cfg.Resolver
	schema := NewExecutableSchema(Config{
		Resolvers:  r,
		Complexity: complexity(cfg.Limits.MaxPageSize, cfg.Limits.DefaultPageSize),
	})
	srv := handler.New(schema)
	srv.AddTransport(transport.Websocket{
		Implementation:        transport.CoderWebsocketImplementation{AcceptOptions: acceptOptions(cfg.AllowedOrigins)},
		KeepAlivePingInterval: cfg.KeepAlive,
		InitTimeout:           10 * time.Second,
		PayloadReadLimit:      &cfg.Limits.MaxBodyBytes,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.FixedComplexityLimit(cfg.Limits.Complexity))
	srv.Use(depthLimit{limit: cfg.Limits.Depth})
	srv.Use(loaderExtension{store: r.Store})
	srv.Use(newMetricsExtension(NewMetrics(cfg.Registry)))
	srv.SetErrorPresenter(errorPresenter(cfg.Logger))
	srv.SetRecoverFunc(recoverFunc)

	mux := http.NewServeMux()
	mux.Handle("/graphql", cors(cfg.AllowedOrigins, gate(cfg.Gate, limitBody(cfg.Limits.MaxBodyBytes, srv))))
	mux.Handle("GET /{$}", playground.Handler("upgrade-manager", "/graphql"))
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, req *http.Request) {
		if cfg.Gate != nil {
			if err := cfg.Gate(req.Context()); err != nil {
				http.Error(w, "not serving: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		if cfg.Health != nil {
			if err := cfg.Health(req.Context()); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// gate answers 503 with a CLUSTER_MISMATCH error while check fails (preflights pass).
func gate(check func(context.Context) error, next http.Handler) http.Handler {
	if check == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodOptions {
			if err := check(req.Context()); err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
					"message":    "the database does not hold the RPC's cluster's data yet; try again shortly",
					"extensions": map[string]any{"code": CodeClusterMismatch},
				}}})
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}

// acceptOptions turns allowed origins into the websocket library's host
// patterns.
func acceptOptions(origins []string) websocket.AcceptOptions {
	var opts websocket.AcceptOptions
	for _, o := range origins {
		if o == "*" {
			opts.InsecureSkipVerify = true // any origin: the operator asked for it
			continue
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			opts.OriginPatterns = append(opts.OriginPatterns, u.Host)
		}
	}
	return opts
}

// cors answers preflights and marks responses readable by the allowed
// origins.
func cors(origins []string, next http.Handler) http.Handler {
	anyOrigin := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (anyOrigin || slices.Contains(origins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody rejects request bodies and query strings over max bytes with
// a GraphQL error, before anything parses them.
func limitBody(max int64, next http.Handler) http.Handler {
	tooLarge := func(w http.ResponseWriter, what string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
			"message":    fmt.Sprintf("%s is larger than %d bytes", what, max),
			"extensions": map[string]any{"code": CodeBadUserInput},
		}}})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int64(len(r.URL.RawQuery)) > max {
			tooLarge(w, "query string")
			return
		}
		if r.Body != nil && r.Method == http.MethodPost {
			if r.ContentLength > max {
				tooLarge(w, "request body")
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				http.Error(w, "read request body", http.StatusBadRequest)
				return
			}
			if int64(len(body)) > max {
				tooLarge(w, "request body")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}
