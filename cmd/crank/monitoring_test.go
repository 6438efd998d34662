package main

// The Prometheus rules, the example Prometheus configuration and the Grafana dashboard under
// docs/monitoring are checked here, in a binary's package: from here every binary's metrics can
// be built. The files must load
// (promtool when it is installed, structural checks always), and every metric they name must be
// one the binaries register, so renaming a metric without updating them fails these tests.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/crank"
	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	indexerchain "github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/ingest"
)

const monitoringDir = "../../docs/monitoring"

var (
	rulesFile     = filepath.Join(monitoringDir, "upgrade-manager.rules.yml")
	configFile    = filepath.Join(monitoringDir, "prometheus.yml")
	dashboardFile = filepath.Join(monitoringDir, "upgrade-manager.dashboard.json")
)

// binaryMetrics registers what each binary registers on its own registry: the indexer
// (indexer.Service.Run), the GraphQL server (graph.Server.Run) and the crank (Main.Run).
var binaryMetrics = map[string]func(prometheus.Registerer){
	"indexer": func(r prometheus.Registerer) {
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		indexerchain.NewMetrics(r)
		ingest.NewMetrics(r)
	},
	"graphql": func(r prometheus.Registerer) {
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		fanout.NewMetrics(r)
		graph.NewMetrics(r)
	},
	"crank": func(r prometheus.Registerer) {
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		crank.NewMetrics(r)
	},
}

// describing passes registrations on to a real registry and records the name and type of every
// metric a collector describes: a vector with no children yet is described but not gathered.
type describing struct {
	prometheus.Registerer
	t     *testing.T
	types map[string]string
}

func (d describing) Register(c prometheus.Collector) error {
	d.note(c)
	return d.Registerer.Register(c)
}

func (d describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.note(c)
	}
	d.Registerer.MustRegister(cs...)
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d describing) note(c prometheus.Collector) {
	typ := ""
	switch c.(type) {
	case *prometheus.CounterVec:
		typ = "counter"
	case *prometheus.GaugeVec:
		typ = "gauge"
	case *prometheus.HistogramVec:
		typ = "histogram"
	case *prometheus.SummaryVec:
		typ = "summary"
	}
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		m := fqName.FindStringSubmatch(desc.String())
		if m == nil {
			d.t.Fatalf("no metric name in %s (has prometheus.Desc.String changed?)", desc)
		}
		if _, ok := d.types[m[1]]; !ok || typ != "" {
			d.types[m[1]] = typ
		}
	}
}

// registeredMetrics returns the metric families the binaries register, with their types.
func registeredMetrics(t *testing.T) map[string]string {
	t.Helper()
	types := map[string]string{}
	for name, build := range binaryMetrics {
		reg := prometheus.NewRegistry()
		build(describing{Registerer: reg, t: t, types: types})
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("gather %s metrics: %v", name, err)
		}
		for _, mf := range mfs {
			types[mf.GetName()] = strings.ToLower(dto.MetricType_name[int32(mf.GetType())])
		}
	}
	for name, typ := range types {
		if typ == "" {
			t.Fatalf("metric %s: type unknown (neither a vector nor gathered)", name)
		}
	}
	if len(types) < 30 {
		t.Fatalf("only %d metrics registered: the binaries' metrics were not all built", len(types))
	}
	return types
}

// seriesNames are the names a family's samples carry.
func seriesNames(family, typ string) []string {
	switch typ {
	case "histogram":
		return []string{family + "_bucket", family + "_sum", family + "_count"}
	case "summary":
		return []string{family, family + "_sum", family + "_count"}
	}
	return []string{family}
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promGroupings = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent     = regexp.MustCompile(`[A-Za-z0-9_:.]+`)
	promKeywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan"}
)

// metricNames returns the metric names a PromQL expression selects: identifiers outside strings,
// label matchers, ranges and grouping lists that are not function calls, keywords or numbers.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGroupings.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		if word[0] >= '0' && word[0] <= '9' || word[0] == '.' {
			continue // a number: 1e8, 0.99, 5
		}
		if slices.Contains(promKeywords, strings.ToLower(word)) {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		out = append(out, word)
	}
	return out
}

func TestMetricNamesOfExpressions(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string][]string{
		`up{job=~"upgrade-manager-.*"} == 0`: {"up"},
		`histogram_quantile(0.99, sum by (instance, le) (rate(a_seconds_bucket{x="y"}[10m]))) > 5`: {"a_seconds_bucket"},
		`sum by (i) (rate(a_total{kind="rate_limited"}[5m])) / sum without (k) (b_total) > 0.5`:    {"a_total", "b_total"},
		`max(left) > 0 unless sum(increase(done_total[15m])) > 0`:                                  {"left", "done_total"},
		`balance_lamports / 1e9 < 1e8 and on (instance) x offset 5m`:                               {"balance_lamports", "x"},
		`sum(rate(c_total[5m])) * 900`:                                                             {"c_total"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboardPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalWithOptions(data, &rf, yaml.Strict()); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rf
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// balanced reports whether the brackets of a PromQL expression pair up (strings aside).
func balanced(expr string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, r := range promStrings.ReplaceAllString(expr, `""`) {
		switch r {
		case '(', '[', '{':
			stack = append(stack, r)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0
}

// TestMonitoringRulesStructure checks the rules file's shape without promtool: what Prometheus
// requires of every group and rule, and what docs/OPERATIONS.md relies on (severity, summary,
// description).
func TestMonitoringRulesStructure(t *testing.T) {
	t.Parallel()
	rf := loadRules(t)
	if len(rf.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	groups, alerts := map[string]bool{}, map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("group name %q empty or repeated", g.Name)
		}
		groups[g.Name] = true
		if g.Interval != "" {
			if _, err := model.ParseDuration(g.Interval); err != nil {
				t.Errorf("group %s: interval: %v", g.Name, err)
			}
		}
		if len(g.Rules) == 0 {
			t.Errorf("group %s has no rules", g.Name)
		}
		for i, r := range g.Rules {
			where := fmt.Sprintf("group %s rule %d (%s%s)", g.Name, i, r.Alert, r.Record)
			if (r.Alert == "") == (r.Record == "") {
				t.Errorf("%s: exactly one of alert and record must be set", where)
			}
			if strings.TrimSpace(r.Expr) == "" || !balanced(r.Expr) {
				t.Errorf("%s: expr empty or its brackets unbalanced: %q", where, r.Expr)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", where, err)
				}
			}
			for k := range r.Labels {
				if !model.LegacyValidation.IsValidLabelName(k) {
					t.Errorf("%s: label name %q invalid", where, k)
				}
			}
			if r.Record != "" {
				if !model.LegacyValidation.IsValidMetricName(r.Record) {
					t.Errorf("%s: record name invalid", where)
				}
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("%s: alert name repeated", where)
			}
			alerts[r.Alert] = true
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: severity %q, want critical, warning or info", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: summary and description annotations required", where)
			}
		}
	}
}

// TestMonitoringDashboardStructure checks what Grafana needs to import the dashboard and draw
// every panel from the chosen Prometheus data source.
func TestMonitoringDashboardStructure(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 {
		t.Errorf("uid %q, title %q, schemaVersion %d: all required (schemaVersion ≥ 30)", d.UID, d.Title, d.SchemaVersion)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		hasDS = hasDS || v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}
	if !hasDS {
		t.Error(`no "datasource" variable of type datasource for prometheus`)
	}
	ids := map[int]bool{}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if p.ID == 0 || ids[p.ID] {
				t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Title == "" || p.Type == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("panel %d: title, type and gridPos required", p.ID)
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource must be the ${datasource} variable", p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no targets", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("panel %q: refId %q missing or repeated", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if strings.TrimSpace(tg.Expr) == "" || !balanced(tg.Expr) {
					t.Errorf("panel %q: expr empty or its brackets unbalanced: %q", p.Title, tg.Expr)
				}
			}
		}
	}
	walk(d.Panels)
}

// expressions lists every PromQL expression of the rules and the dashboard, by where it is.
func expressions(t *testing.T) (rules, panels map[string]string) {
	rules, panels = map[string]string{}, map[string]string{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			rules[g.Name+"/"+r.Alert+r.Record] = r.Expr
		}
	}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				panels[fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(loadDashboard(t).Panels)
	return rules, panels
}

// TestMonitoringMetricsExist fails when the rules or the dashboard name a metric no binary
// registers (a typo, or a metric renamed in the code), and when the dashboard leaves out one of
// the binaries' own metrics.
func TestMonitoringMetricsExist(t *testing.T) {
	t.Parallel()
	registered := registeredMetrics(t)
	series := map[string]bool{"up": true} // Prometheus's own, per scrape target
	for family, typ := range registered {
		for _, s := range seriesNames(family, typ) {
			series[s] = true
		}
	}
	rules, panels := expressions(t)
	onDashboard := map[string]bool{}
	for _, set := range []struct {
		exprs     map[string]string
		dashboard bool
	}{{rules, false}, {panels, true}} {
		for where, expr := range set.exprs {
			names := metricNames(expr)
			if len(names) == 0 {
				t.Errorf("%s: no metric in %q", where, expr)
			}
			for _, n := range names {
				if !series[n] {
					t.Errorf("%s: metric %s is not registered by any binary", where, n)
				}
				if set.dashboard {
					onDashboard[n] = true
				}
			}
		}
	}
	var missing []string
	for family, typ := range registered {
		if !strings.HasPrefix(family, "upgrade_manager_") {
			continue
		}
		if !slices.ContainsFunc(seriesNames(family, typ), func(s string) bool { return onDashboard[s] }) {
			missing = append(missing, family)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics on no dashboard panel: %s", strings.Join(missing, ", "))
	}
}

// TestMonitoringPromtool loads the files with Prometheus's own checker: the rules and the example
// configuration, and every dashboard expression as a recording rule (promtool parses PromQL only
// inside rule files). .ci/run installs promtool (Debian package prometheus).
func TestMonitoringPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install -y prometheus); PromQL checked only structurally")
	}
	run := func(args ...string) {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "rules", rulesFile)
	run("check", "config", configFile)

	_, panels := expressions(t)
	keys := make([]string, 0, len(panels))
	for k := range panels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, k := range keys {
		expr, err := json.Marshal(panels[k]) // a JSON string is a valid YAML scalar
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "      - record: dashboard:expr_%d\n        expr: %s\n", i, expr)
	}
	tmp := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run("check", "rules", tmp)
}
