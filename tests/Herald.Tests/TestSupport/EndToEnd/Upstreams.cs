namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Several <see cref="RecordingUpstream"/>s named u0, u1, ... disposed together.</summary>
public sealed class Upstreams : IAsyncDisposable
{
    private readonly RecordingUpstream[] _all;

    private Upstreams(RecordingUpstream[] all) => _all = all;

    public IReadOnlyList<RecordingUpstream> All => _all;

    public IEnumerable<int> Ports => _all.Select(u => u.Port);

    public IEnumerable<string> Names => _all.Select(u => u.Name);

    public static async Task<Upstreams> StartAsync(int count)
    {
        var all = new RecordingUpstream[count];
        for (var i = 0; i < count; i++)
        {
            all[i] = await RecordingUpstream.StartAsync($"u{i}");
        }

        return new Upstreams(all);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var upstream in _all)
        {
            await upstream.DisposeAsync();
        }
    }
}
