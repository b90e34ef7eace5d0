// Command benchgw is the harness of scripts/bench-gateway: a small backend,
// a standalone gateway node (SQLite, bearer tokens, access check, quota and
// signed message log), a plain Go reverse proxy for reference, a Go load
// generator reporting requests/s and latency percentiles, and a
// message-log throughput measure (records/s, CPU per record, records per
// commit).
//
//	benchgw backend -addr 127.0.0.1:9001
//	benchgw gateway -addr 127.0.0.1:9002 -backend http://127.0.0.1:9001 -data DIR [-metrics ADDR] [-cpuprofile F] [-trace F] [-log=false]
//	benchgw goproxy -addr 127.0.0.1:9003 -backend http://127.0.0.1:9001 [-direct]
//	benchgw load -url URL [-rate N] [-c 64] [-d 5s] [-H 'K: V']... [-metrics http://ADDR/metrics]
//	benchgw msglog -data DIR [-d 3s] [-c 256] [-issues 1] [-cpuprofile F]
//
// BENCH_DB=postgres://... runs the gateway and msglog on PostgreSQL (use
// an empty schema, e.g. with &search_path=NAME).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/h1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchgw backend|gateway|load|msglog ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "backend":
		err = backend(os.Args[2:])
	case "gateway":
		err = serveGateway(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "msglog":
		err = msglog(os.Args[2:])
	case "goproxy":
		err = goproxy(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgw:", err)
		os.Exit(1)
	}
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

var payload = []byte(`{"ho_so":"000.00.01.H57-260101-0001","trang_thai":"da_tiep_nhan","ngay":"2026-01-01T08:00:00+07:00"}`)

func backend(args []string) error {
	fs := flag.NewFlagSet("backend", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9001", "listen address")
	fs.Parse(args)
	ctx, stop := signalContext()
	defer stop()
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(payload)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Println("ready")
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// goproxy is a plain net/http/httputil reverse proxy with the gateway's
// http.Transport settings (or, with -direct, its DirectTransport): the
// floor of what a Go proxy costs on this machine.
func goproxy(args []string) error {
	fs := flag.NewFlagSet("goproxy", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9003", "listen address")
	be := fs.String("backend", "http://127.0.0.1:9001", "backend URL")
	direct := fs.Bool("direct", false, "use the gateway's DirectTransport instead of a plain http.Transport")
	fs.Parse(args)
	ctx, stop := signalContext()
	defer stop()
	u, err := neturl.Parse(*be)
	if err != nil {
		return err
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = gateway.NewTransport(nil)
	if *direct {
		p.Transport = gateway.NewDirectTransport(nil)
	}
	p.ErrorLog = log.New(io.Discard, "", 0)
	srv := &http.Server{Addr: *addr, Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Println("ready")
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

type benchTokens struct{}

func (benchTokens) VerifyToken(_ context.Context, tok string) (gateway.ClientID, error) {
	if tok != "bench-token" {
		return gateway.ClientID{}, fmt.Errorf("bad token")
	}
	return gateway.ParseSubsystemID("VN-BENCH/GOV/CLIENT/APP")
}

func openDB(ctx context.Context, dir string) (*db.DB, error) {
	url := os.Getenv("BENCH_DB")
	if url == "" {
		url = filepath.Join(dir, "gateway.db")
	}
	d, err := db.Open(ctx, url, db.Options{})
	if err != nil {
		return nil, err
	}
	return d, d.Migrate(ctx, append(audit.Migrations(), gateway.Migrations()...))
}

func newKey() *gateway.Key {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gateway.NewKey(priv)
	return k
}

func serveGateway(args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9002", "listen address")
	be := fs.String("backend", "http://127.0.0.1:9001", "backend URL")
	dir := fs.String("data", os.TempDir(), "data folder")
	prof := fs.String("cpuprofile", "", "write a CPU profile here until stopped")
	traceOut := fs.String("trace", "", "write an execution trace here until stopped (go tool trace)")
	quota := fs.Bool("quota", true, "give the client a quota on the service (checked on every call)")
	withLog := fs.Bool("log", true, "keep the signed message log (false: to measure its cost)")
	std := fs.Bool("std", false, "serve with net/http instead of the gateway's lean HTTP/1.1 server")
	metricsAddr := fs.String("metrics", "", "serve the gateway's Prometheus metrics at http://ADDR/metrics (they are kept in any case, as on a real node)")
	journal := fs.Bool("journal", true, "keep the message log's journal in the data folder, as congso serve does (false: every exchange waits for its database commit)")
	fs.Parse(args)
	gateway.TuneGC() // as congso serve --role=gateway (GOGC=400 unless GOGC is set)
	ctx, stop := signalContext()
	defer stop()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if *traceOut != "" {
		f, err := os.Create(*traceOut)
		if err != nil {
			return err
		}
		trace.Start(f)
		defer func() { trace.Stop(); f.Close() }()
	}
	d, err := openDB(ctx, *dir)
	if err != nil {
		return err
	}
	defer d.Close()
	m := gateway.NewManager(gateway.NewStore(d, nil), nil)
	id := func(s string) gateway.ClientID { c, _ := gateway.ParseClientID(s); return c }
	sid := func(s string) gateway.ServiceID { c, _ := gateway.ParseServiceID(s); return c }
	steps := []error{
		m.PutMember(ctx, "bench", gateway.Member{ID: id("VN-BENCH/GOV/CLIENT"), Name: "client"}),
		m.PutMember(ctx, "bench", gateway.Member{ID: id("VN-BENCH/GOV/PROVIDER"), Name: "provider"}),
		m.PutSubsystem(ctx, "bench", gateway.Subsystem{ID: id("VN-BENCH/GOV/CLIENT/APP")}),
		m.PutSubsystem(ctx, "bench", gateway.Subsystem{ID: id("VN-BENCH/GOV/PROVIDER/SYS")}),
		m.PutService(ctx, "bench", gateway.Service{ID: sid("VN-BENCH/GOV/PROVIDER/SYS/hoso"), Title: "bench"}),
		m.PutVersion(ctx, "bench", sid("VN-BENCH/GOV/PROVIDER/SYS/hoso/v1"), gateway.Version{BackendURL: *be}),
		m.SetStatus(ctx, "bench", sid("VN-BENCH/GOV/PROVIDER/SYS/hoso/v1"), gateway.Published, nil),
	}
	if *quota {
		steps = append(steps, m.PutQuota(ctx, "bench", gateway.Quota{Client: id("VN-BENCH/GOV/CLIENT/APP"), Service: sid("VN-BENCH/GOV/PROVIDER/SYS/hoso"),
			RatePerSecond: 1_000_000, Daily: 1_000_000_000}))
	}
	for _, e := range steps {
		if e != nil && !strings.Contains(e.Error(), "lifecycle") {
			return e
		}
	}
	if _, err := m.Grant(ctx, "bench", gateway.AccessRight{Client: "VN-BENCH/GOV/CLIENT/APP", Service: sid("VN-BENCH/GOV/PROVIDER/SYS/hoso"), Method: "GET", LegalBasis: "bench"}); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	lc := gateway.LogConfig{Node: "bench", Key: newKey(), Logger: logger}
	if *journal {
		lc.JournalDir = filepath.Join(*dir, "journal")
	}
	ml, err := gateway.NewMessageLog(d, lc)
	if err != nil {
		return err
	}
	if !*withLog {
		ml = nil
	}
	reg := prometheus.NewRegistry()
	metrics, err := gateway.NewMetrics(reg)
	if err != nil {
		return err
	}
	rt, err := gateway.NewRuntime(ctx, d, gateway.Config{Instance: "VN-BENCH", Node: "bench", Tokens: benchTokens{}, Log: ml, Metrics: metrics, Logger: logger})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		msrv := &http.Server{Addr: *metricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go msrv.ListenAndServe()
		defer msrv.Close()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var srv interface {
		Serve(net.Listener) error
		Close() error
	} = &h1.Server{Handler: rt}
	if *std {
		srv = &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second}
	}
	// The runtime (and the log's writer) stops after the server, as in
	// congso serve.
	rctx, stopRuntime := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); rt.Run(rctx) }()
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Println("ready")
	err = srv.Serve(ln)
	stopRuntime()
	wg.Wait()
	if err != http.ErrServerClosed {
		return err
	}
	if ml != nil {
		st := ml.Stats()
		fmt.Fprintf(os.Stderr, "message log: %d records in %d commits\n", st.Records, st.Commits)
	}
	return nil
}

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// load sends GETs to url: as fast as c workers can (rate 0) or at a fixed
// rate (open loop: latency counts from the scheduled time).
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "target URL")
	rate := fs.Int("rate", 0, "requests per second (0: as fast as possible)")
	c := fs.Int("c", 64, "concurrent connections")
	dur := fs.Duration("d", 5*time.Second, "duration")
	var hs headers
	fs.Var(&hs, "H", "header 'Name: value' (repeatable)")
	metricsURL := fs.String("metrics", "", "a benchgw gateway's metrics URL: also print the p50 and p99 of the gateway's own time in this run (congso_gateway_overhead_seconds, estimated within its buckets)")
	fs.Parse(args)
	tr := &http.Transport{MaxIdleConnsPerHost: *c, MaxConnsPerHost: *c, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := http.NewRequest("GET", *url, nil)
	if err != nil {
		return err
	}
	for _, h := range hs {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	do := func() bool {
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	for i := 0; i < *c; i++ { // warm the connections
		do()
	}
	var mu sync.Mutex
	var lat []time.Duration
	var okN, errN atomic.Int64
	record := func(d time.Duration, ok bool) {
		if ok {
			okN.Add(1)
		} else {
			errN.Add(1)
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	}
	var before map[float64]float64
	if *metricsURL != "" {
		if before, err = overheadBuckets(*metricsURL); err != nil {
			return err
		}
	}
	start := time.Now()
	end := start.Add(*dur)
	var wg sync.WaitGroup
	if *rate == 0 {
		for i := 0; i < *c; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					t0 := time.Now()
					ok := do()
					record(time.Since(t0), ok)
				}
			}()
		}
	} else {
		interval := time.Second / time.Duration(*rate)
		sem := make(chan struct{}, *c)
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if at.After(end) {
				break
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(at time.Time) {
				defer wg.Done()
				ok := do()
				record(time.Since(at), ok)
				<-sem
			}(at)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	own := ""
	if *metricsURL != "" {
		after, err := overheadBuckets(*metricsURL)
		if err != nil {
			return err
		}
		for le := range after {
			after[le] -= before[le]
		}
		own = fmt.Sprintf(" own_p50_ms=%.3f own_p99_ms=%.3f", 1000*bucketQuantile(0.50, after), 1000*bucketQuantile(0.99, after))
	}
	fmt.Printf("rps=%.0f ok=%d errors=%d p50_ms=%.3f p99_ms=%.3f%s\n", float64(okN.Load()+errN.Load())/elapsed.Seconds(), okN.Load(), errN.Load(),
		float64(pct(0.50).Microseconds())/1000, float64(pct(0.99).Microseconds())/1000, own)
	return nil
}

// overheadBuckets reads the cumulative buckets (upper bound → count) of
// congso_gateway_overhead_seconds, summed over services, from a metrics
// page in the text format.
func overheadBuckets(url string) (map[float64]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[float64]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "congso_gateway_overhead_seconds_bucket{") {
			continue
		}
		_, rest, _ := strings.Cut(line, `le="`)
		les, rest, _ := strings.Cut(rest, `"`)
		le, err := strconv.ParseFloat(les, 64)
		if les == "+Inf" {
			le, err = math.Inf(1), nil
		}
		v, err2 := strconv.ParseFloat(strings.TrimSpace(rest[strings.LastIndexByte(rest, ' ')+1:]), 64)
		if err != nil || err2 != nil {
			return nil, fmt.Errorf("metrics: cannot read %q", line)
		}
		out[le] += v
	}
	return out, nil
}

// bucketQuantile estimates the q-quantile from cumulative buckets as
// Prometheus's histogram_quantile does: linearly within the bucket it
// falls in.
func bucketQuantile(q float64, buckets map[float64]float64) float64 {
	les := make([]float64, 0, len(buckets))
	for le := range buckets {
		les = append(les, le)
	}
	slices.Sort(les)
	if len(les) == 0 || buckets[les[len(les)-1]] == 0 {
		return math.NaN()
	}
	rank := q * buckets[les[len(les)-1]]
	lower, below := 0.0, 0.0
	for _, le := range les {
		if c := buckets[le]; c >= rank {
			if math.IsInf(le, 1) {
				return lower // past the last bound: that bound
			}
			return lower + (le-lower)*(rank-below)/(c-below)
		}
		lower, below = le, buckets[le]
	}
	return lower
}

// msglog measures signed and logged exchanges per second: c goroutines
// append records for d, the log signs every second, then the whole log is
// verified.
func msglog(args []string) error {
	fs := flag.NewFlagSet("msglog", flag.ExitOnError)
	dir := fs.String("data", os.TempDir(), "data folder")
	c := fs.Int("c", 256, "concurrent writers")
	dur := fs.Duration("d", 3*time.Second, "duration")
	prof := fs.String("cpuprofile", "", "write a CPU profile of the appends here")
	issues := fs.Int("issues", 1, "distinct dossier codes the records name, in turn (0: none)")
	fs.Parse(args)
	ctx := context.Background()
	d, err := openDB(ctx, *dir)
	if err != nil {
		return err
	}
	defer d.Close()
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "msglog-bench", Key: newKey()})
	if err != nil {
		return err
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	var n atomic.Int64
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ml.Run(rctx); close(done) }()
	cpu0 := cpuTime()
	start := time.Now()
	end := start.Add(*dur)
	var wg sync.WaitGroup
	var seq atomic.Int64
	for i := 0; i < *c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				now := time.Now()
				issue := ""
				if *issues > 0 {
					issue = fmt.Sprintf("000.00.01.H57-260101-%06d", seq.Add(1)%int64(*issues))
				}
				if err := ml.Append(ctx, gateway.Record{At: now, DoneAt: now, Client: "VN-BENCH/GOV/CLIENT/APP", Service: "VN-BENCH/GOV/PROVIDER/SYS/hoso/v1",
					MessageID: "m", RequestID: "r", Issue: issue, Method: "GET", Path: "/x", Status: 200,
					RequestHash: strings.Repeat("a", 64), ResponseHash: strings.Repeat("b", 64)}); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if *prof != "" {
		pprof.StopCPUProfile()
	}
	cancel()
	<-done
	st := ml.Stats()
	rep, err := gateway.VerifyDB(ctx, d, nil)
	if err != nil {
		return err
	}
	fmt.Printf("logged_per_s=%.0f cpu_us_per_record=%.1f records_per_commit=%.1f records=%d batches=%d unsigned=%d verified=%v\n",
		float64(n.Load())/elapsed.Seconds(), float64(cpu.Microseconds())/float64(max(1, n.Load())), float64(st.Records)/float64(max(1, st.Commits)),
		rep.Records, rep.Batches, rep.Unsigned, rep.OK())
	return nil
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
