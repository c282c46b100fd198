using Microsoft.AspNetCore.Http;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A real Kestrel upstream (<see cref="RecordingUpstream"/>) whose answers to paths under
/// <c>/slow</c> wait until the test releases them (other paths answer at once): a test knows
/// when a request is in flight without sleeping.
/// </summary>
public sealed class HeldUpstream : IAsyncDisposable
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _arrived = new(0);

    private HeldUpstream(RecordingUpstream upstream)
    {
        Upstream = upstream;
        upstream.Handler = async context =>
        {
            if (context.Request.Path.StartsWithSegments("/slow", StringComparison.Ordinal))
            {
                _arrived.Release();
                await _release.Task.WaitAsync(context.RequestAborted);
            }

            await context.Response.WriteAsync("held " + context.Request.Protocol);
        };
    }

    public RecordingUpstream Upstream { get; }

    public int Port => Upstream.Port;

    public static async Task<HeldUpstream> StartAsync() => new(await RecordingUpstream.StartAsync("held"));

    /// <summary>Waits until <paramref name="count"/> more requests have arrived and are being held.</summary>
    public async Task WaitForArrivalsAsync(int count, TimeSpan timeout)
    {
        for (var i = 0; i < count; i++)
        {
            if (!await _arrived.WaitAsync(timeout))
            {
                throw new TimeoutException($"only {i} of {count} requests reached the upstream within {timeout}");
            }
        }
    }

    /// <summary>
    /// Opens an HTTP/1.1 connection to a proxy on <paramref name="proxyPort"/>, sends
    /// <c>GET /slow</c> and returns once the request is held here.
    /// </summary>
    public async Task<RawHttp> SendHeldRequestAsync(int proxyPort, TimeSpan timeout)
    {
        var connection = await RawHttp.ConnectAsync(proxyPort);
        try
        {
            await connection.SendAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await WaitForArrivalsAsync(1, timeout);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Lets every held request, and every later one, answer 200 with <c>held PROTOCOL</c>.</summary>
    public void Release() => _release.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await Upstream.DisposeAsync();
        _arrived.Dispose();
    }
}
