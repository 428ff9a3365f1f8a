// Command sigma_bench is the sigma-go peer of bench/run.sh: it evaluates
// Sigma rules (bench/sigma/*.yml, the CIS pack's 15 controls) with
// github.com/bradleyjkemp/sigma-go v0.6.6 over JSON lines, the way a Go
// program built on that library would, and as fast as we could make it.
//
//	sigma_bench [-decode fields|map|map-std] [-counts] [-cpuprofile F] RULES_DIR FILE
//
// sigma-go evaluates an event given as a map[string]interface{} and looks a
// rule's field up by its whole name as a key of that map: a dotted name such
// as `userIdentity.type` is one key (its only way to nested values is a
// configuration of JSONPath field mappings, evaluated per event, much slower).
// So each line becomes a map holding every field name the rules use, dotted
// names resolved through the JSON objects. Two ways to get there:
//
//	fields   (the default, the fastest) github.com/valyala/fastjson parses
//	         the line — a full parse that rejects malformed JSON, as secdet
//	         does — and only the rules' fields are put into one map, cleared
//	         and reused for every line;
//	map      the whole line decoded into a new map by github.com/bytedance/sonic
//	         (the usual way to feed sigma-go, with the fastest general decoder
//	         we tried: over the benchmark's records the whole run took 1/1.2
//	         of the time it took with github.com/goccy/go-json, 1/1.6 of
//	         encoding/json's), then the rules' dotted names added to it;
//	map-std  the same with encoding/json, for reference.
//
// The rules are evaluated together (evaluator.ForRules) and case-sensitively
// (evaluator.CaseSensitive: secdet's `like` is case-sensitive; sigma-go's
// plain equality stays case-insensitive either way). A rule whose Match is
// true is one alert.
//
// The time goes to sigma-go itself: with -decode fields, 2/3 of the CPU
// profile (-cpuprofile) is RuleEvaluatorBundle.Matches and the allocations
// it makes for every rule and event, a tenth the JSON parse. bench/run.sh
// runs it with GOMAXPROCS=1, the benchmark being per core (Go's collector
// would otherwise take the second CPU).
//
// Prints to stderr "events=N alerts=N malformed=N decode=NAME"; with -counts,
// prints to stdout "RULE COUNT" for every rule that matched (RULE: the file
// name without .yml), the lines bench/run.sh sorts and compares with secdet's
// alerts per rule. Exit status 0, 1 on bad usage or an unreadable
// rule or input, 2 when sigma-go reports an error evaluating a rule.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"github.com/bytedance/sonic"
	"github.com/valyala/fastjson"
)

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sigma_bench: "+format+"\n", args...)
	os.Exit(code)
}

// loadRules parses every *.yml of dir; names are the file names without .yml.
func loadRules(dir string) ([]sigma.Rule, []string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		fail(1, "no rules (*.yml) in %s", dir)
	}
	sort.Strings(files)
	var rules []sigma.Rule
	var names []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			fail(1, "%v", err)
		}
		rule, err := sigma.ParseRule(text)
		if err != nil {
			fail(1, "%s: %v", f, err)
		}
		rules = append(rules, rule)
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yml"))
	}
	return rules, names
}

// ruleFields lists every field name the rules test, each once.
func ruleFields(rules []sigma.Rule) []string {
	seen := map[string]bool{}
	var fields []string
	for _, r := range rules {
		for _, search := range r.Detection.Searches {
			for _, matcher := range search.EventMatchers {
				for _, fm := range matcher {
					if !seen[fm.Field] {
						seen[fm.Field] = true
						fields = append(fields, fm.Field)
					}
				}
			}
		}
	}
	sort.Strings(fields)
	return fields
}

// fromFastjson turns a fastjson value into what sigma-go compares: strings,
// numbers, booleans and nil as Go values; objects and arrays as their JSON text.
func fromFastjson(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		return v.GetFloat64()
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	case fastjson.TypeNull:
		return nil
	default:
		return v.String()
	}
}

// nested resolves a dotted name through decoded JSON objects.
func nested(m map[string]any, path []string) (any, bool) {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// explain evaluates each rule alone to name the one sigma-go cannot evaluate.
func explain(ctx context.Context, rules []sigma.Rule, names []string, event map[string]any) error {
	for i, r := range rules {
		if _, err := evaluator.ForRule(r, evaluator.CaseSensitive).Matches(ctx, event); err != nil {
			return fmt.Errorf("rule %s: %v", names[i], err)
		}
	}
	return fmt.Errorf("sigma-go returned fewer results than rules")
}

func main() {
	decode := flag.String("decode", "fields", "fields, map or map-std")
	counts := flag.Bool("counts", false, "print the matches per rule")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	flag.Parse()
	if flag.NArg() != 2 || (*decode != "fields" && *decode != "map" && *decode != "map-std") {
		fmt.Fprintln(os.Stderr, "usage: sigma_bench [-decode fields|map|map-std] [-counts] [-cpuprofile F] RULES_DIR FILE")
		os.Exit(1)
	}
	rules, names := loadRules(flag.Arg(0))
	bundle := evaluator.ForRules(rules, evaluator.CaseSensitive)
	fields := ruleFields(rules)
	paths := make([][]string, len(fields))
	for i, f := range fields {
		paths[i] = strings.Split(f, ".")
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(1, "%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(1, "%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	in, err := os.Open(flag.Arg(1))
	if err != nil {
		fail(1, "%v", err)
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)

	ctx := context.Background()
	var parser fastjson.Parser
	reused := make(map[string]any, len(fields))
	perRule := make([]int, len(rules))
	var events, alerts, malformed int
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		events++
		var event map[string]any
		switch *decode {
		case "fields":
			v, err := parser.ParseBytes(line)
			if err != nil || v.Type() != fastjson.TypeObject {
				malformed++
				continue
			}
			clear(reused)
			for i, p := range paths {
				if fv := v.Get(p...); fv != nil {
					reused[fields[i]] = fromFastjson(fv)
				}
			}
			event = reused
		default:
			var err error
			if *decode == "map" {
				err = sonic.Unmarshal(line, &event)
			} else {
				err = json.Unmarshal(line, &event)
			}
			if err != nil || event == nil {
				malformed++
				continue
			}
			for i, p := range paths {
				if len(p) > 1 {
					if v, ok := nested(event, p); ok {
						event[fields[i]] = v
					}
				}
			}
		}
		results, err := bundle.Matches(ctx, event)
		if err == nil && len(results) != len(rules) {
			// The bundle leaves out a rule that failed and says nothing:
			// find which, and why.
			err = explain(ctx, rules, names, event)
		}
		if err != nil {
			fail(2, "line %d: %v", events, err)
		}
		for i, r := range results {
			if r.Match {
				alerts++
				perRule[i]++
			}
		}
	}
	if err := sc.Err(); err != nil {
		fail(1, "%s: %v", flag.Arg(1), err)
	}
	fmt.Fprintf(os.Stderr, "events=%d alerts=%d malformed=%d decode=%s\n", events, alerts, malformed, *decode)
	if *counts {
		out := bufio.NewWriter(os.Stdout)
		for i, n := range perRule {
			if n > 0 {
				fmt.Fprintf(out, "%s %d\n", names[i], n)
			}
		}
		out.Flush()
	}
}
