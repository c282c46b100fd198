using Herald.Proxy.Http;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Http;

public sealed class StreamTimeoutGuardTests
{
    private readonly ManualTimeProvider _time = new();
    private int _fired;

    [Fact]
    public void Start_NoActivityForTheIdleTimeout_ExpiresIdle()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(0, _fired);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(1, _fired);
        Assert.Equal(StreamTimeoutKind.Idle, guard.Expired);
    }

    [Fact]
    public void Touch_ActivityBeforeTheIdleTimeout_TimerStartsAgain()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);

        _time.Advance(TimeSpan.FromMilliseconds(800));
        guard.Touch();
        _time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.Equal(0, _fired);
        Assert.Equal(StreamTimeoutKind.None, guard.Expired);

        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, _fired);
        Assert.Equal(StreamTimeoutKind.Idle, guard.Expired);
    }

    [Fact]
    public void Start_DurationShorterThanActivity_ExpiresDurationDespiteTraffic()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2.5));

        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            guard.Touch();
        }

        Assert.Equal(1, _fired);
        Assert.Equal(StreamTimeoutKind.Duration, guard.Expired);
    }

    [Fact]
    public void Stop_BeforeExpiry_NeverFires()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        guard.Stop();
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(0, _fired);
        Assert.Equal(StreamTimeoutKind.None, guard.Expired);
    }

    [Fact]
    public void Start_NeitherBound_NotArmedAndNeverFires()
    {
        var guard = NewGuard();

        Assert.False(guard.Start(TimeSpan.Zero, TimeSpan.Zero));
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(0, _fired);
    }

    [Fact]
    public void Start_ReusedAfterExpiry_ResetsExpired()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);
        _time.Advance(TimeSpan.FromSeconds(1));

        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);

        Assert.Equal(StreamTimeoutKind.None, guard.Expired);
    }

    [Fact]
    public void Sweep_ManyStreamsOnOneClock_EachExpiresAtItsOwnTime()
    {
        var sweeper = StreamTimeoutSweeper.For(_time);
        var fired = new List<int>();
        var guards = new StreamTimeoutGuard[10];
        for (var i = 0; i < guards.Length; i++)
        {
            guards[i] = sweeper.Rent(state => fired.Add((int)state!), i);
        }

        // Started in reverse order of their bounds: every start must pull the next sweep earlier.
        for (var i = guards.Length - 1; i >= 0; i--)
        {
            guards[i].Start(TimeSpan.FromSeconds(i + 1), TimeSpan.Zero);
        }

        for (var second = 1; second <= guards.Length; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(Enumerable.Range(0, second), fired);
        }
    }

    [Fact]
    public void Start_LaterStreamsFallDueLater_NoTimerChangeNeeded()
    {
        var sweeper = StreamTimeoutSweeper.For(_time);
        var first = NewGuard();
        first.Start(TimeSpan.FromMinutes(5), TimeSpan.Zero);
        _time.Advance(TimeSpan.FromSeconds(1));
        var second = NewGuard();
        second.Start(TimeSpan.FromMinutes(5), TimeSpan.Zero);

        // The first wake-up (at 5 min) finds only the first due; the second follows a second later.
        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(StreamTimeoutKind.Idle, first.Expired);
        Assert.Equal(StreamTimeoutKind.None, second.Expired);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(StreamTimeoutKind.Idle, second.Expired);
        Assert.Equal(2, _fired);
        Assert.True(sweeper.GuardCount >= 2);
    }

    [Fact]
    public void Return_GuardRentedAgain_NoNewGuardAndOldStreamNeverFires()
    {
        var sweeper = StreamTimeoutSweeper.For(_time);
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);
        sweeper.Return(guard);
        var count = sweeper.GuardCount;

        var again = sweeper.Rent(_ => _fired += 100, null);
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Same(guard, again);
        Assert.Equal(count, sweeper.GuardCount);
        Assert.Equal(0, _fired);
    }

    [Fact]
    public void Return_SaysWhetherABoundHadFired()
    {
        var sweeper = StreamTimeoutSweeper.For(_time);
        var quiet = NewGuard();
        quiet.Start(TimeSpan.Zero, TimeSpan.FromSeconds(1));
        var fired = NewGuard();
        fired.Start(TimeSpan.Zero, TimeSpan.FromMilliseconds(500));

        _time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal(1, _fired);
        Assert.True(sweeper.Return(fired));
        Assert.False(sweeper.Return(quiet));
    }

    [Fact]
    public void Start_RestartedBeforeTheSweep_ExpiresOnlyByTheNewBounds()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);
        _time.Advance(TimeSpan.FromMilliseconds(900));
        guard.Stop();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);

        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _fired);
        _time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Stop_AfterExpiry_ReportsThatTheBoundFired()
    {
        var guard = NewGuard();
        guard.Start(TimeSpan.Zero, TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(guard.Stop());
        Assert.Equal(StreamTimeoutKind.Duration, guard.Expired);
    }

    private StreamTimeoutGuard NewGuard() => StreamTimeoutSweeper.For(_time).Rent(_ => _fired++, null);
}
