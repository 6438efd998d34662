// Command graphql serves the GraphQL read model of upgrade-manager:
//
//	graphql [-addr 127.0.0.1:8080] [-database-url URL] [-allowed-origins https://a,https://b]
//
// Endpoints: /graphql (POST, GET and websocket subscriptions on both
// graphql-transport-ws and graphql-ws), a GraphiQL page at /, /metrics and
// /healthz. Every flag falls back to an environment variable (shown in
// -help). Run any number of replicas on one database: each listens for the
// indexer's notifications on its own connection.
package main
