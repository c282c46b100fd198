using System.Collections.Concurrent;
using System.Text;
using Herald.Proxy.Activation;
using Herald.Proxy.Observability.Stats;
using Herald.Tests.TestSupport;
using Herald.Tests.TestSupport.EndToEnd;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Herald.Tests.Activation;

public sealed class HttpDemandSignalTests : IAsyncLifetime
{
    private const string Cluster = "greeter";

    // A guard against a hung test, not a sleep.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static readonly DateTimeOffset At = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly ManualTimeProvider _time = new();
    private readonly StatsStore _store = new();
    private readonly ConcurrentQueue<(string Path, string ContentType, string Body)> _received = new();
    private RecordingUpstream _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RecordingUpstream.StartAsync("demand");
        _server.Handler = RecordAsync;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Encode_Notice_WritesTheAgreedJson()
    {
        var body = HttpDemandSignal.Encode(new DemandNotice(Cluster, 3, TimeSpan.FromMilliseconds(1500.7), At));

        Assert.Equal("""{"cluster":"greeter","held":3,"oldest_wait_ms":1500,"at":"2025-01-01T00:00:00+00:00"}""", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task Signal_TwoUrls_PostsJsonToWebhookAndControlPlane()
    {
        using var signal = Make(Url("/webhook"), Url("/control-plane"));

        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await signal.WhenIdleAsync().WaitAsync(Guard);

        var received = _received.ToArray().OrderBy(r => r.Path, StringComparer.Ordinal).ToArray();
        Assert.Equal(["/control-plane", "/webhook"], received.Select(r => r.Path));
        Assert.All(received, r => Assert.Equal("application/json", r.ContentType));
        Assert.All(received, r => Assert.Equal("""{"cluster":"greeter","held":1,"oldest_wait_ms":0,"at":"2025-01-01T00:00:00+00:00"}""", r.Body));
        Assert.All(_server.Requests, r => Assert.Equal("POST", r.Method));
        Assert.Equal(2, Stats().DemandSent.Value);
        Assert.Equal(0, Stats().DemandFailed.Value);
    }

    [Fact]
    public async Task Signal_WhileOnePostInFlight_CoalescesIntoOneMorePostOfTheNewest()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        _server.Handler = async context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                arrived.SetResult();
                await proceed.Task;
            }

            await RecordAsync(context);
        };
        using var signal = Make(Url("/webhook"), null);

        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await arrived.Task.WaitAsync(Guard);
        signal.Signal(new DemandNotice(Cluster, 2, TimeSpan.FromSeconds(1), At));
        signal.Signal(new DemandNotice(Cluster, 3, TimeSpan.FromSeconds(2), At));
        Assert.Equal(2, Stats().DemandCoalesced.Value);
        proceed.SetResult();
        await signal.WhenIdleAsync().WaitAsync(Guard);

        Assert.Equal(2, _server.Count);
        Assert.Equal(["\"held\":1", "\"held\":3"], _received.Select(r => r.Body.Split(',')[1]));
        Assert.Equal(2, Stats().DemandSent.Value);
    }

    [Fact]
    public async Task Signal_RefusedUrl_CountsFailureAndStillReachesTheOther()
    {
        using var refusing = FreePort.Refusing();
        var refused = new Uri($"http://127.0.0.1:{refusing.Port}/webhook");
        using var signal = Make(refused, Url("/control-plane"));

        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await signal.WhenIdleAsync().WaitAsync(Guard);

        Assert.Equal(1, Stats().DemandFailed.Value);
        Assert.Equal(1, Stats().DemandSent.Value);
        Assert.Equal("/control-plane", Assert.Single(_received).Path);

        // The failed URL is tried again on the next notice.
        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await signal.WhenIdleAsync().WaitAsync(Guard);
        Assert.Equal(2, Stats().DemandFailed.Value);
        Assert.Equal(2, Stats().DemandSent.Value);
    }

    [Fact]
    public async Task Signal_ServerErrorStatus_CountsFailure()
    {
        _server.Handler = context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        };
        using var signal = Make(Url("/webhook"), null);

        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await signal.WhenIdleAsync().WaitAsync(Guard);

        Assert.Equal(1, Stats().DemandFailed.Value);
        Assert.Equal(0, Stats().DemandSent.Value);
    }

    [Fact]
    public async Task Signal_NoAnswer_GivesUpAfterFiveSeconds()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Handler = async context =>
        {
            arrived.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The signal gave up: that is the point.
            }
        };
        using var signal = Make(Url("/webhook"), null);

        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await arrived.Task.WaitAsync(Guard);
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(signal.WhenIdleAsync().IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        await signal.WhenIdleAsync().WaitAsync(Guard);

        Assert.Equal(1, Stats().DemandFailed.Value);
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public async Task Signal_AfterDispose_SendsNothing()
    {
        var signal = Make(Url("/webhook"), null);
        signal.Dispose();

        signal.Signal(new DemandNotice(Cluster, 1, TimeSpan.Zero, At));
        await signal.WhenIdleAsync().WaitAsync(Guard);

        Assert.Equal(0, _server.Count);
        Assert.Equal(0, Stats().DemandFailed.Value);
    }

    [Fact]
    public void Constructor_SameUrlTwice_PostsOnce()
    {
        using var signal = Make(Url("/demand"), Url("/demand"));

        Assert.Single(signal.Urls);
    }

    private async Task RecordAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        _received.Enqueue((context.Request.Path.Value ?? "/", context.Request.ContentType ?? string.Empty, body));
        context.Response.StatusCode = 204;
    }

    private Uri Url(string path) => new(_server.Url + path);

    private HttpDemandSignal Make(Uri? webhook, Uri? controlPlane) =>
        new(new ActivationPolicy { Webhook = webhook, ControlPlane = controlPlane }, Stats(), _time);

    private ActivationStats Stats() => new(_store, Cluster);
}
