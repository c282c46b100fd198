using System.Net;
using Herald.Xds.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Xds.Grpc;

/// <summary>A standalone gRPC server: Kestrel on one address, cleartext HTTP/2 (h2c) only.</summary>
public sealed class GrpcServer : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly KestrelServer _server;
    private readonly ServiceProvider _services;
    private int _disposed;

    private GrpcServer(KestrelServer server, ServiceProvider services, IPEndPoint boundAddress)
    {
        _server = server;
        _services = services;
        BoundAddress = boundAddress;
    }

    /// <summary>The address actually bound: the real port when port 0 was asked.</summary>
    public IPEndPoint BoundAddress { get; }

    public static async Task<GrpcServer> StartAsync(IPEndPoint address, GrpcServiceRegistry services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(services);

        var provider = new ServiceCollection().AddLogging().BuildServiceProvider();
        var options = new KestrelServerOptions { AddServerHeader = false, ApplicationServices = provider };

        // Streams live long and idle; the registry lifts the per-request body limits too.
        options.Limits.MaxRequestBodySize = null;
        options.Limits.MinRequestBodyDataRate = null;
        ListenOptions? listen = null;
        options.Listen(address, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            listen = l;
        });

        var server = BareKestrel.Create(options);
        try
        {
            await server.StartAsync(new Application(services), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            server.Dispose();
            await provider.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Kestrel writes the bound endpoint back into the listen options.
        return new GrpcServer(server, provider, listen?.IPEndPoint ?? address);
    }

    /// <summary>Stops accepting, gives running calls a few seconds, then aborts them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            await _server.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        _server.Dispose();
        await _services.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Application(GrpcServiceRegistry services) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => services.HandleAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }
}
