using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Herald.Proxy.Upstream;

/// <summary>
/// One <see cref="HttpMessageInvoker"/> per cluster for the paths that go through
/// <c>SocketsHttpHandler</c> (HTTP/2 upstreams, and HTTP/1.1 upstreams of HTTP/2
/// downstreams). Requests are addressed to the picked endpoint's IP, so the handler
/// pools per endpoint; no proxy, redirects, cookies or decompression.
/// </summary>
internal sealed class UpstreamHttpClients : IDisposable
{
    private readonly ConditionalWeakTable<Cluster, HttpMessageInvoker> _invokers = new();

    public HttpMessageInvoker Get(Cluster cluster) =>
        _invokers.GetValue(cluster, static c => Create(c.Config));

    public static HttpMessageInvoker Create(ClusterConfig config)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = config.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ActivityHeadersPropagator = null,
            MaxResponseHeadersLength = 96,
            ConnectCallback = async (context, cancellationToken) =>
            {
                // Requests are addressed to the endpoint's IP literal, so nothing is resolved here.
                if (!IPAddress.TryParse(context.DnsEndPoint.Host.Trim('[', ']'), out var ip))
                {
                    throw new SocketException((int)SocketError.HostNotFound);
                }

                var remote = new IPEndPoint(ip, context.DnsEndPoint.Port);
                var socket = await UpstreamSocketFactory.ConnectAsync(remote, config.SourceAddress, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        if (config.Tls is { } tls)
        {
            // The handler picks ALPN (h2 or http/1.1) itself from the request's version.
            handler.SslOptions = tls.CreateOptions(applicationProtocols: []);
        }

        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public void Dispose()
    {
        foreach (var (_, invoker) in _invokers)
        {
            invoker.Dispose();
        }

        _invokers.Clear();
    }
}
