package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/upgrade-manager/upgrade-manager/graph/graphiql"
)

// Limits protect the server from expensive or oversized requests.
type Limits struct {
	// Complexity bounds an operation's cost; list fields cost their page
	// size times their selection. SubscriptionComplexity bounds a
	// subscription's selection, which runs on every event.
	Complexity, SubscriptionComplexity int
	// Depth bounds how deeply selections nest.
	Depth int
	// MaxPageSize bounds first and last; DefaultPageSize applies when
	// neither is given.
	MaxPageSize, DefaultPageSize int
	// MaxBodyBytes bounds a request body, a GET query string and a
	// websocket message.
	MaxBodyBytes int64
	// MaxAliases bounds the aliased fields of an operation (fragments
	// counted per spread): aliases are how one small request asks for the
	// same expensive field many times.
	MaxAliases int
	// QueryCost is the complexity of one database query (a list's page,
	// whatever its size); ScanCost that of one that reads every matching
	// row (a totalCount, a filter no index serves).
	QueryCost, ScanCost int
}

// DefaultLimits are the limits the server runs with unless told otherwise.
var DefaultLimits = Limits{
	Complexity:             20000,
	SubscriptionComplexity: 500,
	Depth:                  10,
	MaxPageSize:            100,
	DefaultPageSize:        20,
	MaxBodyBytes:           1 << 20,
	MaxAliases:             30,
	QueryCost:              10,
	ScanCost:               1000,
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
	// RequestTimeout bounds each query and mutation (zero: the default).
	RequestTimeout time.Duration
	// WS bounds websocket connections and their operations (zero: the
	// defaults).
	WS WSLimits
	// AllowedHosts, when not empty, are the Host names (without port) the
	// server answers to; others get 421. It defends a server on loopback
	// against DNS rebinding.
	AllowedHosts []string
	// GraphiQL serves GraphiQL at /; Introspection answers __schema and
	// __type queries.
	GraphiQL, Introspection bool
	// NoSharedSubscriptions runs every subscription on its own instead of
	// once for all equal ones (for comparison in benchmarks).
	NoSharedSubscriptions bool
}

// NewHandler returns the HTTP handler of the GraphQL server: /graphql
// (POST, GET, websocket), GraphiQL at /, /metrics and /healthz.
func NewHandler(cfg HandlerConfig) http.Handler {
	h, _ := newHandler(cfg)
	return h
}

// newHandler is NewHandler, also returning its websocket transport (whose
// connections Server.Run waits for).
func newHandler(cfg HandlerConfig) (http.Handler, *wsTransport) {
	r := cfg.Resolver
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultServerConfig().RequestTimeout
	}
	if cfg.WS == (WSLimits{}) {
		cfg.WS = DefaultWSLimits
	}
	schema := NewExecutableSchema(Config{
		Resolvers:  r,
		Complexity: complexity(cfg.Limits),
	})
	metrics := NewMetrics(cfg.Registry)
	limiter := newWSLimiter(cfg.WS)
	metrics.observeWebsockets(cfg.Registry, limiter)
	srv := handler.New(schema)
	ws := &wsTransport{
		accept:      acceptOptions(cfg.AllowedOrigins),
		limiter:     limiter,
		logger:      cfg.Logger,
		keepAlive:   cfg.KeepAlive,
		initTimeout: 10 * time.Second,
		readLimit:   cfg.Limits.MaxBodyBytes,
	}
	srv.AddTransport(ws)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(shapeLimit{depth: cfg.Limits.Depth, aliases: cfg.Limits.MaxAliases})
	srv.Use(&costLimit{limit: cfg.Limits.Complexity, subscriptionLimit: cfg.Limits.SubscriptionComplexity, scan: cfg.Limits.ScanCost})
	guard := operationGuard{timeout: cfg.RequestTimeout, logger: cfg.Logger, subscriptions: metrics.subscriptions}
	if !cfg.NoSharedSubscriptions {
		guard.share = &shareGroups{buffer: max(r.SubscriberBuffer, 1), subscriptions: metrics.subscriptions}
	}
	srv.Use(guard)
	srv.Use(loaderExtension{store: r.Store})
	srv.Use(newMetricsExtension(metrics))
	srv.SetErrorPresenter(errorPresenter(cfg.Logger))
	srv.SetRecoverFunc(recoverFunc)

	mux := http.NewServeMux()
	allowed := allowHosts(cfg.AllowedHosts, mux)
	mux.Handle("/graphql", cors(cfg.AllowedOrigins, gate(cfg.Gate, limitBody(cfg.Limits.MaxBodyBytes, srv))))
	if cfg.GraphiQL {
		page := graphiql.Handler("upgrade-manager", "/graphql")
		mux.Handle("GET /{$}", page)
		mux.Handle("GET "+graphiql.AssetsPath, page)
	}
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every response varies by Origin (allowed or not), so a shared
		// cache never serves one origin's answer to another.
		w.Header().Add("Vary", "Origin")
		allowed.ServeHTTP(w, r)
	}), ws
}

// allowHosts answers 421 to requests for a Host not in hosts (any, when
// hosts is empty): a page on another site whose name was rebound to this
// server's address then cannot read from it.
func allowHosts(hosts []string, next http.Handler) http.Handler {
	if len(hosts) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
		if !slices.ContainsFunc(hosts, func(h string) bool { return strings.EqualFold(h, host) }) {
			http.Error(w, fmt.Sprintf("host %q is not served here (see -allowed-hosts)", truncate(r.Host)), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
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
