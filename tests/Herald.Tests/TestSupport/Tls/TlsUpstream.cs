using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.TestSupport.Tls;

/// <summary>
/// A real Kestrel HTTPS server on 127.0.0.1 (HTTP/1.1 and h2 by ALPN) presenting one certificate.
/// Answers every request 200 with body <c>NAME PROTOCOL SCHEME</c>, so a test sees which server
/// answered, over which HTTP version, and that TLS was in use.
/// </summary>
public sealed class TlsUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _listen;

    private TlsUpstream(string name, WebApplication app, ListenOptions listen)
    {
        Name = name;
        _app = app;
        _listen = listen;
    }

    public string Name { get; }

    public int Port => _listen.IPEndPoint!.Port;

    public static async Task<TlsUpstream> StartAsync(string name, X509Certificate2 certificate)
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http1AndHttp2;
                o.UseHttps(certificate);
                listen = o;
            });
        });
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync($"{name} {context.Request.Protocol} {context.Request.Scheme}"));
        var upstream = new TlsUpstream(name, app, listen!);
        await app.StartAsync();
        return upstream;
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
}
