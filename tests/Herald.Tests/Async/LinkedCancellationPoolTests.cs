using Herald.Proxy.Async;
using Xunit;

namespace Herald.Tests.Async;

public sealed class LinkedCancellationPoolTests
{
    [Fact]
    public void Rent_ParentCancelled_CancelsTheSource()
    {
        var pool = new LinkedCancellationPool(4);
        using var parent = new CancellationTokenSource();
        var linked = pool.Rent(parent.Token);

        parent.Cancel();

        Assert.True(linked.Token.IsCancellationRequested);
    }

    [Fact]
    public void Rent_ParentAlreadyCancelled_SourceCancelledAtOnceAndNotKept()
    {
        var pool = new LinkedCancellationPool(4);
        var linked = pool.Rent(new CancellationToken(canceled: true));

        Assert.True(linked.Token.IsCancellationRequested);
        pool.Return(linked, reusable: true);
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Return_Unused_NextRentReusesItWithAFreshToken()
    {
        var pool = new LinkedCancellationPool(4);
        using var first = new CancellationTokenSource();
        var linked = pool.Rent(first.Token);
        var lateCallbacks = 0;
        linked.Token.Register(() => lateCallbacks++);
        pool.Return(linked, reusable: true);
        Assert.Equal(1, pool.Count);

        using var second = new CancellationTokenSource();
        var again = pool.Rent(second.Token);
        Assert.Same(linked, again);
        Assert.False(again.Token.IsCancellationRequested);

        // The first request's parent no longer reaches it, and its waiter is gone.
        first.Cancel();
        Assert.False(again.Token.IsCancellationRequested);
        second.Cancel();
        Assert.True(again.Token.IsCancellationRequested);
        Assert.Equal(0, lateCallbacks);
    }

    [Fact]
    public void Return_NotReusable_IsDisposedNotKept()
    {
        var pool = new LinkedCancellationPool(4);
        var linked = pool.Rent(CancellationToken.None);

        pool.Return(linked, reusable: false);

        Assert.Equal(0, pool.Count);
        Assert.Throws<ObjectDisposedException>(() => linked.Source.Token.WaitHandle);
    }

    [Fact]
    public void Return_Cancelled_IsDisposedNotKept()
    {
        var pool = new LinkedCancellationPool(4);
        var linked = pool.Rent(CancellationToken.None);
        linked.Source.Cancel();

        pool.Return(linked, reusable: true);

        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Return_PoolFull_KeepsAtMostItsCapacity()
    {
        var pool = new LinkedCancellationPool(2);
        var rented = Enumerable.Range(0, 5).Select(_ => pool.Rent(CancellationToken.None)).ToList();

        foreach (var linked in rented)
        {
            pool.Return(linked, reusable: true);
        }

        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public async Task Return_ParentCancellingOnAnotherThread_WaitsForItThenDropsTheSource()
    {
        var pool = new LinkedCancellationPool(4);
        using var parent = new CancellationTokenSource();
        var linked = pool.Rent(parent.Token);
        using var inCallback = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        linked.Token.Register(() =>
        {
            inCallback.Set();
            release.Wait();
        });

        var cancelling = Task.Run(parent.Cancel);
        inCallback.Wait();
        var returning = Task.Run(() => pool.Return(linked, reusable: true));

        // Return waits for the parent's callback (which is cancelling this source) to finish.
        Assert.False(returning.Wait(TimeSpan.FromMilliseconds(100)));
        release.Set();
        await cancelling;
        await returning;
        Assert.Equal(0, pool.Count);
    }
}
