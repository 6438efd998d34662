package chain

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/ws"

	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
)

// Log is one logsSubscribe notification: a transaction that mentions the
// program reached the subscription's commitment.
type Log struct {
	Signature string
	Slot      uint64
	Failed    bool
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// URL is the websocket endpoint.
	URL string
	// Program is the address whose mentions are subscribed to.
	Program string
	// Commitment of the notifications; zero means confirmed.
	Commitment Commitment
	// MinBackoff and MaxBackoff bound the delay between reconnects; zero
	// means 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Metrics                *Metrics
}

// Subscriber keeps a logsSubscribe subscription alive. solana-go's
// websocket client never reconnects (any read error ends every
// subscription); Subscriber does, with backoff and jitter, and reports every
// new subscription so the caller can backfill what it may have missed.
type Subscriber struct {
	cfg    SubscriberConfig
	logger *slog.Logger
}

// NewSubscriber returns a subscriber for cfg.
func NewSubscriber(cfg SubscriberConfig) *Subscriber {
	if cfg.Commitment == "" {
		cfg.Commitment = Confirmed
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Subscriber{cfg: cfg, logger: logger}
}

// stableAfter is how long a connection must last for the next reconnect to
// start from the shortest delay again.
const stableAfter = 30 * time.Second

// Run subscribes and calls onLog for every notification until ctx ends.
// After each subscription request is sent, first and after every reconnect,
// it calls onSubscribed, before any notification of that subscription.
// Connection failures are retried forever; Run returns only ctx's error.
func (s *Subscriber) Run(ctx context.Context, onSubscribed func(), onLog func(Log)) error {
	program, err := solana.PublicKeyFromBase58(s.cfg.Program)
	if err != nil {
		return fmt.Errorf("subscriber: program %q: %w", s.cfg.Program, err)
	}
	b := backoff.Backoff{Min: s.cfg.MinBackoff, Max: s.cfg.MaxBackoff}
	for connected := false; ; connected = true {
		if connected {
			s.cfg.Metrics.reconnect()
		}
		start := time.Now()
		err := s.session(ctx, program, onSubscribed, onLog)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > stableAfter {
			b.Reset()
		}
		d := b.Next()
		s.logger.Warn("log subscription lost; reconnecting", slog.String("error", err.Error()), slog.Duration("retry_in", d))
		if err := backoff.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// session runs one websocket connection until it fails or ctx ends.
func (s *Subscriber) session(ctx context.Context, program solana.PublicKey, onSubscribed func(), onLog func(Log)) error {
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	client, err := ws.Connect(dialCtx, s.cfg.URL)
	cancel()
	if err != nil {
		return fmt.Errorf("connect %s: %w", redactURL(s.cfg.URL), err)
	}
	defer client.Close()
	sub, err := client.LogsSubscribeMentions(program, rpc.CommitmentType(s.cfg.Commitment))
	if err != nil {
		return fmt.Errorf("subscribe to logs: %w", err)
	}
	// Closing the client ends the subscription; Unsubscribe would write to a
	// connection that may already be gone.
	s.logger.Info("log subscription established", slog.String("url", redactURL(s.cfg.URL)))
	onSubscribed()
	for {
		res, err := sub.Recv(ctx)
		if err != nil {
			return err
		}
		s.cfg.Metrics.notice()
		onLog(Log{Signature: res.Value.Signature.String(), Slot: res.Context.Slot, Failed: res.Value.Err != nil})
	}
}

// redactURL drops credentials and query strings (API keys) from u for logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	p.User = nil
	p.RawQuery = ""
	return p.Redacted()
}

// WebsocketURL derives the websocket endpoint from an HTTP JSON-RPC one as
// Solana's tools do: http becomes ws, https wss, and port 8899 (the
// validator's default RPC port) becomes 8900; other ports are kept.
func WebsocketURL(rpcURL string) (string, error) {
	port := ""
	if u, err := url.Parse(rpcURL); err == nil && u.Port() == "8899" {
		port = "8900"
	}
	return WebsocketEndpoint(rpcURL, port)
}

// WebsocketEndpoint turns an HTTP URL into the websocket URL of the same
// server: http becomes ws and https wss (a ws or wss URL is kept), the host
// and path are kept, and the port becomes port unless port is empty. It is
// the project's one derivation of a websocket URL: the indexer's -ws-url
// default (WebsocketURL), cmd/dev's localnet URLs, GraphQL's subscription
// URL in tests and cmd/chaos.
func WebsocketEndpoint(httpURL, port string) (string, error) {
	u, err := url.Parse(httpURL)
	if err != nil {
		return "", fmt.Errorf("parse url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("url %q: scheme must be http or https", redactURL(httpURL))
	}
	if port != "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u.String(), nil
}
