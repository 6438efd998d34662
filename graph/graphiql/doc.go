// Package graphiql serves GraphiQL from the binary: the page and the
// built JavaScript and CSS of graphiql, react and react-dom, embedded from
// assets/ (see assets/SOURCES.md for where they come from and how to
// refresh them), so GraphiQL works without the internet.
package graphiql
