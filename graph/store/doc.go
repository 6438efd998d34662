// Package store reads the indexer's PostgreSQL read model (the chain_event
// audit log and the projection tables of migrations/) for the GraphQL server.
// All of the server's SQL lives here.
//
// Functions that fetch rows by key take many keys at once and return a map,
// so the GraphQL layer can batch nested fields of one request into one query
// per table; a key without a row is absent from the map.
//
// Derived proposal statuses use the chain's clock :
// the Clock sysvar's unix_timestamp the indexer last recorded in chain_tip,
// else the latest block_time in chain_event, else the database's now()
// while the log is empty. The chain's clock, not the server's, is what the program checks
// eta and grace periods against, and a read model that lags or follows a
// local cluster with a warped clock would otherwise disagree with the chain.
package store
