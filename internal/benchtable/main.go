// Command benchtable reads `go test -bench` output and prints, for each
// benchmark, the median of its runs and its ratio to the baseline measured
// in the same run (the median of the ratios of paired runs), then checks
// the performance targets of the README.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./session ./middleware ./resource ./bench | go run ./internal/benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// line matches "BenchmarkGroup/name-2   123   456 ns/op   7 unit ...": the
// group is all but the last element of the name ("BenchmarkVerifyIDToken/
// RS256" for "BenchmarkVerifyIDToken/RS256/oidcrp-2"), so that each group
// has its own baseline.
var line = regexp.MustCompile(`^(Benchmark\S+)/([^/\s]+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type result struct {
	group, name string
	metrics     map[string][]float64 // unit -> one value per run
}

func (r *result) median(unit string) float64 {
	v := slices.Clone(r.metrics[unit])
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// paired returns the median over runs of f(a's run i, b's run i) in unit:
// scripts/bench runs every benchmark once per round, so that the i-th runs
// of a group's benchmarks are taken seconds apart, under the same load,
// and a ratio or difference of paired runs scatters far less on a shared
// machine than one of two medians.
func paired(a, b *result, unit string, f func(x, y float64) float64) float64 {
	va, vb := a.metrics[unit], b.metrics[unit]
	n := min(len(va), len(vb))
	v := make([]float64, n)
	for i := range n {
		v[i] = f(va[i], vb[i])
	}
	return (&result{metrics: map[string][]float64{unit: v}}).median(unit)
}

func div(x, y float64) float64 { return x / y }
func sub(x, y float64) float64 { return x - y }

func parse(in io.Reader) ([]*result, error) {
	var order []*result
	byKey := map[string]*result{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		key := m[1] + "/" + m[2]
		r := byKey[key]
		if r == nil {
			r = &result{group: m[1], name: m[2], metrics: map[string][]float64{}}
			byKey[key] = r
			order = append(order, r)
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			r.metrics[f[i+1]] = append(r.metrics[f[i+1]], v)
		}
	}
	return order, sc.Err()
}

func main() {
	results, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on standard input")
		os.Exit(2)
	}
	find := func(group, name string) *result {
		for _, r := range results {
			if r.group == group && r.name == name {
				return r
			}
		}
		return nil
	}
	fmt.Printf("%-52s %12s %10s %8s %10s %12s\n", "benchmark (median of runs)", "ns/op", "×baseline", "allocs", "B/op", "cookie bytes")
	for _, r := range results {
		ratio := "-"
		if base := find(r.group, "baseline"); base != nil && base != r {
			ratio = fmt.Sprintf("%.2f", paired(r, base, "ns/op", div))
		}
		cookie := "-"
		if v := r.median("cookie-bytes"); v > 0 {
			cookie = fmt.Sprintf("%.0f", v)
		}
		fmt.Printf("%-52s %12.0f %10s %8.0f %10.0f %12s\n", strings.TrimPrefix(r.group, "Benchmark")+"/"+r.name,
			r.median("ns/op"), ratio, r.median("allocs/op"), r.median("B/op"), cookie)
	}

	fmt.Println()
	failed := false
	check := func(what string, ok bool, got string) {
		status := "ok  "
		if !ok {
			status, failed = "MISS", true
		}
		fmt.Printf("%s %-64s %s\n", status, what, got)
	}
	ratio := func(group, a, b string) (float64, bool) {
		ra, rb := find(group, a), find(group, b)
		if ra == nil || rb == nil {
			return 0, false
		}
		return paired(ra, rb, "ns/op", div), true
	}
	if v, ok := ratio("BenchmarkAuthenticatedRequest", "oidcrp", "baseline+decode"); ok {
		check("authenticated request ≤ 1.3× baseline with full decode", v <= 1.3, fmt.Sprintf("%.2f×", v))
		if n, ok := ratio("BenchmarkAuthenticatedRequest", "oidcrp-new-cookie", "baseline+decode"); ok {
			check("authenticated request with a new cookie ≤ 1.1× baseline with full decode", n <= 1.1, fmt.Sprintf("%.2f×", n))
		}
		allocs := find("BenchmarkAuthenticatedRequest", "oidcrp").median("allocs/op")
		check("authenticated request ≤ 20 allocations", allocs <= 20, fmt.Sprintf("%.0f", allocs))
		s, _ := ratio("BenchmarkAuthenticatedRequest", "securecookie", "oidcrp")
		check("authenticated request ≥ 4× faster than securecookie", s >= 4, fmt.Sprintf("%.1f×", s))
	}
	if r := find("BenchmarkSessionDecode", "oidcrp"); r != nil {
		size := r.median("cookie-bytes")
		check("reference session cookie ≤ 2400 bytes, one cookie", size > 0 && size <= 2400, fmt.Sprintf("%.0f bytes", size))
	}
	if v, ok := ratio("BenchmarkSessionDecode", "oidcrp", "baseline"); ok {
		check("SessionDecode ≤ 1.1× bare AES-GCM + the same compact form", v <= 1.1, fmt.Sprintf("%.2f×", v))
	}
	if v, ok := ratio("BenchmarkSessionEncode", "oidcrp", "baseline"); ok {
		check("SessionEncode ≤ 1.4× bare AES-GCM + the same compact form", v <= 1.4, fmt.Sprintf("%.2f×", v))
	}
	if v, ok := ratio("BenchmarkLogin", "oidcrp", "baseline"); ok {
		check("login redirect ≤ 1.2× random + SHA-256 + sealed compact flow", v <= 1.2, fmt.Sprintf("%.2f×", v))
	}
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		g := "BenchmarkVerifyIDToken/" + alg
		ours, base := find(g, "oidcrp"), find(g, "baseline")
		if ours == nil || base == nil {
			continue
		}
		d := paired(ours, base, "ns/op", sub) / 1000
		check(alg+" ID-token verification ≤ floor + 2 µs (parse, signature, claims)", d <= 2, fmt.Sprintf("%+.1f µs", d))
		da := ours.median("allocs/op") - base.median("allocs/op")
		check(alg+" ID-token verification ≤ floor + 10 allocations", da <= 10, fmt.Sprintf("%+.0f", da))
		if v, ok := ratio(g, "golang-jwt", "oidcrp"); ok {
			check(alg+" ID-token verification faster than golang-jwt/v5", v > 1, fmt.Sprintf("%.2f×", v))
		}
	}
	if v, ok := ratio("BenchmarkClaims", "oidcrp", "baseline"); ok {
		check("Claims ≤ 1.5× json.Unmarshal of the same claims", v <= 1.5, fmt.Sprintf("%.2f×", v))
	}
	if r := find("BenchmarkAccessTokenRequest", "oidcrp"); r != nil {
		ns, allocs := r.median("ns/op"), r.median("allocs/op")
		check("repeated access token through resource.Require ≤ 2 µs", ns <= 2000, fmt.Sprintf("%.2f µs", ns/1000))
		check("repeated access token ≤ 6 allocations", allocs <= 6, fmt.Sprintf("%.0f", allocs))
		if v, ok := ratio("BenchmarkAccessTokenRequest", "go-oidc", "oidcrp"); ok {
			check("repeated access token ≥ 15× faster than go-oidc's verifier", v >= 15, fmt.Sprintf("%.0f×", v))
		}
		if v, ok := ratio("BenchmarkAccessTokenRequest", "oidcrp-issuers", "oidcrp"); ok {
			check("repeated access token through Issuers of two ≤ 1.3× one Verifier", v <= 1.3, fmt.Sprintf("%.2f×", v))
		}
	}
	for _, g := range []struct{ group, what string }{
		{"BenchmarkAccessTokenFirstSeen", "first-seen RS256 access token adds ≤ 10 µs over the bare signature check"},
		{"BenchmarkDPoPRequest", "DPoP request, repeated token, adds ≤ 10 µs over bare ES256 proof check"},
	} {
		if ours, base := find(g.group, "oidcrp"), find(g.group, "baseline"); ours != nil && base != nil {
			d := paired(ours, base, "ns/op", sub) / 1000
			check(g.what, d <= 10, fmt.Sprintf("%+.1f µs", d))
		}
	}
	if failed {
		os.Exit(1)
	}
}
