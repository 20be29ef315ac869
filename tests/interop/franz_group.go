// tests/interop/franz_group.go - franz-go (kgo + kadm) producer and consumer
// group against one broker, for t_franz_go.sh; built outside git by
// tests/interop/lib.sh's franz_build. Usage: franz_group BOOTSTRAP TOPIC GROUP N
// kadm creates TOPIC (4 partitions); two kgo group members (default
// cooperative-sticky balancer, manual commits of every polled batch) settle on a split of the 4 partitions; a kgo producer with
// its defaults (idempotent, acks=all) sends N keyed records, each acknowledged
// (partition, offset) recorded; every acknowledged record must be consumed
// exactly once across the members with its key and value, both members consume,
// and after they leave the group the committed offsets (kadm FetchOffsets)
// equal the log end offsets (kadm ListEndOffsets). Prints "info:" lines; exit
// 0 only when every check holds.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type row struct {
	m    string
	p    int32
	o    int64
	k, v string
}

var (
	mu       sync.Mutex
	rows     []row
	assigned = map[string][]int32{}
)

func die(f string, a ...any) {
	fmt.Printf("FAIL: "+f+"\n", a...)
	os.Exit(1)
}

func waitFor(what string, d time.Duration, ok func() bool) {
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			die("timeout waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// drop removes partitions ps from member name's assignment.
func drop(name string, ps []int32) {
	mu.Lock()
	defer mu.Unlock()
	keep := assigned[name][:0]
	for _, p := range assigned[name] {
		gone := false
		for _, q := range ps {
			gone = gone || p == q
		}
		if !gone {
			keep = append(keep, p)
		}
	}
	assigned[name] = keep
}

func member(ctx context.Context, bs, topic, group, name string, wg *sync.WaitGroup) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.SessionTimeout(10*time.Second), kgo.ClientID("fgo-"+name),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, func() string { return name + " " })),
		// cooperative-sticky (the default): callbacks carry only what changed
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			mu.Lock()
			assigned[name] = append(assigned[name], a[topic]...)
			mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			drop(name, r[topic])
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "%s: commit on revoke: %v\n", name, err)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			drop(name, l[topic])
		}))
	if err != nil {
		die("member %s: %v", name, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			fs.EachError(func(t string, p int32, err error) {
				fmt.Fprintf(os.Stderr, "%s: fetch error %s/%d: %v\n", name, t, p, err)
			})
			recs := fs.Records()
			mu.Lock()
			for _, r := range recs {
				rows = append(rows, row{name, r.Partition, r.Offset, string(r.Key), string(r.Value)})
			}
			mu.Unlock()
			if len(recs) > 0 {
				if err := cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
					fmt.Fprintf(os.Stderr, "%s: commit: %v\n", name, err)
				}
			}
		}
	}()
	return cl
}

func franzVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/twmb/franz-go" {
				return d.Version
			}
		}
	}
	return "?"
}

func main() {
	if len(os.Args) != 5 {
		die("usage: franz_group BOOTSTRAP TOPIC GROUP N")
	}
	bs, topic, group := os.Args[1], os.Args[2], os.Args[3]
	n, _ := strconv.Atoi(os.Args[4])
	time.AfterFunc(100*time.Second, func() { fmt.Println("FAIL: franz_group timed out"); os.Exit(3) })
	fmt.Printf("info: franz-go %s\n", franzVersion())
	ctx := context.Background()

	acl, err := kgo.NewClient(kgo.SeedBrokers(bs))
	if err != nil {
		die("admin client: %v", err)
	}
	adm := kadm.NewClient(acl)
	cr, err := adm.CreateTopics(ctx, 4, 1, nil, topic)
	if err != nil {
		die("CreateTopics: %v", err)
	}
	if e := cr[topic].Err; e != nil {
		die("CreateTopics %s: %v", topic, e)
	}
	fmt.Printf("info: kadm CreateTopics %s: 4 partitions\n", topic)

	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	ca := member(cctx, bs, topic, group, "a", &wg)
	cb := member(cctx, bs, topic, group, "b", &wg)
	waitFor("two members splitting 4 partitions", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		a, b := assigned["a"], assigned["b"]
		all := append(append([]int32(nil), a...), b...)
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		return len(a) > 0 && len(b) > 0 && fmt.Sprint(all) == "[0 1 2 3]"
	})
	mu.Lock()
	fmt.Printf("info: group settled: a %v b %v\n", assigned["a"], assigned["b"])
	mu.Unlock()

	pcl, err := kgo.NewClient(kgo.SeedBrokers(bs), kgo.DefaultProduceTopic(topic), kgo.ClientID("fgo-prod"))
	if err != nil {
		die("producer: %v", err)
	}
	acked := map[string]string{}
	var amu sync.Mutex
	var perr error
	var pwg sync.WaitGroup
	for i := 0; i < n; i++ {
		pwg.Add(1)
		r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))}
		pcl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer pwg.Done()
			amu.Lock()
			defer amu.Unlock()
			if err != nil {
				perr = err
				return
			}
			acked[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = string(r.Value)
		})
	}
	pwg.Wait()
	if perr != nil {
		die("produce: %v", perr)
	}
	fmt.Printf("info: producer (idempotent, acks=all defaults): %d acknowledged\n", len(acked))
	if len(acked) != n {
		die("acknowledged %d of %d (distinct offsets)", len(acked), n)
	}
	waitFor(fmt.Sprintf("%d records consumed", n), 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(rows) >= n
	})
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wg.Wait()
	ca.Close() // leaves the group
	cb.Close()

	seen := map[string]int{}
	per := map[string]int{}
	bad := 0
	for _, r := range rows {
		k := fmt.Sprintf("%d/%d", r.p, r.o)
		seen[k]++
		per[r.m]++
		if acked[k] != r.v || "k"+r.v[1:] != r.k {
			bad++
		}
	}
	dups, missing, extra := 0, 0, 0
	for k, c := range seen {
		if c > 1 {
			dups++
		}
		if _, ok := acked[k]; !ok {
			extra++
		}
	}
	for k := range acked {
		if seen[k] == 0 {
			missing++
		}
	}
	fmt.Printf("info: consumed per member %v: %d rows, %d dups, %d missing, %d unacked, %d wrong\n",
		per, len(rows), dups, missing, extra, bad)
	if dups+missing+extra+bad != 0 || len(rows) != n || per["a"] == 0 || per["b"] == 0 {
		die("group consumption not exactly once across both members")
	}

	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		die("FetchOffsets: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		die("ListEndOffsets: %v", err)
	}
	c, e := map[int32]int64{}, map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			c[o.Partition] = o.At
		}
	})
	ends.Each(func(o kadm.ListedOffset) { e[o.Partition] = o.Offset })
	fmt.Printf("info: committed %v log ends %v\n", c, e)
	if fmt.Sprint(c) != fmt.Sprint(e) || len(c) != 4 {
		die("committed offsets differ from the log ends")
	}
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		die("DescribeGroups: %v", err)
	}
	fmt.Printf("info: kadm DescribeGroups %s: state %s\n", group, dg[group].State)
	pcl.Close()
	acl.Close()
}
