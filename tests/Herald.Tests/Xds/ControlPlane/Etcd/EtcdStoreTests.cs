using System.Net;
using System.Net.Http.Json;
using Herald.Tests.TestSupport.EndToEnd;
using Herald.Xds.ControlPlane;
using Herald.Xds.ControlPlane.Etcd;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane.Etcd;

/// <summary>The etcd store against a real etcd; replica B reaches etcd through a relay the test can cut.</summary>
public sealed class EtcdStoreTests : IAsyncLifetime
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);
    private EtcdProcess _etcd = null!;
    private TcpRelay _relay = null!;

    public async Task InitializeAsync()
    {
        _etcd = await EtcdProcess.StartAsync();
        _relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, _etcd.ClientPort));
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _etcd.DisposeAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task Watch_BrokenWhileOthersWrite_ReplicaCatchesUpWithEveryChange()
    {
        using var a = await StartStoreAsync(_etcd.ClientPort);
        using var b = await StartStoreAsync(_relay.Port);
        var gone = await a.RegisterAsync("web", "10.0.0.1", 80, null, "1.0.0", null, CancellationToken.None);
        await WaitUntilAsync(() => Ids(b).SetEquals([gone]), () => $"B never saw {gone}: {Show(b)}");

        // B's watch breaks; meanwhile A adds one, removes one, and adds-then-removes a third.
        _relay.Cut();
        await WaitUntilAsync(() => !b.IsFollowing, () => "B's watch did not notice the cut");
        var kept = await a.RegisterAsync("web", "10.0.0.2", 80, new Dictionary<string, string> { ["track"] = "canary" }, "1.1.0", null, CancellationToken.None);
        Assert.True(await a.DeregisterAsync(gone, CancellationToken.None));
        var brief = await a.RegisterAsync("api", "10.0.0.3", 81, null, null, null, CancellationToken.None);
        Assert.True(await a.DeregisterAsync(brief, CancellationToken.None));
        Assert.True(Ids(b).SetEquals([gone]), "B cannot have seen anything while cut off");

        _relay.Resume();
        await WaitUntilAsync(() => b.Revision == a.Revision, () => $"B stopped at revision {b.Revision}, A is at {a.Revision}");
        Assert.True(Ids(b).SetEquals([kept]), Show(b));
        var instance = b.View().InstancesOf("web").Single();
        Assert.Equal(("10.0.0.2", 80, "1.1.0", "canary"), (instance.Address, instance.Port, instance.Version, instance.Labels["track"]));
    }

    [Fact(Timeout = 120_000)]
    public async Task Watch_HistoryCompactedWhileBroken_ReplicaListsAgain()
    {
        using var a = await StartStoreAsync(_etcd.ClientPort);
        using var b = await StartStoreAsync(_relay.Port);
        var first = await a.RegisterAsync("web", "10.0.0.1", 80, null, null, null, CancellationToken.None);
        await WaitUntilAsync(() => Ids(b).Contains(first), () => Show(b));

        _relay.Cut();
        await WaitUntilAsync(() => !b.IsFollowing, () => "B's watch did not notice the cut");
        Assert.True(await a.DeregisterAsync(first, CancellationToken.None));
        var second = await a.RegisterAsync("web", "10.0.0.2", 80, null, null, null, CancellationToken.None);
        using (var http = new HttpClient())
        {
            using var compacted = await http.PostAsJsonAsync(new Uri(_etcd.ClientUrl, "v3/kv/compaction"), new { revision = a.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            Assert.True(compacted.IsSuccessStatusCode, await compacted.Content.ReadAsStringAsync());
        }

        _relay.Resume();
        await WaitUntilAsync(() => Ids(b).SetEquals([second]), () => $"B did not converge after the compaction: {Show(b)}");
    }

    [Fact(Timeout = 120_000)]
    public async Task PublishMesh_OneReplica_OtherSeesTheText()
    {
        using var a = await StartStoreAsync(_etcd.ClientPort);
        using var b = await StartStoreAsync(_relay.Port);
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.MeshChanged += text => seen.TrySetResult(text);

        await a.PublishMeshAsync("services: []\n", CancellationToken.None);

        Assert.Equal("services: []\n", await seen.Task.WaitAsync(Converge));
        Assert.Equal("services: []\n", a.MeshText);
    }

    [Fact(Timeout = 120_000)]
    public async Task View_ValueHeraldCannotRead_IsLeftOut()
    {
        using var client = new EtcdClient([_etcd.ClientUrl]);
        await client.PutAsync("/herald/instances/bad-1", "{not json", 0, CancellationToken.None);
        await client.PutAsync("/herald/instances/bad-2", "{\"service\":\"web\",\"address\":\"not-an-ip\",\"port\":80}", 0, CancellationToken.None);

        using var store = await StartStoreAsync(_etcd.ClientPort);
        var good = await store.RegisterAsync("web", "10.0.0.9", 80, null, null, null, CancellationToken.None);

        Assert.True(Ids(store).SetEquals([good]), Show(store));
    }

    [Fact(Timeout = 120_000)]
    public async Task Register_EtcdUnreachable_ThrowsRegistryUnavailableNamingEtcd()
    {
        using var store = await StartStoreAsync(_relay.Port);
        _relay.Cut();

        var e = await Assert.ThrowsAsync<RegistryUnavailableException>(async () => await store.RegisterAsync("web", "10.0.0.1", 80, null, null, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Contains("etcd", e.Message, StringComparison.Ordinal);
    }

    private static async Task<EtcdStore> StartStoreAsync(int port)
    {
        var store = new EtcdStore(new EtcdClient([new Uri($"http://127.0.0.1:{port}/")], TimeSpan.FromSeconds(2)), "/herald/", TimeProvider.System);
        await store.StartAsync(Converge, CancellationToken.None);
        return store;
    }

    private static HashSet<string> Ids(IServiceRegistry registry) => [.. registry.View().Instances.Select(i => i.Id)];

    private static string Show(IServiceRegistry registry) => string.Join(", ", registry.View().Instances.Select(i => $"{i.Id}={i.Address}:{i.Port}"));

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + Converge;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
            await Task.Delay(20);
        }
    }
}
