package graph

//go:generate sh -c "cd .. && go run github.com/99designs/gqlgen generate --config gqlgen.yml"

import (
	"log/slog"

	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// Resolver is the root resolver and the dependency-injection point of the
// schema: everything a resolver uses comes from here.
type Resolver struct {
	Store  *store.Store
	Broker *fanout.Broker
	Logger *slog.Logger
	// Build serves the build* mutations; nil answers them UNAVAILABLE.
	Build *Builder

	// MaxPageSize bounds first and last; DefaultPageSize applies when
	// neither is given.
	MaxPageSize, DefaultPageSize int
	// SubscriberBuffer is how many events a subscription may fall behind
	// before it is dropped.
	SubscriberBuffer int

	// shared holds the loaders of recent events, shared by their
	// subscribers.
	shared sharedEvents
}
