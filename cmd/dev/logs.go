package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// componentKey is the slog attribute that names the part of the environment a
// line comes from; the console shows it as the line's prefix.
const componentKey = "component"

// logFiles holds the full log of each component, one file per component in
// one directory, truncated at every start so the directory never grows. The
// console gets the lines that matter; the files get everything.
type logFiles struct {
	dir string

	mu    sync.Mutex
	files map[string]*os.File
}

func openLogFiles(dir string) (*logFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the log directory %s: %w", dir, err)
	}
	return &logFiles{dir: dir, files: map[string]*os.File{}}, nil
}

// path is where component's full log is written.
func (l *logFiles) path(component string) string {
	return filepath.Join(l.dir, component+".log")
}

// file returns component's log file, created (or truncated) on first use.
func (l *logFiles) file(component string) (io.Writer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.files[component]; ok {
		return f, nil
	}
	f, err := os.OpenFile(l.path(component), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the log of %s: %w", component, err)
	}
	l.files[component] = f
	return f, nil
}

// Close closes every file. Calling it twice is harmless.
func (l *logFiles) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for name, f := range l.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
		delete(l.files, name)
	}
	return first
}

// consoleHandler writes one short line per record: the time, the component
// as a prefix, the level when it is not INFO, the message, then the
// attributes as key=value.
type consoleHandler struct {
	mu        *sync.Mutex
	w         io.Writer
	level     slog.Leveler
	component string
	// attrs renders the attributes (time, level and message removed) into buf.
	attrs slog.Handler
	buf   *bytes.Buffer
}

func newConsoleHandler(w io.Writer, mu *sync.Mutex, level slog.Leveler) *consoleHandler {
	buf := &bytes.Buffer{}
	return &consoleHandler{
		mu:    mu,
		w:     w,
		level: level,
		buf:   buf,
		attrs: slog.NewTextHandler(buf, &slog.HandlerOptions{
			Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 {
					switch a.Key {
					case slog.TimeKey, slog.LevelKey, slog.MessageKey:
						return slog.Attr{}
					}
				}
				return a
			},
		}),
	}
}

func (h *consoleHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *consoleHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.attrs.Handle(ctx, r); err != nil {
		return err
	}
	var line strings.Builder
	line.WriteString(r.Time.Format("15:04:05"))
	line.WriteByte(' ')
	line.WriteString(componentPrefix(h.component))
	if r.Level != slog.LevelInfo {
		line.WriteString(r.Level.String())
		line.WriteByte(' ')
	}
	line.WriteString(r.Message)
	if rest := strings.TrimSpace(h.buf.String()); rest != "" {
		line.WriteString("  ")
		line.WriteString(rest)
	}
	line.WriteByte('\n')
	_, err := io.WriteString(h.w, line.String())
	return err
}

func (h *consoleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	rest := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		if a.Key == componentKey {
			c.component = a.Value.String()
			continue
		}
		rest = append(rest, a)
	}
	c.attrs = h.attrs.WithAttrs(rest)
	return &c
}

func (h *consoleHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.attrs = h.attrs.WithGroup(name)
	return &c
}

// componentPrefix pads a component's name so that messages line up.
func componentPrefix(component string) string {
	if component == "" {
		component = "dev"
	}
	return fmt.Sprintf("%-14s ", component)
}

// lineWriter passes a child process's output on line by line: every line to
// the component's file, and to the console, prefixed, the lines keep says
// matter. Write never fails because of the console, so a child never blocks
// or dies on it.
type lineWriter struct {
	file      io.Writer
	consoleMu *sync.Mutex
	console   io.Writer
	component string
	keep      func(line string) bool

	mu      sync.Mutex
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file != nil {
		_, _ = w.file.Write(p)
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if w.keep != nil && !w.keep(line) {
		return
	}
	// The console line has a time of its own, and says a level only when it is not INFO.
	if rest, ok := strings.CutPrefix(line, "time="); ok {
		if _, after, ok := strings.Cut(rest, " "); ok {
			line = after
		}
	}
	line = strings.TrimPrefix(line, "level=INFO ")
	w.consoleMu.Lock()
	defer w.consoleMu.Unlock()
	fmt.Fprintf(w.console, "%s %s%s\n", time.Now().Format("15:04:05"), componentPrefix(w.component), line)
}

// Flush writes a last line that did not end in a newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit(string(w.partial))
		w.partial = nil
	}
}

// slogLineLevel reads the level of a line a child process wrote with slog's
// text handler (level=INFO) or Rust's env_logger ([... WARN ...]); it reports
// false when the line has none.
func slogLineLevel(line string) (slog.Level, bool) {
	if i := strings.Index(line, "level="); i >= 0 {
		f := strings.Fields(line[i+len("level="):])
		if len(f) > 0 {
			var l slog.Level
			if l.UnmarshalText([]byte(f[0])) == nil {
				return l, true
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(line))
	sc.Split(bufio.ScanWords)
	for n := 0; sc.Scan() && n < 4; n++ {
		switch strings.Trim(sc.Text(), "[]") {
		case "TRACE", "DEBUG":
			return slog.LevelDebug, true
		case "INFO":
			return slog.LevelInfo, true
		case "WARN":
			return slog.LevelWarn, true
		case "ERROR":
			return slog.LevelError, true
		}
	}
	return 0, false
}

// atLeast keeps the lines at level or above, and lines with no level.
func atLeast(level slog.Leveler) func(string) bool {
	return func(line string) bool {
		l, ok := slogLineLevel(line)
		return !ok || l >= level.Level()
	}
}
