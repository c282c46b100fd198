using System.Net;
using System.Collections.Concurrent;
using Herald.Proxy.Http;
using Herald.Proxy.Http.Http2;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Herald.Proxy.Observability;

namespace Herald.Proxy.Listeners;

/// <summary>
/// The application Kestrel calls for requests it parsed itself (HTTP/2 and h2c). The
/// connection middleware registers the chosen HTTP connection manager under the
/// connection's id for as long as Kestrel serves that connection.
/// </summary>
internal sealed class HeraldHttpApplication : IHttpApplication<HttpContext>
{
    private readonly ConcurrentDictionary<string, Registration> _managers = new(StringComparer.Ordinal);

    public void Register(string connectionId, HttpConnectionManager manager, IPEndPoint? originalDestination = null) =>
        _managers[connectionId] = new Registration(manager, originalDestination);

    public void Unregister(string connectionId) => _managers.TryRemove(connectionId, out _);

    public HttpContext CreateContext(IFeatureCollection contextFeatures)
    {
        // Kestrel pools its HTTP/2 streams and each keeps the context it served last: reused,
        // as ASP.NET Core's own host does, instead of five objects made per request.
        if (contextFeatures is IHostContextContainer<HttpContext> container)
        {
            if (container.HostContext is DefaultHttpContext reused)
            {
                reused.Initialize(contextFeatures);
                return reused;
            }

            var created = new DefaultHttpContext(contextFeatures);
            container.HostContext = created;
            return created;
        }

        return new DefaultHttpContext(contextFeatures);
    }

    public Task ProcessRequestAsync(HttpContext context)
    {
        if (!_managers.TryGetValue(context.Connection.Id, out var registration))
        {
            ProcessLog.Error("HTTP/2 request", new InvalidOperationException($"no connection manager for connection {context.Connection.Id}"));
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        }

        return HttpContextForwarder.ForwardAsync(context, registration.Manager, registration.OriginalDestination);
    }

    public void DisposeContext(HttpContext context, Exception? exception)
    {
        if (context is DefaultHttpContext pooled)
        {
            pooled.Uninitialize();
        }
    }

    private sealed record Registration(HttpConnectionManager Manager, IPEndPoint? OriginalDestination);
}
