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

    /// <summary>
    /// Herald's own HTTP/2 client carries cleartext HTTP/2 (h2c) requests unless
    /// HERALD_HTTP2_CLIENT=system asks for SocketsHttpHandler (to compare, or as a way out).
    /// </summary>
    public static readonly bool OwnHttp2Client =
        !string.Equals(Environment.GetEnvironmentVariable("HERALD_HTTP2_CLIENT"), "system", StringComparison.OrdinalIgnoreCase);

    public HttpMessageInvoker Get(Cluster cluster) =>
        _invokers.GetValue(cluster, static c => Create(c.Config));

    /// <summary>
    /// Sends one request to <paramref name="endpoint"/>: HTTP/2 without TLS on the endpoint's
    /// own connection pool, anything else through the cluster's SocketsHttpHandler.
    /// </summary>
    public ValueTask<HttpResponseMessage> SendAsync(Cluster cluster, UpstreamEndpoint endpoint, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (SendsOnOwnHttp2Client(cluster, request.Version))
        {
            return endpoint.Http2Pool.SendAsync(request, cancellationToken);
        }

        return new ValueTask<HttpResponseMessage>(Get(cluster).SendAsync(request, cancellationToken));
    }

    /// <summary>True when <see cref="SendAsync"/> gives a request of <paramref name="version"/> to Herald's own HTTP/2 client, which does not keep it.</summary>
    public static bool SendsOnOwnHttp2Client(Cluster cluster, Version version) =>
        OwnHttp2Client && cluster.Config.Tls is null && version == HttpVersion.Version20;

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
