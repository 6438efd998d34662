// Package pgcluster runs a private PostgreSQL server from the server binaries
// installed on the machine, for development and tests when no DATABASE_URL
// is given.
//
// A cluster lives in one directory: data/ is PGDATA, run/ holds the Unix
// socket and postgres.log the server log. The server listens on 127.0.0.1
// only, trusts every local connection, and runs with fsync off: its data is
// disposable by design and must never be the only copy of anything.
//
// [Start] initializes the directory on first use and starts the server, or
// reuses the server already running on it, so a development cluster under
// [DevDir] survives restarts of the tools that use it. [StartTemp] runs a
// throwaway cluster in a fresh temporary directory that [Cluster.Stop]
// removes; it also reaps the throwaway clusters of processes that died before
// stopping theirs.
//
// PostgreSQL refuses to run as root. When the caller is root, initdb and the
// server run as the "postgres" user, which is created when missing; the
// cluster directory is given to that user, and temporary directories above
// it are made searchable.
package pgcluster
