using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class ServiceRegistryTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void Register_Instance_IsListedAndRaisesIndex()
    {
        using var registry = new ServiceRegistry(_time);
        var before = registry.Index;
        var changes = 0;
        registry.Changed += () => changes++;

        var id = registry.Register("greeter", "10.0.0.1", 50051, new Dictionary<string, string> { ["track"] = "stable" }, "1.2.0", TimeSpan.FromSeconds(10));

        Assert.Equal(["greeter"], registry.ListServices());
        var instance = Assert.Single(registry.ListInstances("greeter"));
        Assert.Equal(id, instance.Id);
        Assert.Equal("stable", instance.Labels["track"]);
        Assert.True(registry.Index > before);
        Assert.Equal(1, changes);
    }

    [Fact]
    public void Register_HostName_IsRefused()
    {
        using var registry = new ServiceRegistry(_time);
        Assert.Throws<ArgumentException>(() => registry.Register("greeter", "greeter.local", 80));
    }

    [Fact]
    public void Expiry_NoHeartbeatWithinTtl_InstanceLeaves()
    {
        using var registry = new ServiceRegistry(_time);
        registry.Register("greeter", "10.0.0.1", 80, ttl: TimeSpan.FromSeconds(10));

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Single(registry.ListInstances("greeter"));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(registry.ListInstances("greeter"));
    }

    [Fact]
    public void Heartbeat_BeforeTtl_KeepsInstance()
    {
        using var registry = new ServiceRegistry(_time);
        var id = registry.Register("greeter", "10.0.0.1", 80, ttl: TimeSpan.FromSeconds(10));
        var index = registry.Index;

        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(8));
            Assert.True(registry.Heartbeat(id));
        }

        Assert.Single(registry.ListInstances("greeter"));
        Assert.Equal(index, registry.Index);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(registry.ListInstances("greeter"));
        Assert.False(registry.Heartbeat(id));
    }

    [Fact]
    public void Register_NoTtl_NeverExpires()
    {
        using var registry = new ServiceRegistry(_time);
        registry.Register("greeter", "10.0.0.1", 80);
        _time.Advance(TimeSpan.FromDays(30));
        Assert.Single(registry.ListInstances("greeter"));
    }

    [Fact]
    public async Task WaitForChangeAsync_ChangeArrives_ReturnsNewView()
    {
        using var registry = new ServiceRegistry(_time);
        var index = registry.Index;
        var wait = registry.WaitForChangeAsync(index, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.False(wait.IsCompleted);

        registry.Register("greeter", "10.0.0.1", 80);

        var view = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(view.Index > index);
        Assert.Single(view.InstancesOf("greeter"));
    }

    [Fact]
    public async Task WaitForChangeAsync_NothingChanges_ReturnsAfterMaxWaitOnTheClock()
    {
        using var registry = new ServiceRegistry(_time);
        var index = registry.Index;
        var wait = registry.WaitForChangeAsync(index, TimeSpan.FromSeconds(30), CancellationToken.None);
        await WaitUntil(() => _time.ActiveTimers > 0);
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(wait.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        var view = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(index, view.Index);
    }

    [Fact]
    public async Task WaitForChangeAsync_IndexAlreadyPassed_ReturnsAtOnce()
    {
        using var registry = new ServiceRegistry(_time);
        registry.Register("greeter", "10.0.0.1", 80);
        var view = await registry.WaitForChangeAsync(0, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Single(view.Instances);
    }

    [Fact]
    public async Task WaitForChangeAsync_Expiry_WakesWatcher()
    {
        using var registry = new ServiceRegistry(_time);
        registry.Register("greeter", "10.0.0.1", 80, ttl: TimeSpan.FromSeconds(5));
        var wait = registry.WaitForChangeAsync(registry.Index, TimeSpan.FromMinutes(1), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        var view = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(view.Instances);
    }

    [Fact]
    public void Deregister_Known_RemovesAndUnknownIsFalse()
    {
        using var registry = new ServiceRegistry(_time);
        var id = registry.Register("greeter", "10.0.0.1", 80);
        Assert.True(registry.Deregister(id));
        Assert.False(registry.Deregister(id));
        Assert.Empty(registry.ListServices());
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(5);
        }
    }
}
