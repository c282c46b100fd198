using Herald.Proxy.Activation;
using Herald.Proxy.Observability.Stats;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Activation;

public sealed class ActivationGateTests
{
    private const string Cluster = "greeter";

    // A guard against a hung test, not a sleep: every awaited outcome is already decided.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly ManualTimeProvider _time = new();
    private readonly StatsStore _store = new();
    private readonly RecordingDemandSignal _signal = new();

    [Fact]
    public void AcquireAsync_SlotFree_ReturnsCompletedValueTaskWithoutAllocating()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 2 }, endpoints: 1);
        gate.AcquireAsync(CancellationToken.None).Result.Dispose();

        // Asserting inside the loop would allocate (xunit's comparers), so count instead.
        var admittedAtOnce = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            var pending = gate.AcquireAsync(CancellationToken.None);
            if (pending.IsCompletedSuccessfully && pending.Result.Outcome == ActivationOutcome.Admitted)
            {
                admittedAtOnce++;
            }

            pending.Result.Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000, admittedAtOnce);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(ActivationState.Idle, gate.State);
    }

    [Fact]
    public void AcquireAsync_UnlimitedConcurrency_AdmitsEveryRequestAtOnce()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 1);

        var leases = new List<ActivationLease>();
        for (var i = 0; i < 500; i++)
        {
            var pending = gate.AcquireAsync(CancellationToken.None);
            Assert.True(pending.IsCompletedSuccessfully);
            leases.Add(pending.Result);
        }

        Assert.Equal(500, gate.InFlight);
        Assert.Equal(0, gate.Held);
        leases.ForEach(l => l.Dispose());
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public void AcquireAsync_NoEndpoints_HoldsInHoldingState()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);

        var pending = gate.AcquireAsync(CancellationToken.None);

        Assert.False(pending.IsCompleted);
        Assert.Equal(1, gate.Held);
        Assert.Equal(ActivationState.Holding, gate.State);
        Assert.Equal(1, _time.ActiveTimers);
    }

    [Fact]
    public async Task SetEndpointCount_ManyWaiters_ReleasesInFifoOrder()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 0);
        var waiters = AcquireMany(gate, 50);
        Assert.Equal(50, gate.Held);

        gate.SetEndpointCount(1);

        for (var i = 0; i < waiters.Count; i++)
        {
            Assert.Equal(waiters.Count - i - 1, gate.Held);
            using var lease = await waiters[i].WaitAsync(Guard);
            Assert.Equal(ActivationOutcome.Admitted, lease.Outcome);
            Assert.Equal(1, gate.InFlight);
            for (var later = i + 1; later < waiters.Count; later++)
            {
                Assert.False(waiters[later].IsCompleted, $"waiter {later} admitted before waiter {i + 1}");
            }
        }

        Assert.Equal(ActivationState.Idle, gate.State);
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task AcquireAsync_ConcurrencyLimit_AdmitsAtMostCapacityAndTheRestAsLeasesEnd()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 2 }, endpoints: 2);
        var first = new List<ActivationLease>();
        for (var i = 0; i < 4; i++)
        {
            var pending = gate.AcquireAsync(CancellationToken.None);
            Assert.True(pending.IsCompletedSuccessfully);
            first.Add(pending.Result);
        }

        var waiters = AcquireMany(gate, 6);

        Assert.Equal(4, gate.InFlight);
        Assert.Equal(6, gate.Held);
        Assert.Equal(ActivationState.Releasing, gate.State);

        first[0].Dispose();
        first[1].Dispose();
        var second = new List<ActivationLease> { await waiters[0].WaitAsync(Guard), await waiters[1].WaitAsync(Guard) };
        Assert.Equal(4, gate.InFlight);
        Assert.Equal(4, gate.Held);
        Assert.All(waiters.Skip(2), w => Assert.False(w.IsCompleted));

        // More endpoints, more slots.
        gate.SetEndpointCount(3);
        second.Add(await waiters[2].WaitAsync(Guard));
        second.Add(await waiters[3].WaitAsync(Guard));
        Assert.Equal(6, gate.InFlight);
        Assert.Equal(2, gate.Held);

        first[2].Dispose();
        first[3].Dispose();
        second.Add(await waiters[4].WaitAsync(Guard));
        second.Add(await waiters[5].WaitAsync(Guard));
        Assert.Equal(6, gate.InFlight);
        Assert.Equal(0, gate.Held);
        Assert.Equal(ActivationState.Idle, gate.State);
        Assert.All(second, l => Assert.Equal(ActivationOutcome.Admitted, l.Outcome));

        second.ForEach(l => l.Dispose());
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(6, Stats().Released.Value);
    }

    [Fact]
    public async Task AcquireAsync_QueueFull_OverflowsAtOnce()
    {
        using var gate = Make(new ActivationPolicy { QueueDepth = 2 }, endpoints: 0);
        var held = AcquireMany(gate, 2);

        var overflow = gate.AcquireAsync(CancellationToken.None);

        Assert.True(overflow.IsCompletedSuccessfully);
        Assert.Equal(ActivationOutcome.Overflow, overflow.Result.Outcome);
        Assert.Equal(2, gate.Held);
        Assert.Equal(1, Stats().Overflow.Value);

        gate.SetEndpointCount(1);
        Assert.Equal(ActivationOutcome.Admitted, (await held[0].WaitAsync(Guard)).Outcome);
        Assert.Equal(ActivationOutcome.Admitted, (await held[1].WaitAsync(Guard)).Outcome);
    }

    [Fact]
    public async Task HoldTimeout_Saturated_TimesOutWaiterWithoutFailfast()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 1);
        using var busy = gate.AcquireAsync(CancellationToken.None).Result;
        var waiter = AcquireMany(gate, 1)[0];

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(ActivationOutcome.Timeout, (await waiter.WaitAsync(Guard)).Outcome);
        Assert.Equal(0, gate.Held);
        Assert.Equal(ActivationState.Idle, gate.State);
        Assert.Equal(1, Stats().Timeout.Value);
        Assert.Equal(0, _time.ActiveTimers);

        // Not cold, so not failing fast: the next request is held again.
        var next = gate.AcquireAsync(CancellationToken.None);
        Assert.False(next.IsCompleted);
        Assert.Equal(ActivationState.Releasing, gate.State);
        Assert.Equal(0, _signal.Count);
    }

    [Fact]
    public async Task HoldTimeout_WaitersHeldAtDifferentTimes_EachTimesOutOnItsOwnClock()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 1);
        using var busy = gate.AcquireAsync(CancellationToken.None).Result;
        var early = AcquireMany(gate, 1)[0];
        _time.Advance(TimeSpan.FromSeconds(10));
        var late = AcquireMany(gate, 1)[0];

        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal(ActivationOutcome.Timeout, (await early.WaitAsync(Guard)).Outcome);
        Assert.False(late.IsCompleted);
        Assert.Equal(1, gate.Held);

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(late.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ActivationOutcome.Timeout, (await late.WaitAsync(Guard)).Outcome);
        Assert.Equal(2, Stats().Timeout.Value);
        Assert.Equal(2, Stats().HoldTime.Count);
        Assert.Equal(60_000, Stats().HoldTime.SumMilliseconds);
    }

    [Fact]
    public async Task HoldTimeout_NoEndpoints_EntersFailfastAndFailsEveryWaiter()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);
        var early = AcquireMany(gate, 2);
        _time.Advance(TimeSpan.FromSeconds(10));
        var late = AcquireMany(gate, 1)[0];

        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal(ActivationState.Failfast, gate.State);
        Assert.Equal(0, gate.Held);
        Assert.Equal(ActivationOutcome.Timeout, (await early[0].WaitAsync(Guard)).Outcome);
        Assert.Equal(ActivationOutcome.Timeout, (await early[1].WaitAsync(Guard)).Outcome);
        Assert.Equal(ActivationOutcome.Timeout, (await late.WaitAsync(Guard)).Outcome);
        Assert.Equal(3, Stats().Timeout.Value);
        Assert.Equal(0, Stats().Held.Value);
        Assert.Equal(0, _time.ActiveTimers);

        var refused = gate.AcquireAsync(CancellationToken.None);
        Assert.True(refused.IsCompletedSuccessfully);
        Assert.Equal(ActivationOutcome.Failfast, refused.Result.Outcome);
        Assert.Equal(1, Stats().Failfast.Value);
    }

    [Fact]
    public async Task SetEndpointCount_InFailfast_LeavesFailfastAndAdmits()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);
        var waiter = AcquireMany(gate, 1)[0];
        _time.Advance(TimeSpan.FromSeconds(30));
        await waiter.WaitAsync(Guard);
        Assert.Equal(ActivationState.Failfast, gate.State);

        gate.SetEndpointCount(0);
        Assert.Equal(ActivationState.Failfast, gate.State);

        gate.SetEndpointCount(1);

        Assert.Equal(ActivationState.Idle, gate.State);
        var admitted = gate.AcquireAsync(CancellationToken.None);
        Assert.True(admitted.IsCompletedSuccessfully);
        Assert.Equal(ActivationOutcome.Admitted, admitted.Result.Outcome);
        admitted.Result.Dispose();

        // Cold again: requests are held again (not refused), and demand is signalled again.
        gate.SetEndpointCount(0);
        var held = gate.AcquireAsync(CancellationToken.None);
        Assert.False(held.IsCompleted);
        Assert.Equal(ActivationState.Holding, gate.State);
        Assert.Equal(2, _signal.Count);
    }

    [Fact]
    public async Task AcquireAsync_HoldFromZero_SignalsDemandOncePerTransition()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);

        var waiters = AcquireMany(gate, 5);

        var notice = Assert.Single(_signal.Notices);
        Assert.Equal(Cluster, notice.Cluster);
        Assert.Equal(1, notice.Held);
        Assert.Equal(TimeSpan.Zero, notice.OldestWait);
        Assert.Equal(_time.GetUtcNow(), notice.At);
        Assert.Equal(1, Stats().Demand.Value);

        // Held for a while, then everyone leaves: the next hold is a new transition from zero.
        _time.Advance(TimeSpan.FromSeconds(3));
        gate.SetEndpointCount(1);
        Assert.Equal(0, gate.Held);
        foreach (var waiter in waiters)
        {
            (await waiter.WaitAsync(Guard)).Dispose();
        }

        gate.SetEndpointCount(0);
        Assert.Single(_signal.Notices);
        AcquireMany(gate, 3);

        Assert.Equal(2, _signal.Count);
        Assert.Equal(1, _signal.Notices[1].Held);
    }

    [Fact]
    public void AcquireAsync_HeldBehindSaturatedEndpoints_DoesNotSignal()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 1);
        using var busy = gate.AcquireAsync(CancellationToken.None).Result;

        AcquireMany(gate, 3);

        Assert.Equal(ActivationState.Releasing, gate.State);
        Assert.Equal(0, _signal.Count);
    }

    [Fact]
    public void SetEndpointCount_ZeroWhileRequestsHeld_SignalsDemandWithHeldCountAndOldestWait()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 1);
        using var busy = gate.AcquireAsync(CancellationToken.None).Result;
        AcquireMany(gate, 2);
        _time.Advance(TimeSpan.FromSeconds(4));
        AcquireMany(gate, 1);
        _time.Advance(TimeSpan.FromSeconds(1));

        gate.SetEndpointCount(0);

        Assert.Equal(ActivationState.Holding, gate.State);
        var notice = Assert.Single(_signal.Notices);
        Assert.Equal(3, notice.Held);
        Assert.Equal(TimeSpan.FromSeconds(5), notice.OldestWait);
    }

    [Fact]
    public async Task AcquireAsync_Failfast_ResignalsDemandAtMostOncePerHoldTimeout()
    {
        using var gate = Make(new ActivationPolicy { HoldTimeout = TimeSpan.FromSeconds(10) }, endpoints: 0);
        var waiter = AcquireMany(gate, 1)[0];
        _time.Advance(TimeSpan.FromSeconds(10));
        await waiter.WaitAsync(Guard);
        Assert.Equal(1, _signal.Count);

        // Entering Failfast does not signal; the first refusal a hold timeout after the last notice does.
        Assert.Equal(ActivationOutcome.Failfast, gate.AcquireAsync(CancellationToken.None).Result.Outcome);
        Assert.Equal(2, _signal.Count);
        Assert.Equal(1, _signal.Notices[1].Held);
        Assert.Equal(TimeSpan.FromSeconds(10), _signal.Notices[1].OldestWait);

        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(2));
            Assert.Equal(ActivationOutcome.Failfast, gate.AcquireAsync(CancellationToken.None).Result.Outcome);
        }

        Assert.Equal(2, _signal.Count);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ActivationOutcome.Failfast, gate.AcquireAsync(CancellationToken.None).Result.Outcome);
        Assert.Equal(2, _signal.Count);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ActivationOutcome.Failfast, gate.AcquireAsync(CancellationToken.None).Result.Outcome);

        Assert.Equal(3, _signal.Count);
        Assert.Equal(6, _signal.Notices[2].Held);
        Assert.Equal(TimeSpan.FromSeconds(20), _signal.Notices[2].OldestWait);
        Assert.Equal(7, Stats().Failfast.Value);
        Assert.Equal(3, Stats().Demand.Value);
    }

    [Fact]
    public async Task Cancel_HeldRequest_LeavesQueueAndOthersStayInOrder()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 0);
        using var cancel = new CancellationTokenSource();
        var first = gate.AcquireAsync(CancellationToken.None).AsTask();
        var middle = gate.AcquireAsync(cancel.Token).AsTask();
        var last = gate.AcquireAsync(CancellationToken.None).AsTask();
        Assert.Equal(3, gate.Held);

        await cancel.CancelAsync();

        Assert.Equal(2, gate.Held);
        Assert.Equal(2, Stats().Held.Value);
        Assert.Equal(ActivationOutcome.Cancelled, (await middle.WaitAsync(Guard)).Outcome);
        Assert.Equal(2, _time.ActiveTimers);

        gate.SetEndpointCount(1);
        var firstLease = await first.WaitAsync(Guard);
        Assert.Equal(ActivationOutcome.Admitted, firstLease.Outcome);
        Assert.False(last.IsCompleted);
        firstLease.Dispose();
        using var lastLease = await last.WaitAsync(Guard);
        Assert.Equal(ActivationOutcome.Admitted, lastLease.Outcome);
        Assert.Equal(1, gate.InFlight);
        Assert.Equal(0, Stats().Timeout.Value);
        Assert.Equal(2, Stats().Released.Value);
    }

    [Fact]
    public async Task Cancel_OnlyHeldRequest_ReturnsToIdleAndNextHoldSignalsAgain()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);
        using var cancel = new CancellationTokenSource();
        var waiter = gate.AcquireAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();

        Assert.Equal(ActivationOutcome.Cancelled, (await waiter.WaitAsync(Guard)).Outcome);
        Assert.Equal(ActivationState.Idle, gate.State);
        Assert.Equal(0, _time.ActiveTimers);
        AcquireMany(gate, 1);
        Assert.Equal(2, _signal.Count);
    }

    [Fact]
    public void AcquireAsync_AlreadyCancelled_ReturnsCancelledAtOnce()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);

        var pending = gate.AcquireAsync(new CancellationToken(canceled: true));

        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Equal(ActivationOutcome.Cancelled, pending.Result.Outcome);
        Assert.Equal(0, gate.Held);
        Assert.Equal(0, _signal.Count);
    }

    [Fact]
    public async Task Stats_HoldThenRelease_RecordsEveryValue()
    {
        using var gate = Make(new ActivationPolicy { QueueDepth = 3 }, endpoints: 0);
        var waiters = AcquireMany(gate, 3);
        Assert.Equal(3, _store.Gauge(StatKey.Cluster(Cluster, "activation.held")).Value);
        Assert.Equal(ActivationOutcome.Overflow, gate.AcquireAsync(CancellationToken.None).Result.Outcome);

        _time.Advance(TimeSpan.FromMilliseconds(1500));
        gate.SetEndpointCount(1);
        foreach (var waiter in waiters)
        {
            (await waiter.WaitAsync(Guard)).Dispose();
        }

        Assert.Equal(0, _store.Gauge(StatKey.Cluster(Cluster, "activation.held")).Value);
        Assert.Equal(3, _store.Counter(StatKey.Cluster(Cluster, "activation.released")).Value);
        Assert.Equal(1, _store.Counter(StatKey.Cluster(Cluster, "activation.overflow")).Value);
        Assert.Equal(0, _store.Counter(StatKey.Cluster(Cluster, "activation.timeout")).Value);
        Assert.Equal(0, _store.Counter(StatKey.Cluster(Cluster, "activation.failfast")).Value);
        Assert.Equal(1, _store.Counter(StatKey.Cluster(Cluster, "activation.demand")).Value);
        var holdTime = _store.Histogram(StatKey.Cluster(Cluster, "activation.hold_time"));
        Assert.Equal(3, holdTime.Count);
        Assert.Equal(4500, holdTime.SumMilliseconds);
        Assert.Equal("cluster.greeter.activation.hold_time", holdTime.Key.FlatName);
    }

    [Fact]
    public async Task SetEndpointCount_ZeroWhileInFlight_InFlightFinishAndNewOnesWait()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 1);
        var inFlight = gate.AcquireAsync(CancellationToken.None).Result;

        gate.SetEndpointCount(0);
        var waiter = gate.AcquireAsync(CancellationToken.None).AsTask();
        Assert.Equal(ActivationState.Holding, gate.State);
        inFlight.Dispose();

        Assert.Equal(0, gate.InFlight);
        Assert.Equal(1, gate.Held);
        Assert.False(waiter.IsCompleted);

        gate.SetEndpointCount(1);
        using var lease = await waiter.WaitAsync(Guard);
        Assert.Equal(ActivationOutcome.Admitted, lease.Outcome);
    }

    [Fact]
    public async Task SetEndpointCount_UnlimitedConcurrency_ReleasesEveryWaiter()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);
        var waiters = AcquireMany(gate, 100);

        gate.SetEndpointCount(1);

        Assert.Equal(0, gate.Held);
        Assert.Equal(100, gate.InFlight);
        foreach (var waiter in waiters)
        {
            (await waiter.WaitAsync(Guard)).Dispose();
        }

        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public void Lease_DisposedTwice_DoesNotCorruptCounts()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 1);
        var lease = gate.AcquireAsync(CancellationToken.None).Result;

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Held);
        var next = gate.AcquireAsync(CancellationToken.None);
        Assert.Equal(ActivationOutcome.Admitted, next.Result.Outcome);
        Assert.False(gate.AcquireAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public void Lease_NotAdmitted_DisposeFreesNothing()
    {
        using var gate = Make(new ActivationPolicy { QueueDepth = 1, EndpointConcurrency = 1 }, endpoints: 1);
        using var busy = gate.AcquireAsync(CancellationToken.None).Result;
        AcquireMany(gate, 1);
        var overflow = gate.AcquireAsync(CancellationToken.None).Result;

        overflow.Dispose();

        Assert.Equal(1, gate.InFlight);
        Assert.Equal(1, gate.Held);
    }

    [Fact]
    public async Task Dispose_WithWaiters_FailsThemFailfastAndDisposesTimers()
    {
        var gate = Make(new ActivationPolicy(), endpoints: 0);
        var waiters = AcquireMany(gate, 3);

        gate.Dispose();

        foreach (var waiter in waiters)
        {
            Assert.Equal(ActivationOutcome.Failfast, (await waiter.WaitAsync(Guard)).Outcome);
        }

        Assert.Equal(0, _time.ActiveTimers);
        Assert.Equal(0, gate.Held);
        Assert.Equal(ActivationState.Failfast, gate.State);
        var after = gate.AcquireAsync(CancellationToken.None);
        Assert.Equal(ActivationOutcome.Failfast, after.Result.Outcome);
        Assert.Contains("removed", gate.Explain(ActivationOutcome.Failfast), StringComparison.Ordinal);
        gate.SetEndpointCount(1);
        Assert.Equal(ActivationOutcome.Failfast, gate.AcquireAsync(CancellationToken.None).Result.Outcome);
        Assert.Equal(5, Stats().Failfast.Value);
    }

    [Fact]
    public void Constructor_InvalidPolicy_Throws()
    {
        var stats = Stats();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationGate(Cluster, new ActivationPolicy { QueueDepth = 0 }, stats, _signal, _time));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationGate(Cluster, new ActivationPolicy { EndpointConcurrency = -1 }, stats, _signal, _time));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationGate(Cluster, new ActivationPolicy { HoldTimeout = TimeSpan.Zero }, stats, _signal, _time));
        Assert.Throws<ArgumentException>(() => new ActivationGate(string.Empty, new ActivationPolicy(), stats, _signal, _time));
    }

    [Fact]
    public void SetEndpointCount_Negative_Throws()
    {
        using var gate = Make(new ActivationPolicy(), endpoints: 0);

        Assert.Throws<ArgumentOutOfRangeException>(() => gate.SetEndpointCount(-1));
    }

    [Fact]
    public void Reason_EveryRefusal_SaysWhy()
    {
        Assert.Contains("queue full", ActivationGate.Reason(ActivationOutcome.Overflow), StringComparison.Ordinal);
        Assert.Contains("hold timeout", ActivationGate.Reason(ActivationOutcome.Timeout), StringComparison.Ordinal);
        Assert.Contains("failing fast", ActivationGate.Reason(ActivationOutcome.Failfast), StringComparison.Ordinal);
        Assert.Contains("cancelled", ActivationGate.Reason(ActivationOutcome.Cancelled), StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_Overflow_NamesClusterAndDepth()
    {
        using var gate = Make(new ActivationPolicy { HoldTimeout = TimeSpan.FromSeconds(45) }, endpoints: 0);

        Assert.Equal("activation queue full: 10000 requests held for cluster greeter", gate.Explain(ActivationOutcome.Overflow));
        Assert.Contains("greeter", gate.Explain(ActivationOutcome.Timeout), StringComparison.Ordinal);
        Assert.Contains("45 s", gate.Explain(ActivationOutcome.Timeout), StringComparison.Ordinal);
        Assert.Contains("failing fast", gate.Explain(ActivationOutcome.Failfast), StringComparison.Ordinal);
        Assert.Same(gate.Explain(ActivationOutcome.Overflow), gate.Explain(ActivationOutcome.Overflow));
    }

    [Fact]
    public async Task AcquireAsync_ManyThreadsCapacityFour_NeverMoreThanFourInFlightAndNoneLost()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 1 }, endpoints: 4);
        var current = 0;
        var peak = 0;
        var admitted = 0;

        async Task Worker()
        {
            for (var i = 0; i < 10; i++)
            {
                using var lease = await gate.AcquireAsync(CancellationToken.None);
                Assert.Equal(ActivationOutcome.Admitted, lease.Outcome);
                var now = Interlocked.Increment(ref current);
                InterlockedMax(ref peak, now);
                Interlocked.Increment(ref admitted);
                await Task.Yield();
                Interlocked.Decrement(ref current);
            }
        }

        var workers = new Task[100];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(Worker);
        }

        await Task.WhenAll(workers).WaitAsync(Guard);

        Assert.Equal(1000, admitted);
        Assert.InRange(peak, 1, 4);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Held);
        Assert.Equal(0, Stats().Held.Value);
        Assert.Equal(ActivationState.Idle, gate.State);
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public async Task AcquireAsync_ManyThreadsWithEndpointChurn_NeverAboveCapacityAndNoneLost()
    {
        using var gate = Make(new ActivationPolicy { EndpointConcurrency = 2 }, endpoints: 2);
        var current = 0;
        var peak = 0;
        var admitted = 0;
        using var stop = new CancellationTokenSource();

        async Task Worker()
        {
            for (var i = 0; i < 10; i++)
            {
                using var lease = await gate.AcquireAsync(CancellationToken.None);
                Assert.Equal(ActivationOutcome.Admitted, lease.Outcome);
                InterlockedMax(ref peak, Interlocked.Increment(ref current));
                Interlocked.Increment(ref admitted);
                await Task.Yield();
                Interlocked.Decrement(ref current);
            }
        }

        var churn = Task.Run(() =>
        {
            var counts = new[] { 0, 1, 2, 0, 2, 1 };
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                gate.SetEndpointCount(counts[i % counts.Length]);
                Thread.Yield();
            }

            gate.SetEndpointCount(2);
        });
        var workers = new Task[100];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(Worker);
        }

        // Churn until every worker is past at least its first request, then settle with endpoints.
        while (Volatile.Read(ref admitted) < 100 && !churn.IsCompleted)
        {
            await Task.Yield();
        }

        await stop.CancelAsync();
        await churn.WaitAsync(Guard);
        await Task.WhenAll(workers).WaitAsync(Guard);

        Assert.Equal(1000, admitted);
        Assert.InRange(peak, 1, 4);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Held);
        Assert.Equal(0, _time.ActiveTimers);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    private static List<Task<ActivationLease>> AcquireMany(ActivationGate gate, int count)
    {
        var tasks = new List<Task<ActivationLease>>(count);
        for (var i = 0; i < count; i++)
        {
            var pending = gate.AcquireAsync(CancellationToken.None);
            Assert.False(pending.IsCompleted);
            tasks.Add(pending.AsTask());
        }

        return tasks;
    }

    private ActivationGate Make(ActivationPolicy policy, int endpoints)
    {
        var gate = new ActivationGate(Cluster, policy, Stats(), _signal, _time);
        gate.SetEndpointCount(endpoints);
        return gate;
    }

    private ActivationStats Stats() => new(_store, Cluster);
}
