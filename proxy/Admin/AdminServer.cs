using System.Net;
using Herald.Xds.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.Proxy.Admin;

/// <summary>
/// The admin endpoint: a bare Kestrel server, HTTP/1.1 only, without a host, DI or logging,
/// so it costs little at startup. It binds where the caller asks; Envoy's edge practice
/// is 127.0.0.1.
/// </summary>
internal sealed class AdminServer : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly KestrelServer _server;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private AdminServer(KestrelServer server, CancellationTokenSource stopping, IPEndPoint boundAddress)
    {
        _server = server;
        _stopping = stopping;
        BoundAddress = boundAddress;
    }

    /// <summary>The address actually bound: the real port when port 0 was asked.</summary>
    public IPEndPoint BoundAddress { get; }

    public static async Task<AdminServer> StartAsync(IPEndPoint address, AdminContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(context);

        var options = BareKestrel.CreateOptions();
        options.Limits.MaxConcurrentConnections = 64;
        options.Limits.MaxRequestBodySize = 64 * 1024;
        options.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        ListenOptions? listen = null;
        options.Listen(address, l =>
        {
            l.Protocols = HttpProtocols.Http1;
            listen = l;
        });

        var server = BareKestrel.Create(options);
        var stopping = new CancellationTokenSource();
        try
        {
            await server.StartAsync(new Application(new AdminRequestHandler(context, stopping.Token)), cancellationToken);
        }
        catch
        {
            server.Dispose();
            stopping.Dispose();
            throw;
        }

        // Kestrel writes the bound endpoint back into the listen options.
        var bound = listen?.IPEndPoint ?? address;
        return new AdminServer(server, stopping, bound);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            await _server.StopAsync(timeout.Token);
        }

        _server.Dispose();
        _stopping.Dispose();
    }

    private sealed class Application(AdminRequestHandler handler) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => handler.HandleAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }
}
