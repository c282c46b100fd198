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
        using var guard = NewGuard();
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
        using var guard = NewGuard();
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
        using var guard = NewGuard();
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
        using var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        guard.Stop();
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(0, _fired);
        Assert.Equal(StreamTimeoutKind.None, guard.Expired);
    }

    [Fact]
    public void Start_NeitherBound_NotArmedAndNeverFires()
    {
        using var guard = NewGuard();

        Assert.False(guard.Start(TimeSpan.Zero, TimeSpan.Zero));
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(0, _fired);
    }

    [Fact]
    public void Start_ReusedAfterExpiry_ResetsExpired()
    {
        using var guard = NewGuard();
        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);
        _time.Advance(TimeSpan.FromSeconds(1));

        guard.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);

        Assert.Equal(StreamTimeoutKind.None, guard.Expired);
    }

    private StreamTimeoutGuard NewGuard() => new(_time, _ => _fired++, null);
}
