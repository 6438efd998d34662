package main

import (
	"go/token"
	"strings"
	"unicode"
)

// initialisms are written in capitals inside Go names (Go's naming habit).
var initialisms = map[string]string{
	"id": "ID", "uri": "URI", "url": "URL", "json": "JSON", "api": "API",
	"http": "HTTP", "https": "HTTPS", "ip": "IP", "uuid": "UUID", "sql": "SQL",
	"pda": "PDA", "utf8": "UTF8",
}

// words splits snake_case, SCREAMING_CASE and CamelCase names into lowercase words.
func words(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == ' ' || r == '.' }) {
		if strings.ToUpper(part) == part {
			out = append(out, strings.ToLower(part))
			continue
		}
		start := 0
		rs := []rune(part)
		for i := 1; i < len(rs); i++ {
			if unicode.IsUpper(rs[i]) && (!unicode.IsUpper(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
				out = append(out, strings.ToLower(string(rs[start:i])))
				start = i
			}
		}
		out = append(out, strings.ToLower(string(rs[start:])))
	}
	return out
}

// exported turns an IDL name into an exported Go name.
func exported(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		if up, ok := initialisms[w]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	out := b.String()
	if out == "" || !unicode.IsLetter(rune(out[0])) {
		out = "X" + out
	}
	return out
}

// unexported turns an IDL name into an unexported Go name that is neither
// a keyword nor one of the identifiers the generated code uses itself.
func unexported(s string) string {
	ws := words(s)
	var b strings.Builder
	for i, w := range ws {
		if i == 0 {
			b.WriteString(w)
			continue
		}
		if up, ok := initialisms[w]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	out := b.String()
	if out == "" || !unicode.IsLetter(rune(out[0])) {
		out = "x" + out
	}
	if token.IsKeyword(out) || reservedLocals[out] {
		out += "Arg"
	}
	return out
}

// reservedLocals are names the generated functions use for packages and locals.
var reservedLocals = map[string]bool{
	"accounts": true, "binary": true, "idlcodec": true, "solana": true, "data": true,
	"b": true, "n": true, "err": true, "dst": true, "v": true, "fmt": true, "utf8": true,
	"bump": true, "addr": true, "seeds": true, "true": true, "false": true, "nil": true,
	"len": true, "make": true, "new": true, "append": true, "copy": true, "string": true,
	"byte": true, "int": true, "bool": true, "error": true, "uint8": true, "uint64": true,
}
