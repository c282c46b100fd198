using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Upstream.Http2;

/// <summary>
/// A real Kestrel h2c (prior knowledge) server on 127.0.0.1:0 answering with the test's
/// handler; it counts the connections that opened and ended.
/// </summary>
internal sealed class H2cKestrel : IAsyncDisposable
{
    private readonly SemaphoreSlim _closed = new(0);
    private WebApplication? _app;
    private ListenOptions? _listen;
    private int _opened;

    private H2cKestrel()
    {
    }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, _listen!.IPEndPoint!.Port);

    public int ConnectionsOpened => Volatile.Read(ref _opened);

    /// <summary>Kestrel's ids of the connections requests came on.</summary>
    public ConcurrentDictionary<string, int> RequestConnections { get; } = new();

    public static async Task<H2cKestrel> StartAsync(RequestDelegate handler, Action<KestrelServerOptions>? configure = null)
    {
        var server = new H2cKestrel();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = null;
            options.Limits.MinRequestBodyDataRate = null;
            options.Limits.MinResponseDataRate = null;
            configure?.Invoke(options);
            options.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                o.Use(next => async connection =>
                {
                    Interlocked.Increment(ref server._opened);
                    try
                    {
                        await next(connection);
                    }
                    finally
                    {
                        server._closed.Release();
                    }
                });
                server._listen = o;
            });
        });
        var app = builder.Build();
        app.Run(context =>
        {
            server.RequestConnections.AddOrUpdate(context.Connection.Id, 1, (_, n) => n + 1);
            return handler(context);
        });
        server._app = app;
        await app.StartAsync();
        return server;
    }

    /// <summary>True when a connection ended within <paramref name="timeout"/> (each end is counted once).</summary>
    public Task<bool> WaitForConnectionEndAsync(TimeSpan timeout) => _closed.WaitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Connections still open are cut.
            }

            await app.DisposeAsync();
        }

        _closed.Dispose();
    }
}
