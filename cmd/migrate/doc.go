// Command migrate applies, rolls back and reports the embedded database
// migrations:
//
//	migrate up|down|status [-database-url URL]
//
// The database URL defaults to $DATABASE_URL. up applies every pending
// migration, down rolls back the most recent one, status lists them all.
// Migrations take an advisory lock, so running migrate while another
// process migrates the same database waits instead of racing.
package main
