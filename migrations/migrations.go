package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// lockTimeoutSeconds bounds how long a migration waits for another process
// that holds the migration lock; the lock is polled once a second so that a
// waiting process continues soon after the holder finishes.
const lockTimeoutSeconds = 300

// NewProvider returns a goose provider for the embedded migrations on db.
// Up and Down take a PostgreSQL session-level advisory lock first, so
// concurrent callers serialize instead of racing. Closing the provider closes
// db.
func NewProvider(db *sql.DB, opts ...goose.ProviderOption) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, lockTimeoutSeconds))
	if err != nil {
		return nil, fmt.Errorf("create session locker: %w", err)
	}
	opts = append([]goose.ProviderOption{goose.WithSessionLocker(locker)}, opts...)
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, opts...)
	if err != nil {
		return nil, fmt.Errorf("create migration provider: %w", err)
	}
	return p, nil
}

// OpenDB opens a database/sql handle on databaseURL through pgx. It accepts
// everything pgx.ParseConfig does: a postgres:// URL or key=value pairs.
func OpenDB(databaseURL string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	return stdlib.OpenDB(*cfg), nil
}

// Up applies every pending migration to the database at databaseURL and
// returns what it applied, oldest first. Nothing pending is not an error.
func Up(ctx context.Context, databaseURL string) ([]*goose.MigrationResult, error) {
	var res []*goose.MigrationResult
	err := withProvider(databaseURL, func(p *goose.Provider) error {
		var err error
		res, err = p.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		return nil
	})
	return res, err
}

// Down rolls back the most recently applied migration of the database at
// databaseURL. When none is applied it returns an error wrapping
// goose.ErrNoNextVersion.
func Down(ctx context.Context, databaseURL string) (*goose.MigrationResult, error) {
	var res *goose.MigrationResult
	err := withProvider(databaseURL, func(p *goose.Provider) error {
		var err error
		res, err = p.Down(ctx)
		if err != nil {
			return fmt.Errorf("roll back migration: %w", err)
		}
		return nil
	})
	return res, err
}

// Status reports every embedded migration, oldest first, and whether and when
// it was applied to the database at databaseURL.
func Status(ctx context.Context, databaseURL string) ([]*goose.MigrationStatus, error) {
	var res []*goose.MigrationStatus
	err := withProvider(databaseURL, func(p *goose.Provider) error {
		var err error
		res, err = p.Status(ctx)
		if err != nil {
			return fmt.Errorf("read migration status: %w", err)
		}
		return nil
	})
	return res, err
}

// Hash returns the hex SHA-256 of the embedded migration set: every file's
// name and content, in name order. Two builds with the same Hash create the
// same schema, which is what lets tests clone one template database per Hash.
func Hash() string {
	h := sha256.New()
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		// The embedded FS is fixed at build time; reading its root cannot fail.
		panic(fmt.Sprintf("read embedded migrations: %v", err))
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, e.Name())
		if err != nil {
			panic(fmt.Sprintf("read embedded migration %s: %v", e.Name(), err))
		}
		// Length prefixes keep ("ab","c") and ("a","bc") apart.
		fmt.Fprintf(h, "%d:%s%d:", len(e.Name()), e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func withProvider(databaseURL string, fn func(p *goose.Provider) error) (err error) {
	db, err := OpenDB(databaseURL)
	if err != nil {
		return err
	}
	p, err := NewProvider(db)
	if err != nil {
		_ = db.Close()
		return err
	}
	defer func() {
		if cerr := p.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close database: %w", cerr)
		}
	}()
	return fn(p)
}
