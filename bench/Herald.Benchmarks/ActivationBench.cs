using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using Herald.Proxy.Activation;
using Herald.Proxy.Observability.Stats;

namespace Herald.Benchmarks;

/// <summary>
/// <c>--activation</c>: the scale-from-zero gate measured directly, in process, on real time
/// (<see cref="TimeProvider.System"/>, the thread pool, real timers), because what matters is
/// wall-clock latency and memory under concurrency, which BenchmarkDotNet's single-threaded loop
/// does not show. <c>--e2e</c> adds <see cref="ActivationEndToEndBench"/> (a real
/// <c>herald gateway</c>). Prints a markdown table on stdout.
/// </summary>
internal static class ActivationBench
{
    private const int ReleaseHeld = 100;
    private const int MemoryHeld = 10_000;
    private const int SaturatedCapacity = 8;
    private const int SaturatedWorkers = 64;

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = Array.IndexOf(args, "--quick") >= 0;
        var trials = quick ? 50 : 200;
        var duration = TimeSpan.FromSeconds(quick ? 1 : 2);
        var table = new List<string[]>();
        Console.Error.WriteLine(
            $"activation bench: {Environment.ProcessorCount} CPUs, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, "
            + $"GC server={GCSettings.IsServerGC} concurrent={GCSettings.LatencyMode != GCLatencyMode.Batch}");

        Console.Error.WriteLine($"(a) release latency: {trials} trials of {ReleaseHeld} held");
        await ReleaseLatencyAsync(trials, table);

        Console.Error.WriteLine($"(b) memory of {MemoryHeld} held");
        await MemoryAsync(viaForwarderWait: false, table);
        await MemoryAsync(viaForwarderWait: true, table);

        Console.Error.WriteLine($"(c) throughput, {SaturatedWorkers} workers, {duration.TotalSeconds} s each");
        await ThroughputAsync(SaturatedCapacity, duration, table);
        await ThroughputAsync(0, duration, table);
        await SemaphoreBaselineAsync(duration, table);

        if (Array.IndexOf(args, "--e2e") >= 0)
        {
            Console.Error.WriteLine("(d) end to end: herald gateway, registration PUT to the held request's response");
            await ActivationEndToEndBench.RunAsync(quick ? 5 : 10, HeraldPath(args), table);
        }

        Console.Out.Write(Markdown(table));
        return 0;
    }

    // (a) SetEndpointCount(1) with 100 held: until the first held caller's continuation runs,
    // until the last one's, and how long the SetEndpointCount call itself takes.
    private static async Task ReleaseLatencyAsync(int trials, List<string[]> table)
    {
        using var gate = NewGate(new ActivationPolicy { HoldTimeout = TimeSpan.FromSeconds(30) });
        var stamps = new long[ReleaseHeld];
        var waits = new Task[ReleaseHeld];
        var first = new List<double>(trials);
        var last = new List<double>(trials);
        var call = new List<double>(trials);
        const int WarmUp = 20;
        for (var trial = 0; trial < trials + WarmUp; trial++)
        {
            gate.SetEndpointCount(0);
            for (var i = 0; i < ReleaseHeld; i++)
            {
                waits[i] = HoldOnceAsync(gate, stamps, i);
            }

            if (gate.Held != ReleaseHeld)
            {
                throw new InvalidOperationException($"expected {ReleaseHeld} held, the gate holds {gate.Held}");
            }

            var start = Stopwatch.GetTimestamp();
            gate.SetEndpointCount(1);
            var returned = Stopwatch.GetTimestamp();
            await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(10));
            if (trial < WarmUp)
            {
                continue;
            }

            first.Add(Ms(stamps.Min() - start));
            last.Add(Ms(stamps.Max() - start));
            call.Add(Ms(returned - start));
        }

        table.Add(["(a) SetEndpointCount(>0) to first held continuation", $"{ReleaseHeld} held, {trials} trials", $"p50 {F(Percentile(first, 50))} ms, p99 {F(Percentile(first, 99))} ms"]);
        table.Add(["(a) ... to the last of the 100 continuations", $"{ReleaseHeld} held, {trials} trials", $"p50 {F(Percentile(last, 50))} ms, p99 {F(Percentile(last, 99))} ms"]);
        table.Add(["(a) the SetEndpointCount call itself (drain + complete 100)", $"{ReleaseHeld} held, {trials} trials", $"p50 {F(Percentile(call, 50))} ms, p99 {F(Percentile(call, 99))} ms"]);
    }

    private static async Task HoldOnceAsync(ActivationGate gate, long[] stamps, int index)
    {
        var lease = await gate.AcquireAsync(CancellationToken.None);
        stamps[index] = Stopwatch.GetTimestamp();
        if (lease.Outcome != ActivationOutcome.Admitted)
        {
            throw new InvalidOperationException($"held request ended {lease.Outcome}");
        }

        lease.Dispose();
    }

    // (b) Live managed memory per held request: the gate's own (AcquireAsync with a cancellable
    // token, as callers pass), and as the HTTP forwarders hold (ActivationWait with a 15 s route timeout).
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012", Justification = "Each ValueTask is kept in an array to hold its request, then awaited exactly once: wrapping it in a Task would add to the memory measured.")]
    private static async Task MemoryAsync(bool viaForwarderWait, List<string[]> table)
    {
        using var gate = NewGate(new ActivationPolicy { HoldTimeout = TimeSpan.FromSeconds(60), QueueDepth = MemoryHeld });
        using var clientGone = new CancellationTokenSource();
        var routeTimeout = TimeSpan.FromSeconds(15);
        var direct = new ValueTask<ActivationLease>[MemoryHeld];
        var wrapped = new ValueTask<ActivationWaitResult>[MemoryHeld];

        // Warm up (JIT, timer queues, pools), then measure.
        for (var round = 0; round < 2; round++)
        {
            gate.SetEndpointCount(0);
            var count = round == 0 ? 100 : MemoryHeld;
            long before = 0;
            long allocatedBefore = 0;
            if (round == 1)
            {
                before = SettledMemory();
                allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            }

            for (var i = 0; i < count; i++)
            {
                if (viaForwarderWait)
                {
                    wrapped[i] = ActivationWait.AcquireAsync(gate, routeTimeout, TimeProvider.System, clientGone.Token);
                }
                else
                {
                    direct[i] = gate.AcquireAsync(clientGone.Token);
                }
            }

            if (round == 1)
            {
                var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                var after = SettledMemory();
                if (gate.Held != MemoryHeld)
                {
                    throw new InvalidOperationException($"expected {MemoryHeld} held, the gate holds {gate.Held}");
                }

                var live = after - before;
                var label = viaForwarderWait
                    ? "(b) live memory per held request, as forwarders hold (ActivationWait, 15 s route timeout)"
                    : "(b) live memory per held request, gate only (AcquireAsync, cancellable token)";
                table.Add([label, $"{MemoryHeld} held", $"{live / MemoryHeld} B/request ({F(live / 1048576.0)} MiB in all); allocated {allocated / MemoryHeld} B/request"]);
            }

            gate.SetEndpointCount(1);
            for (var i = 0; i < count; i++)
            {
                if (viaForwarderWait)
                {
                    var result = await wrapped[i];
                    result.Lease.Dispose();
                }
                else
                {
                    (await direct[i]).Dispose();
                }
            }
        }
    }

    private static long SettledMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // (c) Workers acquire, hold the lease across one Task.Yield (a request that goes async), release.
    // Capacity 8 of 64 workers: most acquisitions queue. Capacity 0 (unlimited): the lock-free path.
    private static async Task ThroughputAsync(int concurrency, TimeSpan duration, List<string[]> table)
    {
        var stats = new StatsStore();
        using var gate = new ActivationGate(
            "bench",
            new ActivationPolicy { HoldTimeout = TimeSpan.FromSeconds(30), EndpointConcurrency = concurrency },
            new ActivationStats(stats, "bench"),
            NoSignal.Instance,
            TimeProvider.System);
        gate.SetEndpointCount(1);
        var limit = concurrency == 0 ? int.MaxValue : concurrency;
        long acquisitions = 0;
        var overLimit = 0;
        using var stop = new CancellationTokenSource();
        var workers = new Task[SaturatedWorkers];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var lease = await gate.AcquireAsync(CancellationToken.None);
                    if (lease.Outcome != ActivationOutcome.Admitted)
                    {
                        throw new InvalidOperationException($"acquire ended {lease.Outcome}");
                    }

                    if (gate.InFlight > limit)
                    {
                        Interlocked.Increment(ref overLimit);
                    }

                    await Task.Yield();
                    lease.Dispose();
                    Interlocked.Increment(ref acquisitions);
                }
            });
        }

        await Task.Delay(duration / 4);
        var startCount = Interlocked.Read(ref acquisitions);
        var startReleased = ReleasedCount(stats);
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(duration);
        var count = Interlocked.Read(ref acquisitions) - startCount;
        var queued = ReleasedCount(stats) - startReleased;
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
        if (overLimit > 0)
        {
            throw new InvalidOperationException($"{overLimit} times more than {limit} leases were out");
        }

        var label = concurrency == 0
            ? "(c) acquire/release, unlimited concurrency (lock-free path)"
            : $"(c) acquire/release through a saturated gate (capacity {concurrency})";
        table.Add([label, $"{SaturatedWorkers} workers, lease held over one Task.Yield", $"{F(count / seconds / 1e6, 2)} M acquisitions/s; {F(100.0 * queued / Math.Max(1, count), 0)}% of them queued first"]);
    }

    private static async Task SemaphoreBaselineAsync(TimeSpan duration, List<string[]> table)
    {
        using var semaphore = new SemaphoreSlim(SaturatedCapacity, SaturatedCapacity);
        long acquisitions = 0;
        using var stop = new CancellationTokenSource();
        var workers = new Task[SaturatedWorkers];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await semaphore.WaitAsync(TimeSpan.FromSeconds(30));
                    await Task.Yield();
                    semaphore.Release();
                    Interlocked.Increment(ref acquisitions);
                }
            });
        }

        await Task.Delay(duration / 4);
        var startCount = Interlocked.Read(ref acquisitions);
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(duration);
        var count = Interlocked.Read(ref acquisitions) - startCount;
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
        table.Add([$"(c) baseline: SemaphoreSlim({SaturatedCapacity}).WaitAsync(30 s timeout), same loop", $"{SaturatedWorkers} workers", $"{F(count / seconds / 1e6, 2)} M acquisitions/s"]);
    }

    private static long ReleasedCount(StatsStore stats) => stats.Counter(StatKey.Cluster("bench", "activation.released")).Value;

    private static ActivationGate NewGate(ActivationPolicy policy) =>
        new("bench", policy, new ActivationStats(new StatsStore(), "bench"), NoSignal.Instance, TimeProvider.System);

    private static string? HeraldPath(string[] args)
    {
        var index = Array.IndexOf(args, "--herald");
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    internal static double Percentile(List<double> values, double percent)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    internal static string F(double value, int decimals = 3) => value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string Markdown(List<string[]> rows)
    {
        var text = new StringBuilder();
        text.Append("| measurement | load | result |\n|---|---|---|\n");
        foreach (var row in rows)
        {
            text.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
        }

        return text.ToString();
    }

    /// <summary>Demand goes nowhere: the bench measures the gate, not the webhook.</summary>
    private sealed class NoSignal : IDemandSignal
    {
        public static readonly NoSignal Instance = new();

        public void Signal(DemandNotice notice)
        {
        }
    }
}
