using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.EndToEnd.Activation;

/// <summary>
/// The autoscaler a test points an activation webhook at: an in-process Kestrel endpoint on
/// 127.0.0.1:0 (HTTP/1.1) that answers every POST with 202, records its body, and on the first
/// one runs the scale-up action once, in the background (the webhook's answer never waits for it).
/// </summary>
internal sealed class TestAutoscaler : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _bodies = new();
    private readonly TaskCompletionSource<string> _firstDemand = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _scaledUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<Task> _scaleUp;
    private readonly WebApplication _app;
    private readonly ListenOptions _listen;
    private int _started;

    private TestAutoscaler(Func<Task> scaleUp, WebApplication app, ListenOptions listen)
    {
        _scaleUp = scaleUp;
        _app = app;
        _listen = listen;
    }

    /// <summary>The URL to put in the mesh file's <c>activation.webhook</c>.</summary>
    public string WebhookUrl => $"http://127.0.0.1:{_listen.IPEndPoint!.Port}/scale";

    /// <summary>Bodies of the POSTs received so far, in arrival order.</summary>
    public IReadOnlyList<string> Bodies => [.. _bodies];

    /// <summary>Completes with the first POST's body.</summary>
    public Task<string> FirstDemand => _firstDemand.Task;

    /// <summary>Completes when the scale-up action has finished (faults if it threw).</summary>
    public Task ScaledUp => _scaledUp.Task;

    public static async Task<TestAutoscaler> StartAsync(Func<Task> scaleUp)
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http1;
                listen = o;
            });
        });
        var app = builder.Build();
        TestAutoscaler? autoscaler = null;
        app.Run(context => autoscaler!.HandleAsync(context));
        autoscaler = new TestAutoscaler(scaleUp, app, listen!);
        await app.StartAsync();
        return autoscaler;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Connections still open are cut.
        }

        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = 405;
            return;
        }

        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        _bodies.Enqueue(body);
        _firstDemand.TrySetResult(body);
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _ = Task.Run(RunScaleUpAsync);
        }

        context.Response.StatusCode = 202;
    }

    private async Task RunScaleUpAsync()
    {
        try
        {
            await _scaleUp();
            _scaledUp.TrySetResult();
        }
        catch (Exception e)
        {
            _scaledUp.TrySetException(e);
        }
    }
}
