using Herald.Proxy.Http;
using Herald.Proxy.Http.Http2;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Proxy.Listeners;

/// <summary>
/// The application Kestrel calls for requests it parsed itself (HTTP/2 and h2c). The
/// connection middleware put the chosen HTTP connection manager in the connection's items.
/// </summary>
internal sealed class HeraldHttpApplication : IHttpApplication<HttpContext>
{
    public static readonly object ManagerKey = new();

    public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    public Task ProcessRequestAsync(HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is null || !items.TryGetValue(ManagerKey, out var value) || value is not HttpConnectionManager manager)
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        }

        return HttpContextForwarder.ForwardAsync(context, manager);
    }

    public void DisposeContext(HttpContext context, Exception? exception)
    {
    }
}
