using System.Net;
using System.Text;
using Herald.Xds.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.Proxy.Cli;

/// <summary>A tiny HTTP/1.1 + h2c server that says who it is, for <c>herald demo</c>.</summary>
internal sealed class DemoUpstream : IHttpApplication<HttpContext>, IAsyncDisposable
{
    private readonly KestrelServer _server;
    private readonly byte[] _greeting;

    private DemoUpstream(string name, KestrelServer server)
    {
        Name = name;
        _server = server;
        _greeting = Encoding.UTF8.GetBytes($"hello from {name}\n");
    }

    public string Name { get; }

    public static async Task<DemoUpstream> StartAsync(string name, IPEndPoint address, CancellationToken cancellationToken)
    {
        var options = BareKestrel.CreateOptions();
        options.Listen(address, listen => listen.Protocols = HttpProtocols.Http1);
        var server = BareKestrel.Create(options);
        var upstream = new DemoUpstream(name, server);
        await server.StartAsync(upstream, cancellationToken).ConfigureAwait(false);
        return upstream;
    }

    public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    public async Task ProcessRequestAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        context.Response.Headers["x-demo-upstream"] = Name;
        context.Response.ContentLength = _greeting.Length;
        await context.Response.Body.WriteAsync(_greeting).ConfigureAwait(false);
    }

    public void DisposeContext(HttpContext context, Exception? exception)
    {
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync(CancellationToken.None).ConfigureAwait(false);
        _server.Dispose();
    }
}
