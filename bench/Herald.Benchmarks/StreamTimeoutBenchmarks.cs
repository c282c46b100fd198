using BenchmarkDotNet.Attributes;
using Herald.Proxy.Http;

namespace Herald.Benchmarks;

/// <summary>
/// What Envoy's default stream_idle_timeout (5 min) costs a request: the HTTP/1.1 relay re-arms
/// its connection's guard, the HTTP/2 path rents one per stream; both touch it twice (request
/// and response bytes). The baseline is the design Herald dropped: a timer per stream.
/// </summary>
[MemoryDiagnoser]
public class StreamTimeoutBenchmarks
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(5);
    private StreamTimeoutSweeper _sweeper = null!;
    private StreamTimeoutGuard _connectionGuard = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sweeper = StreamTimeoutSweeper.For(TimeProvider.System);
        _connectionGuard = _sweeper.Rent(static _ => { }, null);
    }

    [Benchmark(Baseline = true)]
    public void TimerPerStream()
    {
        using var timer = TimeProvider.System.CreateTimer(static _ => { }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        timer.Change(Idle, Timeout.InfiniteTimeSpan);
        timer.Change(Idle, Timeout.InfiniteTimeSpan);
        timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    [Benchmark]
    public bool Http1ConnectionGuard()
    {
        _connectionGuard.Start(Idle, TimeSpan.Zero);
        _connectionGuard.Touch();
        _connectionGuard.Touch();
        return _connectionGuard.Stop();
    }

    [Benchmark]
    public bool Http2StreamGuard()
    {
        var guard = _sweeper.Rent(static _ => { }, null);
        guard.Start(Idle, TimeSpan.Zero);
        guard.Touch();
        guard.Touch();
        var expired = guard.Stop();
        _sweeper.Return(guard);
        return expired;
    }
}
