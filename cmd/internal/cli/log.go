package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewLogger returns a text logger writing to w at level that hides r's secrets in the message
// and in every attribute, errors included.
func NewLogger(w io.Writer, level slog.Leveler, r *Redactor) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: r.replaceAttr}))
}

// NewRegistry returns a metrics registry holding the Go runtime's and the process's collectors,
// which every binary exposes next to its own series.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// redacted replaces a secret.
const redacted = "REDACTED"

// minTokenLen is the length from which a URL path segment counts as a token (an Alchemy key has
// 32 characters, a QuickNode token 40), while "v2" or "rpc" stay readable.
const minTokenLen = 16

// RedactURL returns raw with its secrets replaced: the user information, every query value and
// every path segment long enough to be a token. A string that does not parse as a URL is
// replaced whole, since it cannot be told apart from a secret.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{redacted}
		}
		u.RawQuery = q.Encode()
	}
	if u.Fragment != "" {
		u.Fragment = redacted
	}
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if len(s) >= minTokenLen {
			segs[i] = redacted
		}
	}
	u.Path, u.RawPath = strings.Join(segs, "/"), ""
	return u.String()
}

// secrets returns the parts of raw that RedactURL hides.
func secrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw}
	}
	var out []string
	if u.User != nil {
		out = append(out, u.User.String(), u.User.Username())
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p))
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			out = append(out, v, url.QueryEscape(v))
		}
	}
	if u.Fragment != "" {
		out = append(out, u.Fragment)
	}
	for _, s := range strings.Split(u.Path, "/") {
		if len(s) >= minTokenLen {
			out = append(out, s)
		}
	}
	return out
}

// Redactor hides the secrets of some URLs wherever they appear in a string: the URL itself is
// replaced by RedactURL's form, and each secret alone (as an error quoting a rebuilt URL holds
// it) by REDACTED. The zero Redactor, and a nil one, hide nothing.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor returns a Redactor for urls (empty ones are skipped).
func NewRedactor(urls ...string) *Redactor {
	var pairs []string
	for _, u := range urls {
		if u == "" {
			continue
		}
		if r := RedactURL(u); r != u {
			pairs = append(pairs, u, r)
		}
	}
	for _, u := range urls {
		if u == "" {
			continue
		}
		for _, s := range secrets(u) {
			// Short values ("1", "true") would garble unrelated text and hide nothing.
			if len(s) >= 4 {
				pairs = append(pairs, s, redacted)
			}
		}
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Redact returns s with r's secrets hidden.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

func (r *Redactor) replaceAttr(_ []string, a slog.Attr) slog.Attr {
	if r == nil || r.r == nil {
		return a
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); r.Redact(s) != s {
			a.Value = slog.StringValue(r.Redact(s))
		}
	case slog.KindAny:
		v := a.Value.Any()
		var s string
		switch v := v.(type) {
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		default:
			return a
		}
		if red := r.Redact(s); red != s {
			a.Value = slog.StringValue(red)
		}
	}
	return a
}
